"""A home with real Data Docs and quarantine reports (the tiny world ingested with a broken population
extract) and its data quality recorded as the monitor records it, for the analyst pages' tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from monitoring.data_quality import data_quality_rows
from monitoring.store import create_schema, monitor_data_quality, monitor_runs
from pipelines.ingest_flow import build_context, build_data_docs, run_ingest, selected_sources
from pipelines.settings import Settings
from tests.data_contracts import tiny_world
from tests.data_contracts.test_data_docs import BAD_CPR, BAD_SEX, broken_population
from warehouse import Warehouse

__all__ = ["BAD_CPR", "BAD_SEX", "ingested_home", "person_keys_of", "record_data_quality"]


def ingested_home(folder: Path) -> Settings:
    """The tiny world with its second population extract broken, ingested, Data Docs built."""
    settings = tiny_world.write_tiny_world(folder / "home")
    broken_population(settings)
    context = build_context(settings, echo=lambda _: None)
    run_ingest(context, selected_sources(["cpr_population", "deaths"]))
    build_data_docs(context)
    return settings


def person_keys_of(settings: Settings) -> list[str]:
    connection = Warehouse(settings.warehouse_dir).connect(read_only=True)  # type: ignore[arg-type]
    try:
        return [row[0] for row in connection.execute("SELECT DISTINCT person_key FROM population").fetchall()]
    finally:
        connection.close()


def record_data_quality(
    engine: sa.Engine, settings: Settings, *, as_of: dt.date = dt.date(2021, 3, 1)
) -> None:
    """One monitor run's data quality over the home's ledger, written as ``record_report`` writes it."""
    create_schema(engine)
    rows = data_quality_rows(
        Warehouse(settings.warehouse_dir).batches(),  # type: ignore[arg-type]
        as_of,
        quarantine_dir=settings.quarantine_dir,
    )
    with engine.begin() as connection:
        connection.execute(
            sa.insert(monitor_runs).values(
                run_id="quality-run", as_of_date=as_of, finished_at=dt.datetime(2021, 3, 1, 6, tzinfo=dt.UTC),
                config={}, method="CBPE", lists_estimated=[], lists_evaluated=[], items_opened=[],
                summary="s",
            )
        )  # fmt: skip
        connection.execute(
            sa.insert(monitor_data_quality),
            [
                {**row, "run_id": "quality-run", "as_of_date": as_of,
                 "rows_landed": None if row["rows_landed"] != row["rows_landed"] else row["rows_landed"],
                 "rows_refused": None if row["rows_refused"] != row["rows_refused"] else row["rows_refused"]}
                for row in rows.astype(object).where(rows.notna(), None).to_dict("records")
            ],
        )  # fmt: skip
