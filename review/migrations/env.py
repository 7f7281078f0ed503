"""Alembic environment for the review app: runs on the connection handed over by
:func:`review.database.upgrade_database`, or on ``sqlalchemy.url`` when called from the alembic CLI."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from review.tables import VERSION_TABLE, metadata

config = context.config


def run_migrations(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as new_connection:
        run_migrations(new_connection)
    engine.dispose()
