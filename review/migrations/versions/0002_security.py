"""Security hardening (issue 13): account provenance and four-eyes approval, TOTP, session idle time and
re-authentication, keyed login records, security events, and TRUNCATE refused on the audit log.

The login-attempt table is recreated: its old rows held typed usernames in clear text (sometimes a
password typed into the wrong field), so they are dropped rather than migrated.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_POSTGRES_NO_TRUNCATE = (
    "CREATE TRIGGER review_audit_log_no_truncate BEFORE TRUNCATE ON review_audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION review_audit_log_append_only()"
)


def _login_attempts_v1() -> None:
    op.create_table(
        "review_login_attempts",
        sa.Column("attempt_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=False),
        sa.Column("attempted_at", sa.DateTime, nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
    )
    op.create_index(
        "ix_review_login_attempts_lookup", "review_login_attempts", ["username", "client_ip", "attempted_at"]
    )


def upgrade() -> None:
    with op.batch_alter_table("review_users") as batch:
        batch.add_column(sa.Column("created_by", sa.String(80), nullable=True))
        batch.add_column(sa.Column("requested_by", sa.String(80), nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(80), nullable=True))
        batch.add_column(sa.Column("approval_pending", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger, nullable=True))
    with op.batch_alter_table("review_sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("authenticated_at", sa.DateTime, nullable=True))
    op.execute("UPDATE review_sessions SET last_seen_at = created_at, authenticated_at = created_at")

    op.drop_index("ix_review_login_attempts_lookup", table_name="review_login_attempts")
    op.drop_table("review_login_attempts")
    op.create_table(
        "review_login_attempts",
        sa.Column("attempt_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username_digest", sa.String(64), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=False),
        sa.Column("attempted_at", sa.DateTime, nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
    )
    op.create_index(
        "ix_review_login_attempts_user", "review_login_attempts", ["username_digest", "attempted_at"]
    )
    op.create_index("ix_review_login_attempts_client", "review_login_attempts", ["client_ip", "attempted_at"])

    op.create_table(
        "review_security_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("route", sa.String(255), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("session_ref", sa.String(16), nullable=True),
        sa.Column("client_ip", sa.String(64), nullable=False),
    )
    op.create_index("ix_review_security_events_time", "review_security_events", ["occurred_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_NO_TRUNCATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS review_audit_log_no_truncate ON review_audit_log")
    op.drop_index("ix_review_security_events_time", table_name="review_security_events")
    op.drop_table("review_security_events")
    op.drop_index("ix_review_login_attempts_client", table_name="review_login_attempts")
    op.drop_index("ix_review_login_attempts_user", table_name="review_login_attempts")
    op.drop_table("review_login_attempts")
    _login_attempts_v1()
    with op.batch_alter_table("review_sessions") as batch:
        batch.drop_column("authenticated_at")
        batch.drop_column("last_seen_at")
    with op.batch_alter_table("review_users") as batch:
        for column in (
            "totp_last_step",
            "totp_secret",
            "approval_pending",
            "approved_by",
            "requested_by",
            "created_by",
        ):
            batch.drop_column(column)
