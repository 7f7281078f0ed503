"""The review app's own tables in the operational database (managed by the Alembic migrations in
``review/migrations``; this module mirrors the latest migration for queries).

All timestamps are stored as naive UTC (``DateTime`` without time zone) so SQLite and PostgreSQL behave
the same; :func:`to_utc_naive` converts at the boundary. The audit log stores its time as an ISO string
because the hash chain must be recomputable byte for byte.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

metadata = sa.MetaData()

VERSION_TABLE = "review_alembic_version"

users = sa.Table(
    "review_users",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("districts", sa.JSON, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("auth_provider", sa.String(32), nullable=False),
    sa.Column("external_subject", sa.String(255), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    # Provenance and four-eyes approval: who created the account, who asked for its current access, who
    # approved it; a pending account cannot sign in (see review.administration).
    sa.Column("created_by", sa.String(80), nullable=True),
    sa.Column("requested_by", sa.String(80), nullable=True),
    sa.Column("approved_by", sa.String(80), nullable=True),
    sa.Column("approval_pending", sa.Boolean, nullable=False, server_default=sa.false()),
    # TOTP second factor (RFC 6238) and the last time step used, so a code cannot be replayed. Both
    # secrets are stored sealed with a key outside the database (review.totp, migration 0003); a pending
    # secret becomes the active one only after the user confirms it with a code.
    sa.Column("totp_secret", sa.String(255), nullable=True),
    sa.Column("totp_last_step", sa.BigInteger, nullable=True),
    sa.Column("totp_pending_secret", sa.String(255), nullable=True),
)

sessions = sa.Table(
    "review_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("review_users.user_id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=True),
    sa.Column("authenticated_at", sa.DateTime, nullable=True),
)

login_attempts = sa.Table(
    "review_login_attempts",
    metadata,
    sa.Column("attempt_id", sa.Integer, primary_key=True, autoincrement=True),
    # A keyed HMAC of the typed username, never the text (people type passwords into the wrong field).
    sa.Column("username_digest", sa.String(64), nullable=False),
    sa.Column("client_ip", sa.String(64), nullable=False),
    sa.Column("attempted_at", sa.DateTime, nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Index("ix_review_login_attempts_user", "username_digest", "attempted_at"),
    sa.Index("ix_review_login_attempts_client", "client_ip", "attempted_at"),
)

security_events = sa.Table(
    "review_security_events",
    metadata,
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
    sa.Index("ix_review_security_events_time", "occurred_at"),
)

assignments = sa.Table(
    "review_assignments",
    metadata,
    sa.Column("assignment_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("list_id", sa.String(64), nullable=False),
    sa.Column("person_key", sa.String(64), nullable=False),
    sa.Column("assignee_user_id", sa.Integer, sa.ForeignKey("review_users.user_id"), nullable=True),
    sa.Column("assigned_by_user_id", sa.Integer, sa.ForeignKey("review_users.user_id"), nullable=False),
    sa.Column("assigned_at", sa.DateTime, nullable=False),
    sa.Index("ix_review_assignments_list", "list_id", "person_key"),
)

decisions = sa.Table(
    "review_decisions",
    metadata,
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
    sa.Column("visit_date", sa.Date, nullable=True),  # the booked visit's date (visit_booked only)
    sa.Index("ix_review_decisions_list", "list_id", "person_key"),
)

audit_log = sa.Table(
    "review_audit_log",
    metadata,
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


def to_utc_naive(moment: dt.datetime) -> dt.datetime:
    """``moment`` as a naive UTC datetime (aware values are converted, naive ones are taken as UTC)."""
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment
