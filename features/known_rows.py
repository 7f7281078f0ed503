"""What was known at each prediction date: SQL over a bitemporal warehouse table.

Every warehouse row carries ``_record_key``, ``_valid_time`` (when the fact happened) and ``_delivered_at``
(when the platform could first know it). A later row with the same record key is a correction.

- ``as_known`` (the default, what a Monday-morning run sees): for each record key, the version with the
  greatest ``_delivered_at`` among versions delivered at or before ``t``; then keep ``_valid_time < t``.
  A correction known by ``t`` replaces what it corrects; one delivered after ``t`` is ignored.
- ``as_occurred`` (for analysis and for labels): the final version of each record key, whenever it was
  delivered; keep ``_valid_time < t``.

Each version is known from its ``_delivered_at`` until the next version's ``_delivered_at`` (ties broken by
``_ingested_at`` then ``_batch_id``), so one range join against the prediction dates does all dates at once.
"""

from __future__ import annotations

from typing import Literal, get_args

import duckdb

Mode = Literal["as_known", "as_occurred"]
MODES: tuple[str, ...] = get_args(Mode)


def check_mode(mode: str) -> None:
    """Raise ValueError unless ``mode`` is 'as_known' or 'as_occurred'."""
    if mode not in MODES:
        raise ValueError(f"Mode {mode!r} is not one of {', '.join(MODES)}.")


def existing_relations(connection: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the tables and views the connection can read."""
    rows = connection.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {str(row[0]) for row in rows}


def versions_sql(table: str) -> str:
    """Every version of ``table`` with ``_superseded_at``: when the next version of its record arrived."""
    return f"""
SELECT *, lead(_delivered_at) OVER (
    PARTITION BY _record_key ORDER BY _delivered_at, _ingested_at, _batch_id
) AS _superseded_at
FROM {table}"""


def known_rows_sql(
    table: str,
    dates_relation: str,
    mode: Mode,
    lookback_days: int | None,
) -> str:
    """SQL for the rows of ``table`` known at each ``prediction_date`` of ``dates_relation``.

    Output: every column of the table plus ``prediction_date``; only rows with
    ``prediction_date - lookback_days <= _valid_time < prediction_date`` (no lower bound when None).
    """
    check_mode(mode)
    if mode == "as_known":
        known = (
            "v._delivered_at <= d.prediction_date "
            "AND (v._superseded_at IS NULL OR v._superseded_at > d.prediction_date)"
        )
    else:
        known = "v._superseded_at IS NULL"
    lower = (
        "" if lookback_days is None else f"AND v._valid_time >= d.prediction_date - to_days({lookback_days})"
    )
    return f"""
SELECT d.prediction_date, v.* EXCLUDE (_superseded_at)
FROM ({versions_sql(table)}) AS v
JOIN {dates_relation} AS d
  ON {known} AND v._valid_time < d.prediction_date {lower}"""
