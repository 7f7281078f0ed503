"""TOTP secrets sealed at rest, and a pending secret confirmed by a code before it is active (issue 13).

The secret columns widen to hold the sealed form (``review.totp.seal_secret``: AES-GCM with a key kept
outside the database). Secrets stored in clear by revision 0002 are sealed here, in the same transaction;
that needs the key (``review.database.upgrade_database(..., totp_key=...)``, which `tidlig review` and
`tidlig users` pass), so the migration refuses to run without it rather than leave a clear secret behind.
After this revision a clear value is never sealed again: it is refused at sign-in (docs/decisions.md D103).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from review.totp import is_sealed, seal_secret

    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT user_id, totp_secret FROM review_users WHERE totp_secret IS NOT NULL")
    ).all()
    clear = [row for row in rows if not is_sealed(row.totp_secret)]
    context_config = op.get_context().config
    key = context_config.attributes.get("totp_key") if context_config is not None else None
    if clear and key is None:  # checked before any DDL, so a refusal leaves the schema as it was
        raise RuntimeError(
            f"{len(clear)} TOTP secret(s) are stored in clear and must be sealed with the TOTP key; run the "
            "upgrade through `tidlig users list` (or `tidlig review`), which pass the key."
        )
    with op.batch_alter_table("review_users") as batch:
        batch.alter_column(
            "totp_secret", type_=sa.String(255), existing_type=sa.String(64), existing_nullable=True
        )
        batch.add_column(sa.Column("totp_pending_secret", sa.String(255), nullable=True))
    for row in clear:
        bind.execute(
            sa.text("UPDATE review_users SET totp_secret = :sealed WHERE user_id = :user_id"),
            {"sealed": seal_secret(key, int(row.user_id), str(row.totp_secret)), "user_id": row.user_id},
        )


def downgrade() -> None:
    # Sealed secrets cannot go back to clear text here (the key is not the migration's to use for that);
    # accounts lose their second factor and must enrol again after a downgrade.
    op.execute("UPDATE review_users SET totp_secret = NULL, totp_last_step = NULL")
    with op.batch_alter_table("review_users") as batch:
        batch.drop_column("totp_pending_secret")
        batch.alter_column(
            "totp_secret", type_=sa.String(64), existing_type=sa.String(255), existing_nullable=True
        )
