"""What was known at each prediction date: SQL over a bitemporal warehouse table.

Every warehouse row carries ``_record_key``, ``_valid_time`` (when the fact happened) and ``_delivered_at``
(when the platform could first know it). A later row with the same record key is a correction.

- ``as_known`` (the default, what a Monday-morning run sees): for each record key, the version with the
  greatest ``_delivered_at`` among versions delivered at or before ``t``; then keep ``_valid_time < t``.
  A correction known by ``t`` replaces what it corrects; one delivered after ``t`` is ignored.
- ``as_occurred`` (for analysis and for labels): the final version of each record key, whenever it was
  delivered; keep ``_valid_time < t``.

Versions of a record are ordered by :data:`VERSION_ORDER` (``_delivered_at``, then ``_ingested_at``, then
``_batch_id``): of two versions delivered at the same instant, the one landed later wins, and of two landed
together the one with the greater batch ID. This module is the only home of that rule: the feature engine,
the cohort, the labels, the citizen history (``screening.history_reader``) and the warehouse's own
``Warehouse.table(as_known_at=...)`` all read through it.

Each version is known from its ``_delivered_at`` until the next version's ``_delivered_at``, so one range
join against the prediction dates does all dates at once (:func:`known_rows_sql`); a single instant uses
:func:`known_at_sql`.
"""

from __future__ import annotations

from typing import Literal, get_args

import duckdb

Mode = Literal["as_known", "as_occurred"]
MODES: tuple[str, ...] = get_args(Mode)
VERSION_ORDER: tuple[str, ...] = ("_delivered_at", "_ingested_at", "_batch_id")


def version_order_sql(*, latest_first: bool = False, alias: str = "") -> str:
    """The ``ORDER BY`` list of :data:`VERSION_ORDER` (oldest version first, or latest first)."""
    prefix = f"{alias}." if alias else ""
    direction = " DESC" if latest_first else ""
    return ", ".join(f"{prefix}{column}{direction}" for column in VERSION_ORDER)


def known_condition_sql(mode: Mode, *, version: str = "v", at: str = "d.prediction_date") -> str:
    """SQL condition: the row version ``version`` (from :func:`versions_sql`) is the one known at ``at``."""
    check_mode(mode)
    if mode == "as_occurred":
        return f"{version}._superseded_at IS NULL"
    return (
        f"{version}._delivered_at <= {at} "
        f"AND ({version}._superseded_at IS NULL OR {version}._superseded_at > {at})"
    )


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
    PARTITION BY _record_key ORDER BY {version_order_sql()}
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
    known = known_condition_sql(mode)
    lower = (
        "" if lookback_days is None else f"AND v._valid_time >= d.prediction_date - to_days({lookback_days})"
    )
    return f"""
SELECT d.prediction_date, v.* EXCLUDE (_superseded_at)
FROM ({versions_sql(table)}) AS v
JOIN {dates_relation} AS d
  ON {known} AND v._valid_time < d.prediction_date {lower}"""


def known_at_sql(source: str, at: str, *, where: str = "") -> str:
    """SQL for the rows of ``source`` as known at one instant ``at`` (an SQL expression or ``?``).

    Per ``_record_key`` the latest version (:data:`VERSION_ORDER`) delivered at or before ``at``, then only
    rows with ``_valid_time < at``. ``at`` appears twice in the text (bind it twice when it is ``?``).
    ``where`` narrows the rows before versions are compared (e.g. to some persons: a record key belongs
    to one person). Output: every column of ``source``.
    """
    narrowed = f" AND ({where})" if where else ""
    return f"""
SELECT * EXCLUDE (_known_rank) FROM (
    SELECT *, row_number() OVER (
        PARTITION BY _record_key ORDER BY {version_order_sql(latest_first=True)}
    ) AS _known_rank
    FROM {source}
    WHERE _delivered_at <= {at}{narrowed}
) WHERE _known_rank = 1 AND _valid_time < {at}"""
