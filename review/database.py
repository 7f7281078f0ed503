"""Engine creation and schema migration for the review app's tables in the operational database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_operational_engine(url: str) -> sa.Engine:
    """An engine for the operational DB; on SQLite with foreign keys on, WAL journal and a busy timeout,
    and the database file created 0600 in a 0700 folder (its WAL and shared-memory files inherit 0600)."""
    if url.startswith("sqlite"):
        from privacy.files import private_sqlite_file

        private_sqlite_file(url)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _configure_sqlite)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL: readers never wait for the writer, and a commit needs one fsync instead of several.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def alembic_config() -> Config:
    """The Alembic configuration pointing at the package's migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_database(engine: sa.Engine, *, totp_key: bytes | None = None) -> None:
    """Bring the review tables to the latest migration (``alembic upgrade head``); idempotent.

    ``totp_key`` (the key that seals TOTP secrets, kept outside the database) is needed once, by migration
    0003, when the database still holds secrets in clear; it refuses to run without it then.
    """
    config = alembic_config()
    config.attributes["totp_key"] = totp_key
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def app_role_grants(engine: sa.Engine, role: str) -> list[str]:
    """PostgreSQL statements that let ``role`` run the app but never change the audit log.

    The role may read every table of the current schema (lists, facts), write the review tables (users,
    sessions, decisions, ...), and only SELECT and INSERT ``review_audit_log``: no UPDATE, DELETE or
    TRUNCATE, and since it does not own the table it cannot drop or disable the triggers either.
    """
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect() as connection:
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
    tables = sa.inspect(engine).get_table_names(schema=schema)
    who, where = quote(role), quote(schema)
    statements = [
        f"GRANT USAGE ON SCHEMA {where} TO {who}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {where} TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {where} TO {who}",
    ]
    for table in sorted(tables):
        if table.startswith("review_") and table not in ("review_audit_log", "review_alembic_version"):
            statements.append(f"GRANT INSERT, UPDATE, DELETE ON {where}.{quote(table)} TO {who}")
    statements += [
        f"GRANT INSERT ON {where}.review_audit_log TO {who}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {where}.review_audit_log FROM {who}",
    ]
    return statements
