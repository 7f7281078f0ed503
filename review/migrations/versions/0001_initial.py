"""Users, sessions, login attempts, assignments, decisions and the hash-chained audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER review_audit_log_no_update BEFORE UPDATE ON review_audit_log "
    "BEGIN SELECT RAISE(ABORT, 'review_audit_log is append-only'); END",
    "CREATE TRIGGER review_audit_log_no_delete BEFORE DELETE ON review_audit_log "
    "BEGIN SELECT RAISE(ABORT, 'review_audit_log is append-only'); END",
)
_POSTGRES_APPEND_ONLY = (
    "CREATE FUNCTION review_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'review_audit_log is append-only'; END $$",
    "CREATE TRIGGER review_audit_log_no_change BEFORE UPDATE OR DELETE ON review_audit_log "
    "FOR EACH ROW EXECUTE FUNCTION review_audit_log_append_only()",
)


def upgrade() -> None:
    op.create_table(
        "review_users",
        sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("districts", sa.JSON, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("auth_provider", sa.String(32), nullable=False),
        sa.Column("external_subject", sa.String(255), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "review_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("review_users.user_id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "review_login_attempts",
        sa.Column("attempt_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=False),
        sa.Column("attempted_at", sa.DateTime, nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
    )
    op.create_index(
        "ix_review_login_attempts_lookup",
        "review_login_attempts",
        ["username", "client_ip", "attempted_at"],
    )
    op.create_table(
        "review_assignments",
        sa.Column("assignment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("list_id", sa.String(64), nullable=False),
        sa.Column("person_key", sa.String(64), nullable=False),
        sa.Column("assignee_user_id", sa.Integer, sa.ForeignKey("review_users.user_id"), nullable=True),
        sa.Column("assigned_by_user_id", sa.Integer, sa.ForeignKey("review_users.user_id"), nullable=False),
        sa.Column("assigned_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_review_assignments_list", "review_assignments", ["list_id", "person_key"])
    op.create_table(
        "review_decisions",
        sa.Column("decision_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("list_id", sa.String(64), nullable=False),
        sa.Column("person_key", sa.String(64), nullable=False),
        sa.Column("district", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("review_users.user_id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("decided_at", sa.DateTime, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("new_problem_found", sa.Boolean, nullable=True),
        sa.Column("referred_to_gp", sa.Boolean, nullable=True),
        sa.Column("not_relevant_reason", sa.String(32), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_review_decisions_list", "review_decisions", ["list_id", "person_key"])
    op.create_table(
        "review_audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("occurred_at", sa.String(32), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(255), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("list_id", sa.String(64), nullable=True),
        sa.Column("person_keys", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": _SQLITE_APPEND_ONLY, "postgresql": _POSTGRES_APPEND_ONLY}.get(dialect, ())
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_table("review_audit_log")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS review_audit_log_append_only()")
    for table in (
        "review_decisions",
        "review_assignments",
        "review_login_attempts",
        "review_sessions",
        "review_users",
    ):
        op.drop_table(table)
