"""Read listed citizens' history from the warehouse, as known at the as-of date (the facts' only input).

I/O lives here and only here; ``screening.facts`` turns the frames into facts. "As known at t" follows
docs/interfaces.md section 2: per ``_record_key`` the row with the greatest ``_delivered_at`` at or before
``t``, then only rows with ``_valid_time < t``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import duckdb
import pandas as pd

from screening.facts import HISTORY_TABLES

LOOKBACK_DAYS = 25 * 31  # two years of timelines plus the level just before them


def read_history(
    connection: duckdb.DuckDBPyConnection,
    person_keys: Iterable[str],
    as_of: dt.date,
    tables: Iterable[str] = HISTORY_TABLES,
) -> dict[str, dict[str, pd.DataFrame]]:
    """``person_key -> {table: rows}`` for the given citizens, as known at midnight starting ``as_of``.

    Tables absent from the warehouse are skipped (their facts read as "no rows"). Only rows whose valid
    time lies within :data:`LOOKBACK_DAYS` before ``as_of`` are read.
    """
    keys = sorted(set(person_keys))
    history: dict[str, dict[str, pd.DataFrame]] = {key: {} for key in keys}
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
            rows = connection.execute(
                f"""
                WITH known AS (
                    SELECT w.*, row_number() OVER (
                        PARTITION BY w._record_key ORDER BY w._delivered_at DESC, w._batch_id DESC
                    ) AS _known_rank
                    FROM "{table}" AS w
                    JOIN _screening_keys AS k ON w.person_key = k.person_key
                    WHERE w._delivered_at <= ?
                )
                SELECT * EXCLUDE (_known_rank) FROM known
                WHERE _known_rank = 1 AND _valid_time < ? AND _valid_time >= ?
                ORDER BY person_key, _valid_time, _record_key
                """,
                [t, t, start],
            ).df()
            for key, group in rows.groupby("person_key", sort=True):
                history[str(key)][table] = group.reset_index(drop=True)
    finally:
        connection.unregister("_screening_keys")
    return history
