"""Read listed citizens' history from the warehouse, as known at the as-of date (the facts' only input).

I/O lives here and only here; ``screening.facts`` turns the frames into facts. "As known at t" is the
features layer's rule (``features.known_rows.known_at_sql``, docs/interfaces.md section 2): per
``_record_key`` the latest version delivered at or before ``t`` (ties: later ``_ingested_at``, then greater
``_batch_id``), then only rows with ``_valid_time < t``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import duckdb
import pandas as pd

from features.known_rows import known_at_sql
from screening.facts import HISTORY_TABLES

_ASKED = "person_key IN (SELECT person_key FROM _screening_keys)"

LOOKBACK_DAYS = 25 * 31  # two years of timelines plus the level just before them


def read_history(
    connection: duckdb.DuckDBPyConnection,
    person_keys: Iterable[str],
    as_of: dt.date,
    tables: Iterable[str] = HISTORY_TABLES,
) -> dict[str, pd.DataFrame]:
    """``table -> rows`` of the given citizens (a ``person_key`` column; ordered by person, valid time
    and record key), as known at midnight starting ``as_of``: one frame per table for all of them, as
    ``screening.facts.build_facts_table`` reads it.

    Tables absent from the warehouse are skipped (their facts read as "no rows"). Only rows whose valid
    time lies within :data:`LOOKBACK_DAYS` before ``as_of`` are read.
    """
    keys = sorted(set(person_keys))
    history: dict[str, pd.DataFrame] = {}
    if not keys:
        return history
    t = dt.datetime.combine(as_of, dt.time())
    start = t - dt.timedelta(days=LOOKBACK_DAYS)
    available = {
        row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    key_frame = pd.DataFrame({"person_key": keys})
    connection.register("_screening_keys", key_frame)
    try:
        for table in tables:
            if table not in available:
                continue
            known = known_at_sql(f'"{table}"', "?", where=_ASKED)
            rows = connection.execute(
                f"SELECT * FROM ({known}) WHERE _valid_time >= ? "
                "ORDER BY person_key, _valid_time, _record_key",
                [t, t, start],
            ).df()
            history[table] = rows
    finally:
        connection.unregister("_screening_keys")
    return history


def read_birth_years(
    connection: duckdb.DuckDBPyConnection, person_keys: Iterable[str], as_of: dt.date
) -> dict[str, int]:
    """``person_key -> birth year`` as known at ``as_of`` (for the §79a "turns N this year" groups).

    Empty when the warehouse has no ``population`` table.
    """
    keys = sorted(set(person_keys))
    available = {
        row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    if not keys or "population" not in available:
        return {}
    t = dt.datetime.combine(as_of, dt.time())
    connection.register("_screening_keys", pd.DataFrame({"person_key": keys}))
    try:
        rows = connection.execute(
            f"""
            WITH latest AS (
                SELECT person_key, birth_date, row_number() OVER (
                    PARTITION BY person_key ORDER BY _valid_time DESC
                ) AS _spell_rank
                FROM ({known_at_sql("population", "?", where=_ASKED)}) WHERE birth_date IS NOT NULL
            )
            SELECT person_key, year(birth_date) AS birth_year FROM latest WHERE _spell_rank = 1
            """,
            [t, t],
        ).fetchall()
    finally:
        connection.unregister("_screening_keys")
    return {str(key): int(year) for key, year in rows}
