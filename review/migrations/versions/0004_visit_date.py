"""A date for "Besøg aftalt" (issue 17): the booked visit's date on the decision that booked it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_decisions") as batch:
        batch.add_column(sa.Column("visit_date", sa.Date, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_decisions") as batch:
        batch.drop_column("visit_date")
