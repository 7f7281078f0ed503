"""The `tidlig-features` Prefect flow: read the warehouse, call the features layer, write the feature set.

Import only after ``pipelines.runtime.prepare_environment`` (this module imports Prefect); ``tidlig
features`` (pipelines/build_features.py) does that. Tasks receive paths and small values; the few that
receive frames use ``NO_CACHE``. Only reads and writes retry (transient I/O), never the computations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import click
import duckdb
import pandas as pd
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from features import (
    Cohort,
    FeatureSetSpec,
    build_cohort,
    build_feature_table,
    build_labels,
    choose_prediction_dates,
    default_feature_set,
)
from features.labels import end_of_data
from pipelines.build_features import default_date_range, suppress_small_counts, write_feature_set
from warehouse import Warehouse


class NoWarehouseError(click.ClickException):
    """The warehouse has nothing landed yet."""


@dataclass(frozen=True)
class WarehouseSummary:
    """What the run reads: landed batches (ids, sources, contract versions; no person data) and dates."""

    batches: list[dict[str, str]]
    every_source_delivered: pd.Timestamp
    last_delivery: pd.Timestamp
    end_of_data: pd.Timestamp


def _connect(warehouse_dir: str) -> duckdb.DuckDBPyConnection:
    return Warehouse(Path(warehouse_dir)).connect(read_only=True)


def check_warehouse(warehouse_dir: str) -> None:
    """Raise NoWarehouseError (saying what to run) unless the warehouse has a landed batch."""
    if not (Path(warehouse_dir) / "catalog.duckdb").exists():
        raise NoWarehouseError(f"No warehouse at {warehouse_dir}. Run `tidlig ingest` first.")
    ledger = Warehouse(Path(warehouse_dir)).batches()
    if not (ledger["status"] == "landed").any():
        raise NoWarehouseError(f"The warehouse at {warehouse_dir} has no landed batch. Run `tidlig ingest`.")


@task(retries=2, retry_delay_seconds=2)
def describe_warehouse(warehouse_dir: str) -> WarehouseSummary:
    """The landed batches and the delivery date range of the warehouse."""
    store = Warehouse(Path(warehouse_dir))
    ledger = store.batches()
    landed = ledger[ledger["status"] == "landed"]
    batches = [
        {
            "batch_id": str(row.batch_id),
            "source": str(row.source),
            "delivery": str(row.delivery),
            "contract_version": str(row.contract_version),
        }
        for row in landed.itertuples()
    ]
    delivered = pd.to_datetime(landed["delivered_at"])
    first_per_source = delivered.groupby(landed["source"]).min().dropna()
    connection = store.connect(read_only=True)
    try:
        data_end = end_of_data(connection)
    finally:
        connection.close()
    return WarehouseSummary(batches, first_per_source.max(), delivered.max(), data_end)


@task(cache_policy=NO_CACHE)
def compute_cohort(
    warehouse_dir: str, dates: list[pd.Timestamp], mode: str, area: list[str] | None
) -> Cohort:
    """Eligible citizens at each date and the attrition table."""
    connection = _connect(warehouse_dir)
    try:
        return build_cohort(connection, dates, mode, area)  # type: ignore[arg-type]
    finally:
        connection.close()


@task(cache_policy=NO_CACHE)
def compute_features(
    warehouse_dir: str,
    *,
    spec: FeatureSetSpec,
    dates: list[pd.Timestamp],
    mode: str,
    members: pd.DataFrame,
    dates_per_chunk: int,
) -> pd.DataFrame:
    """The feature table for the cohort rows."""
    connection = _connect(warehouse_dir)
    try:
        return build_feature_table(
            connection, spec, dates, mode, cohort=members, dates_per_chunk=dates_per_chunk
        )  # type: ignore[arg-type]
    finally:
        connection.close()


@task(cache_policy=NO_CACHE)
def compute_labels(
    warehouse_dir: str,
    *,
    dates: list[pd.Timestamp],
    members: pd.DataFrame,
    area: list[str] | None,
    data_end: pd.Timestamp,
) -> pd.DataFrame:
    """Outcome labels (final data) for the cohort rows."""
    connection = _connect(warehouse_dir)
    try:
        return build_labels(connection, dates, cohort=members, area_municipalities=area, data_end=data_end)
    finally:
        connection.close()


@task(retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def write_outputs(
    features_dir: str,
    version: str,
    *,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    attrition: pd.DataFrame,
    spec: dict[str, object],
) -> str:
    """Write the version folder atomically and point LATEST at it."""
    return str(
        write_feature_set(
            Path(features_dir), version, features=features, labels=labels, attrition=attrition, spec=spec
        )
    )


def _attrition_markdown(attrition: pd.DataFrame) -> str:
    last_date = attrition["prediction_date"].max()
    shown = suppress_small_counts(attrition[attrition["prediction_date"] == last_date])
    rows = "\n".join(f"| {r.rule} | {r.removed} | {r.remaining} |" for r in shown.itertuples())
    return (
        f"Cohort attrition at {pd.Timestamp(last_date).date()} (counts below 5 suppressed)\n\n"
        f"| rule | removed | remaining |\n|---|---|---|\n{rows}\n"
    )


@flow(name="tidlig-features")
def features_flow(
    warehouse_dir: str,
    features_dir: str,
    *,
    start: str | None = None,
    end: str | None = None,
    every: str = "month",
    mode: str = "as_known",
    area_municipalities: list[str] | None = None,
    dates_per_chunk: int = 12,
) -> str:
    """Build features, labels and attrition for monthly/quarterly prediction dates; returns the folder."""
    started = time.monotonic()
    check_warehouse(warehouse_dir)  # not a task: a missing warehouse is not worth a retry
    summary = describe_warehouse(warehouse_dir)
    default_start, default_end = default_date_range(summary.every_source_delivered, summary.last_delivery)
    dates = choose_prediction_dates(start or default_start, end or default_end, every)  # type: ignore[arg-type]
    if not dates:
        raise click.ClickException("No prediction dates between --start and --end; widen the range.")
    click.echo(
        f"  {len(dates)} prediction dates {dates[0].date()} .. {dates[-1].date()} ({mode}), "
        f"{len(summary.batches)} landed batches, data end {summary.end_of_data.date()}"
    )
    spec = default_feature_set()
    context = {"mode": mode, "area_municipalities": area_municipalities, "horizons": [6, 12]}
    spec_hash = spec.spec_hash(**context)
    version = spec_hash[:12]

    cohort = compute_cohort(warehouse_dir, dates, mode, area_municipalities)
    click.echo(f"  cohort: {len(cohort.members)} rows ({time.monotonic() - started:.0f} s)")
    features = compute_features(
        warehouse_dir,
        spec=spec,
        dates=dates,
        mode=mode,
        members=cohort.members,
        dates_per_chunk=dates_per_chunk,
    )
    click.echo(f"  features: {features.shape[1]} columns ({time.monotonic() - started:.0f} s)")
    labels = compute_labels(
        warehouse_dir,
        dates=dates,
        members=cohort.members,
        area=area_municipalities,
        data_end=summary.end_of_data,
    )
    click.echo(f"  labels: done ({time.monotonic() - started:.0f} s)")

    description: dict[str, object] = {
        "version": version,
        "spec_hash": spec_hash,
        "feature_set": spec.to_dict(),
        **context,
        "prediction_dates": [d.date().isoformat() for d in dates],
        "every": every,
        "end_of_data": summary.end_of_data.isoformat(),
        "labels_mode": "as_occurred",
        "data_batches": summary.batches,
        "contract_versions": {b["source"]: b["contract_version"] for b in summary.batches},
        "columns": list(features.columns),
        "rows": len(features),
    }
    folder = write_outputs(
        features_dir,
        version,
        features=features,
        labels=labels,
        attrition=cohort.attrition,
        spec=description,
    )
    create_markdown_artifact(
        key="tidlig-features-attrition",
        markdown=_attrition_markdown(cohort.attrition),
        description="Cohort attrition at the last prediction date (aggregates only).",
    )
    click.echo(f"  written in {time.monotonic() - started:.0f} s")
    return folder
