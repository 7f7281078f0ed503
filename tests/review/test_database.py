"""Alembic migrations of the review tables."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from review.database import alembic_config, create_operational_engine, upgrade_database
from review.tables import VERSION_TABLE, metadata


def test_upgrade_creates_every_table_and_is_idempotent(operational_url):
    engine = create_operational_engine(operational_url)
    upgrade_database(engine)
    upgrade_database(engine)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert set(metadata.tables) | {VERSION_TABLE} <= tables


def test_the_migrated_schema_matches_the_table_definitions(operational_url):
    engine = create_operational_engine(operational_url)
    upgrade_database(engine)
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        migrated = {column["name"] for column in inspector.get_columns(table.name)}
        assert migrated == set(table.columns.keys()), table.name
    engine.dispose()


def test_downgrade_removes_the_review_tables_only(operational_url):
    engine = create_operational_engine(operational_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE screening_like (x INTEGER)"))
    upgrade_database(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    remaining = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert not set(metadata.tables) & remaining
    assert "screening_like" in remaining
