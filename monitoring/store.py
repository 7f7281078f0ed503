"""The monitoring tables in the operational database: append-only history, review items, acknowledgements.

Tables (created by :func:`create_schema`; the analyst pages read them, only this module writes them):

- ``monitor_runs``: one row per monitor run (its date, config, what it evaluated, items opened).
- ``monitor_drift``: one row per run, district and feature (the score is feature ``risk``): PSI, test,
  p-value, persons, comparability.
- ``monitor_expected``: one row per published list: CBPE's expected AUROC, PPV and events captured at
  capacity with simulation intervals, and the method's name.
- ``monitor_realised``: one row per list, maturity (``partial``/``mature``) and cell: realised AUROC,
  calibration, PPV at capacity, share of events captured, lead time.
- ``monitor_visit_yield``: one row per run and list: what the visits found so far.
- ``monitor_review_items``: one row per breach of a band, with its evidence; ``holds_publication``.
- ``monitor_acknowledgements``: one row per acknowledgement of an item, by whom, when and why.
- ``monitor_data_quality``: one row per run, source and month of delivery: deliveries landed,
  quarantined, held, with warnings, missing, rows landed and refused (small counts withheld), reports.

Nothing is ever updated or deleted: an acknowledgement is its own row, and a trigger (SQLite and
PostgreSQL) refuses ``UPDATE`` and ``DELETE`` on every monitoring table, so changing history takes a
schema change, not a stray statement. A monitor run is written in one transaction (:func:`record_report`);
its ID is a hash of its inputs, so a rerun writes nothing twice.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from monitoring.alerts import HELD_SENTENCE
from monitoring.drift import DRIFT_COLUMNS
from monitoring.outcomes import OUTCOME_COLUMNS
from monitoring.visits import YIELD_COLUMNS
from screening.store import append_only_triggers, restore_missing_triggers

if TYPE_CHECKING:
    from monitoring.run import MonitorReport

metadata = sa.MetaData()
ACKNOWLEDGE_HINT = "tidlig monitor acknowledge {item_id} --by NAME --note TEXT"

monitor_runs = sa.Table(
    "monitor_runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("as_of_date", sa.Date, nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("lists_estimated", sa.JSON, nullable=False),
    sa.Column("lists_evaluated", sa.JSON, nullable=False),
    sa.Column("items_opened", sa.JSON, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
)


def _drift_column(name: str) -> sa.Column:
    types: dict[str, Any] = {
        "district": sa.String(32),
        "feature": sa.String(128),
        "kind": sa.String(16),
        "test": sa.String(16),
        "comparable": sa.Boolean,
        "reference_scope": sa.String(32),
        "suppressed": sa.Boolean,
        "n_reference": sa.Integer,
        "n_current": sa.Integer,
        "bins": sa.Integer,
    }
    primary = name in ("district", "feature")
    return sa.Column(name, types.get(name, sa.Float), primary_key=primary, nullable=not primary)


monitor_drift = sa.Table(
    "monitor_drift",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("monitor_runs.run_id"), primary_key=True),
    sa.Column("as_of_date", sa.Date, nullable=False),
    *(_drift_column(name) for name in DRIFT_COLUMNS),
    sa.Index("ix_monitor_drift_feature", "feature", "district", "as_of_date"),
)

monitor_expected = sa.Table(
    "monitor_expected",
    metadata,
    sa.Column("list_id", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("monitor_runs.run_id"), nullable=False),
    sa.Column("district", sa.String(32), nullable=False),
    sa.Column("as_of_date", sa.Date, nullable=False),
    sa.Column("model_version", sa.String(32), nullable=True),
    sa.Column("persons", sa.Integer, nullable=False),
    sa.Column("listed", sa.Integer, nullable=False),
    *(
        sa.Column(name, sa.Float, nullable=True)
        for name in (
            "expected_events",
            "expected_auroc",
            "expected_auroc_low",
            "expected_auroc_high",
            "expected_ppv",
            "expected_ppv_low",
            "expected_ppv_high",
            "expected_events_captured",
            "expected_share_captured",
            "observed_expected_low",
            "observed_expected_high",
        )
    ),
    sa.Column("method", sa.Text, nullable=False),
)

_REALISED_TEXT = {"dimension": sa.String(16), "group": sa.String(32)}
_REALISED_INT = {"persons", "events", "listed", "listed_events"}
monitor_realised = sa.Table(
    "monitor_realised",
    metadata,
    sa.Column("list_id", sa.String(64), primary_key=True),
    sa.Column("maturity", sa.String(8), primary_key=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("monitor_runs.run_id"), nullable=False),
    sa.Column("district", sa.String(32), nullable=False),
    sa.Column("as_of_date", sa.Date, nullable=False),
    sa.Column("observed_until", sa.Date, nullable=False),
    sa.Column("model_version", sa.String(32), nullable=True),
    *(
        sa.Column(
            name,
            _REALISED_TEXT.get(name, sa.Integer if name in _REALISED_INT else sa.Float),
            primary_key=name in _REALISED_TEXT,
            nullable=name not in _REALISED_TEXT,
        )
        if name != "suppressed"
        else sa.Column(name, sa.Boolean, nullable=False)
        for name in OUTCOME_COLUMNS
    ),
    sa.CheckConstraint("maturity IN ('partial', 'mature')", name="ck_monitor_realised_maturity"),
)

monitor_visit_yield = sa.Table(
    "monitor_visit_yield",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("monitor_runs.run_id"), primary_key=True),
    sa.Column("list_id", sa.String(64), primary_key=True),
    *(
        sa.Column(name, sa.Float if name == "yield_rate" else sa.Integer, nullable=True)
        for name in YIELD_COLUMNS
        if name not in ("list_id", "suppressed")
    ),
    sa.Column("suppressed", sa.Boolean, nullable=False),
)

monitor_review_items = sa.Table(
    "monitor_review_items",
    metadata,
    sa.Column("item_id", sa.String(32), primary_key=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("monitor_runs.run_id"), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("metric", sa.String(32), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("band", sa.String(64), nullable=False),
    sa.Column("holds_publication", sa.Boolean, nullable=False),
    sa.Column("scope", sa.JSON, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)

monitor_acknowledgements = sa.Table(
    "monitor_acknowledgements",
    metadata,
    sa.Column("acknowledgement_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("item_id", sa.String(32), sa.ForeignKey("monitor_review_items.item_id"), nullable=False),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acknowledged_by", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.UniqueConstraint("item_id", name="uq_monitor_acknowledgements_item"),
)

monitor_data_quality = sa.Table(
    "monitor_data_quality",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("monitor_runs.run_id"), primary_key=True),
    sa.Column("as_of_date", sa.Date, nullable=False),
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),
    *(
        sa.Column(name, sa.Integer, nullable=False)
        for name in ("deliveries", "landed", "quarantined", "held", "warnings", "missing")
    ),
    sa.Column("rows_landed", sa.Integer, nullable=True),
    sa.Column("rows_refused", sa.Integer, nullable=True),
    sa.Column("suppressed", sa.Boolean, nullable=False),
    sa.Column("reports", sa.JSON, nullable=False),
    sa.Index("ix_monitor_data_quality_source", "source", "month"),
)

APPEND_ONLY_TABLES = tuple(metadata.tables)


REFUSE_FUNCTION = "monitor_refuse_change"
for _table in metadata.tables.values():
    append_only_triggers(_table, REFUSE_FUNCTION)


def create_schema(engine: sa.Engine) -> None:
    """Create the monitoring tables (with their append-only triggers) if they do not exist (idempotent).

    On PostgreSQL a trigger the tables lack is created again: tables made before TRUNCATE was refused
    here, or a trigger someone dropped.

    A table created by an earlier version gets the nullable columns added since (``ALTER TABLE ... ADD
    COLUMN``; old rows read NULL there): adding a column changes no row, so history stays as written.
    """
    metadata.create_all(engine, checkfirst=True)
    inspector = sa.inspect(engine)
    preparer = engine.dialect.identifier_preparer
    with engine.begin() as connection:
        restore_missing_triggers(connection, metadata.sorted_tables, REFUSE_FUNCTION)
        for table in metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present or not column.nullable:
                    continue
                kind = column.type.compile(dialect=engine.dialect)
                connection.execute(
                    sa.text(
                        f"ALTER TABLE {preparer.quote(table.name)} ADD COLUMN "
                        f"{preparer.quote(column.name)} {kind}"
                    )
                )


class UnknownReviewItemError(LookupError):
    """Raised when an acknowledgement names an item the monitor never opened."""


class AlreadyAcknowledgedError(RuntimeError):
    """Raised when an item is acknowledged a second time (the first acknowledgement stands)."""


def _clean(value: Any) -> Any:
    """JSON- and SQL-safe: NaN and NaT to None, numpy scalars to Python."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


def _records(frame: pd.DataFrame, **extra: Any) -> list[dict[str, Any]]:
    return [{**{k: _clean(v) for k, v in row.items()}, **extra} for row in frame.to_dict("records")]


def _json_safe(value: Any) -> Any:
    """Strict JSON (PostgreSQL refuses NaN): NaN to null, numpy scalars to Python, dates to ISO text."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    value = _clean(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def run_recorded(engine: sa.Engine, run_id: str) -> bool:
    """Whether a monitor run with this ID is recorded."""
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(monitor_runs.c.run_id).where(monitor_runs.c.run_id == run_id)
        ).first()
    return found is not None


def record_report(engine: sa.Engine, report: MonitorReport, *, finished_at: dt.datetime) -> bool:
    """Write a monitor run and everything it found in one transaction; False (nothing written) when this
    run (same ID) is already recorded. Items already open from an earlier run are not opened again."""
    with engine.begin() as connection:
        exists = connection.execute(
            sa.select(monitor_runs.c.run_id).where(monitor_runs.c.run_id == report.run_id)
        ).first()
        if exists is not None:
            return False
        known_items = {
            row[0]
            for row in connection.execute(
                sa.select(monitor_review_items.c.item_id).where(
                    monitor_review_items.c.item_id.in_([item.item_id for item in report.items])
                )
            )
        }
        new_items = [item for item in report.items if item.item_id not in known_items]
        # Per-list evaluations are written once; a run not told what was stored adds only what is new.
        stored_expected = {row[0] for row in connection.execute(sa.select(monitor_expected.c.list_id))}
        stored_realised = {
            (row[0], row[1])
            for row in connection.execute(
                sa.select(monitor_realised.c.list_id, monitor_realised.c.maturity).distinct()
            )
        }
        expected = report.expected.loc[~report.expected["list_id"].isin(stored_expected)]
        realised_keys = list(zip(report.realised["list_id"], report.realised["maturity"], strict=True))
        realised = report.realised.loc[[key not in stored_realised for key in realised_keys]]
        connection.execute(
            sa.insert(monitor_runs).values(
                run_id=report.run_id,
                as_of_date=report.as_of,
                finished_at=finished_at,
                config=_json_safe(report.config.as_dict()),
                method=report.method,
                lists_estimated=sorted(expected["list_id"]),
                lists_evaluated=[
                    f"{row['list_id']}:{row['maturity']}"
                    for row in realised[["list_id", "maturity"]].drop_duplicates().to_dict("records")
                ],
                items_opened=[item.item_id for item in new_items],
                summary=report.summary(),
            )
        )
        for table, frame, extra in (
            (monitor_drift, report.drift, {"run_id": report.run_id, "as_of_date": report.as_of}),
            (monitor_expected, expected, {"run_id": report.run_id}),
            (monitor_realised, realised, {"run_id": report.run_id}),
            (monitor_visit_yield, report.visits, {"run_id": report.run_id}),
            (
                monitor_data_quality,
                report.data_quality,
                {"run_id": report.run_id, "as_of_date": report.as_of},
            ),
        ):
            rows = _records(frame, **extra)
            if rows:
                connection.execute(sa.insert(table), rows)
        if new_items:
            connection.execute(
                sa.insert(monitor_review_items),
                [
                    {
                        "item_id": item.item_id,
                        "run_id": report.run_id,
                        "opened_at": finished_at,
                        "metric": item.metric,
                        "value": item.value,
                        "band": item.band,
                        "holds_publication": item.holds_publication,
                        "scope": _json_safe(item.scope),
                        "evidence": _json_safe(item.evidence),
                        "message": item.message,
                    }
                    for item in new_items
                ],
            )
    return True


def evaluated_stages(engine: sa.Engine) -> frozenset[tuple[str, str]]:
    """``(list_id, stage)`` already recorded: stage ``expected``, ``partial`` or ``mature``."""
    with engine.connect() as connection:
        expected = {(row[0], "expected") for row in connection.execute(sa.select(monitor_expected.c.list_id))}
        realised = {
            (row[0], row[1])
            for row in connection.execute(
                sa.select(monitor_realised.c.list_id, monitor_realised.c.maturity).distinct()
            )
        }
    return frozenset(expected | realised)


def read_review_items(engine: sa.Engine, *, open_only: bool = False) -> pd.DataFrame:
    """Review items, newest first, with ``acknowledged_at``, ``acknowledged_by`` and ``note`` (None while
    open)."""
    items, acks = monitor_review_items, monitor_acknowledgements
    query = (
        sa.select(items, acks.c.acknowledged_at, acks.c.acknowledged_by, acks.c.note)
        .select_from(items.outerjoin(acks, acks.c.item_id == items.c.item_id))
        .order_by(items.c.opened_at.desc(), items.c.item_id)
    )
    if open_only:
        query = query.where(acks.c.item_id.is_(None))
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    columns = [*items.c.keys(), "acknowledged_at", "acknowledged_by", "note"]
    return pd.DataFrame(rows, columns=columns)


def publication_holds(engine: sa.Engine) -> list[str]:
    """Why the next scoring run must not publish: one line per open item that holds publication,
    ``item ID: what is outside its band``, newest first (then by item ID).

    Empty when nothing holds (or the monitor has never run). The scoring run records them on the refused
    run, a few per line, with the next step once (``screening.run``: review on the Monitoring page and
    :data:`ACKNOWLEDGE_HINT`).
    """
    if not sa.inspect(engine).has_table(monitor_review_items.name):
        return []
    held = read_review_items(engine, open_only=True)
    held = held.loc[held["holds_publication"].astype(bool)]
    return [
        f"item {row['item_id']}: {str(row['message']).replace(HELD_SENTENCE, '').strip()}"
        for row in held.to_dict("records")
    ]


def acknowledge_item(engine: sa.Engine, item_id: str, *, analyst: str, note: str, at: dt.datetime) -> int:
    """Record that ``analyst`` reviewed item ``item_id`` (with a note saying why it may pass); returns the
    acknowledgement's ID. The item stays as it was; it no longer holds publication."""
    if not analyst.strip():
        raise ValueError("An acknowledgement needs the analyst's name (--by).")
    if not note.strip():
        raise ValueError(
            "An acknowledgement needs a note saying what was checked and why it may pass (--note)."
        )
    with engine.begin() as connection:
        item = connection.execute(
            sa.select(monitor_review_items.c.item_id).where(monitor_review_items.c.item_id == item_id)
        ).first()
        if item is None:
            raise UnknownReviewItemError(
                f"No monitoring review item {item_id!r}. List the open items on the analyst page "
                "(or monitoring.store.read_review_items) and copy the ID."
            )
        done = connection.execute(
            sa.select(monitor_acknowledgements.c.acknowledged_by).where(
                monitor_acknowledgements.c.item_id == item_id
            )
        ).first()
        if done is not None:
            raise AlreadyAcknowledgedError(
                f"Monitoring item {item_id} was already acknowledged by {done[0]}; nothing to do."
            )
        result = connection.execute(
            sa.insert(monitor_acknowledgements).values(
                item_id=item_id, acknowledged_at=at, acknowledged_by=analyst.strip(), note=note.strip()
            )
        )
        return int(result.inserted_primary_key[0])


def read_drift_history(
    engine: sa.Engine, *, feature: str | None = None, district: str | None = None
) -> pd.DataFrame:
    """Drift rows of every run, oldest first (optionally one feature and/or district)."""
    query = sa.select(monitor_drift).order_by(monitor_drift.c.as_of_date, monitor_drift.c.feature)
    if feature is not None:
        query = query.where(monitor_drift.c.feature == feature)
    if district is not None:
        query = query.where(monitor_drift.c.district == district)
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(query).mappings().all(), columns=list(monitor_drift.c.keys()))


def read_expected_vs_realised(engine: sa.Engine) -> pd.DataFrame:
    """Per list, oldest first: expected AUROC/PPV/capture with intervals beside the realised values of the
    list's overall cell at each maturity (``maturity`` None while no outcome has matured)."""
    expected, realised = monitor_expected, monitor_realised
    overall = sa.select(realised).where(realised.c.dimension == "overall").subquery()
    query = (
        sa.select(
            expected,
            overall.c.maturity,
            overall.c.observed_until,
            overall.c.persons.label("realised_persons"),
            overall.c.events.label("realised_events"),
            overall.c.auroc.label("realised_auroc"),
            overall.c.ppv_at_capacity.label("realised_ppv"),
            overall.c.share_of_events_captured.label("realised_share_captured"),
            overall.c.observed_expected,
            overall.c.calibration_slope,
            overall.c.calibration_intercept,
            overall.c.lead_time_median_days,
            overall.c.suppressed.label("realised_suppressed"),
        )
        .select_from(expected.outerjoin(overall, overall.c.list_id == expected.c.list_id))
        .order_by(expected.c.as_of_date, expected.c.district, overall.c.maturity)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return pd.DataFrame(rows)


def read_realised(engine: sa.Engine, list_id: str | None = None) -> pd.DataFrame:
    """Realised rows (every cell), optionally of one list."""
    query = sa.select(monitor_realised).order_by(
        monitor_realised.c.as_of_date, monitor_realised.c.list_id, monitor_realised.c.dimension
    )
    if list_id is not None:
        query = query.where(monitor_realised.c.list_id == list_id)
    with engine.connect() as connection:
        return pd.DataFrame(
            connection.execute(query).mappings().all(), columns=list(monitor_realised.c.keys())
        )


def read_visit_yield(engine: sa.Engine) -> pd.DataFrame:
    """Visit yield per run and list, with the run's date, oldest first."""
    query = (
        sa.select(monitor_visit_yield, monitor_runs.c.as_of_date)
        .select_from(monitor_visit_yield.join(monitor_runs))
        .order_by(monitor_runs.c.as_of_date, monitor_visit_yield.c.list_id)
    )
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(query).mappings().all())


def read_runs(engine: sa.Engine) -> pd.DataFrame:
    """Monitor runs, oldest first."""
    query = sa.select(monitor_runs).order_by(monitor_runs.c.as_of_date, monitor_runs.c.finished_at)
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(query).mappings().all(), columns=list(monitor_runs.c.keys()))


def read_data_quality(engine: sa.Engine, *, latest_run: bool = True) -> pd.DataFrame:
    """Data quality per source and month (``monitor_data_quality``), by source and month: of the latest
    monitor run that recorded any (``latest_run``), else of every run with its date."""
    table = monitor_data_quality
    query = sa.select(table).order_by(table.c.source, table.c.month, table.c.as_of_date)
    with engine.connect() as connection:
        if latest_run:
            latest = connection.execute(
                sa.select(table.c.run_id, table.c.as_of_date)
                .join(monitor_runs, monitor_runs.c.run_id == table.c.run_id)
                .order_by(monitor_runs.c.finished_at.desc(), table.c.as_of_date.desc())
                .limit(1)
            ).first()
            if latest is None:
                return pd.DataFrame(columns=list(table.c.keys()))
            query = query.where(table.c.run_id == latest[0])
        return pd.DataFrame(connection.execute(query).mappings().all(), columns=list(table.c.keys()))
