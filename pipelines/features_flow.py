"""The `tidlig-features` Prefect flow: read the warehouse, call the features layer, write the feature set.

Import only after ``pipelines.runtime.prepare_environment`` (this module imports Prefect). Tasks receive
paths and small values; the few that receive frames use ``NO_CACHE``. Only reads and writes retry
(transient I/O, ``pipelines.retry``), never the computations. Features and labels are computed per shard
of persons (``pipelines.cluster``: one shard in process, many on a Dask cluster) by the same pure
functions, and the shards are joined in key order: the tables are the same whatever the shards. The
feature set is written through ``features.store``; its version identifies its contents (spec, mode,
prediction dates, data batches).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from features import Cohort, FeatureSetSpec, build_cohort, build_feature_table, build_labels
from features.catalogue import FEATURE_SETS
from features.cohort import COHORT_KEY_COLUMNS
from features.engine import DEFAULT_DATES_PER_CHUNK
from features.labels import end_of_data
from features.prediction_dates import choose_prediction_dates
from features.store import DataBatch, FeatureSetManifest, feature_set_version, write_feature_set
from pipelines.cluster import concat_sorted, map_shards, shard_count, split_by_shard
from pipelines.errors import InvalidParameterError, MissingInputError
from pipelines.parameters import FeaturesParameters
from pipelines.progress import say
from pipelines.retry import IO_RETRIES
from pipelines.settings import SettingsReference
from privacy import attrition_text
from warehouse import Warehouse

HORIZONS = (6, 12)


@dataclass(frozen=True)
class WarehouseSummary:
    """What the run reads: landed batches (ids, sources, contract versions; no person data) and dates."""

    batches: tuple[DataBatch, ...]
    every_source_delivered: pd.Timestamp
    last_delivery: pd.Timestamp
    end_of_data: pd.Timestamp


def default_date_range(every_source_delivered: pd.Timestamp, last_delivery: pd.Timestamp) -> tuple[str, str]:
    """(start, end) when none are given: from the first of the month on or after the date by which every
    source had delivered at least once (earlier dates would see some sources as empty), to the first of the
    month at or before the latest delivery. Training needs the long span: its temporal split keeps
    horizon-long gaps between train, validation and test."""
    end = pd.Timestamp(year=last_delivery.year, month=last_delivery.month, day=1)
    start = pd.Timestamp(year=every_source_delivered.year, month=every_source_delivered.month, day=1)
    if start < every_source_delivered:
        start += pd.DateOffset(months=1)
    start = min(start, end)
    return start.date().isoformat(), end.date().isoformat()


def named_spec(name: str) -> FeatureSetSpec:
    """The spec registered as ``name`` in ``features.catalogue.FEATURE_SETS``."""
    if name not in FEATURE_SETS:
        raise InvalidParameterError(
            f"Unknown feature set {name!r}; known: {', '.join(FEATURE_SETS)}.", option="--feature-set"
        )
    return FEATURE_SETS[name]()


def check_warehouse(warehouse_dir: Path) -> None:
    """Raise MissingInputError (saying what to run) unless the warehouse has a landed batch."""
    if not (warehouse_dir / "catalog.duckdb").exists():
        raise MissingInputError(f"No warehouse at {warehouse_dir}. Run `tidlig ingest` first.")
    ledger = Warehouse(warehouse_dir).batches()
    if not (ledger["status"] == "landed").any():
        raise MissingInputError(f"The warehouse at {warehouse_dir} has no landed batch. Run `tidlig ingest`.")


def _connect(warehouse_dir: Path) -> duckdb.DuckDBPyConnection:
    return Warehouse(warehouse_dir).connect(read_only=True)


@task(**IO_RETRIES)
def describe_warehouse(warehouse_dir: Path) -> WarehouseSummary:
    """The landed batches and the delivery date range of the warehouse."""
    store = Warehouse(warehouse_dir)
    ledger = store.batches()
    landed = ledger[ledger["status"] == "landed"]
    batches = tuple(
        DataBatch(str(row.batch_id), str(row.source), str(row.delivery), str(row.contract_version))
        for row in landed.itertuples()
    )
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
    warehouse_dir: Path, dates: list[pd.Timestamp], mode: str, area: list[str] | None
) -> Cohort:
    """Eligible citizens at each date and the attrition table."""
    connection = _connect(warehouse_dir)
    try:
        return build_cohort(connection, dates, mode, area)  # type: ignore[arg-type]
    finally:
        connection.close()


def features_of_shard(
    members: pd.DataFrame,
    *,
    warehouse_dir: Path,
    spec: FeatureSetSpec,
    dates: list[pd.Timestamp],
    mode: str,
    dates_per_chunk: int = DEFAULT_DATES_PER_CHUNK,
) -> pd.DataFrame:
    """The feature table of one shard's cohort rows (a worker opens the warehouse read-only itself)."""
    connection = _connect(warehouse_dir)
    try:
        return build_feature_table(
            connection, spec, dates, mode, cohort=members, dates_per_chunk=dates_per_chunk
        )
    finally:
        connection.close()


def labels_of_shard(
    members: pd.DataFrame,
    *,
    warehouse_dir: Path,
    dates: list[pd.Timestamp],
    area: list[str] | None,
    data_end: pd.Timestamp,
) -> pd.DataFrame:
    """Outcome labels (final data) of one shard's cohort rows."""
    connection = _connect(warehouse_dir)
    try:
        return build_labels(connection, dates, cohort=members, area_municipalities=area, data_end=data_end)
    finally:
        connection.close()


def sharded_features(members: pd.DataFrame, shards: int, **arguments: object) -> pd.DataFrame:
    """:func:`features_of_shard` per shard of ``members`` (Prefect tasks on the flow's task runner inside
    a flow), joined in (person_key, prediction_date) order: the table one unsharded build returns."""
    parts = split_by_shard(members, shards)
    return concat_sorted(
        map_shards(features_of_shard, parts, name="features-shard", **arguments), COHORT_KEY_COLUMNS
    )


def sharded_labels(members: pd.DataFrame, shards: int, **arguments: object) -> pd.DataFrame:
    """:func:`labels_of_shard` per shard of ``members``, joined in (person_key, prediction_date) order."""
    parts = split_by_shard(members, shards)
    return concat_sorted(
        map_shards(labels_of_shard, parts, name="labels-shard", **arguments), COHORT_KEY_COLUMNS
    )


@task(cache_policy=NO_CACHE, **IO_RETRIES)
def write_outputs(
    features_dir: Path,
    manifest: FeatureSetManifest,
    *,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    attrition: pd.DataFrame,
) -> Path:
    """Write the version folder atomically and point LATEST at it."""
    return write_feature_set(features_dir, manifest, features=features, labels=labels, attrition=attrition)


def attrition_markdown(attrition: pd.DataFrame) -> str:
    """The attrition table at the last prediction date, withheld through ``privacy`` (``<5``: 1-4
    persons; ``*``: withheld so that such a count cannot be worked out along the chain)."""
    last_date = attrition["prediction_date"].max()
    shown = attrition_text(attrition[attrition["prediction_date"] == last_date], group="prediction_date")
    rows = "\n".join(f"| {r.rule} | {r.removed} | {r.remaining} |" for r in shown.itertuples())
    return (
        f"Cohort attrition at {pd.Timestamp(last_date).date()} "
        "(<5: 1-4 persons; *: withheld so that such a count cannot be worked out)\n\n"
        f"| rule | removed | remaining |\n|---|---|---|\n{rows}\n"
    )


def prediction_dates(parameters: FeaturesParameters, summary: WarehouseSummary) -> list[pd.Timestamp]:
    """The run's prediction dates: the parameters' range, or the warehouse's default range."""
    default_start, default_end = default_date_range(summary.every_source_delivered, summary.last_delivery)
    dates = choose_prediction_dates(
        parameters.start or default_start, parameters.end or default_end, parameters.every
    )
    if not dates:
        raise InvalidParameterError("No prediction dates between --start and --end; widen the range.")
    return dates


def describe_feature_set(
    spec: FeatureSetSpec,
    parameters: FeaturesParameters,
    dates: list[pd.Timestamp],
    summary: WarehouseSummary,
    features: pd.DataFrame,
) -> FeatureSetManifest:
    """The manifest of the set being written; its version hashes spec, dates and the batches read."""
    area = tuple(parameters.municipalities) or None
    context = {
        "mode": parameters.mode,
        "area_municipalities": area and list(area),
        "horizons": list(HORIZONS),
    }
    spec_hash = spec.spec_hash(**context)
    return FeatureSetManifest(
        version=feature_set_version(spec_hash, dates, [b.batch_id for b in summary.batches]),
        spec_hash=spec_hash,
        spec=spec.to_dict(),
        mode=parameters.mode,
        area_municipalities=area,
        horizons=HORIZONS,
        prediction_dates=tuple(d.date() for d in dates),
        every=parameters.every,
        end_of_data=summary.end_of_data,
        data_batches=summary.batches,
        contract_versions={b.source: b.contract_version for b in summary.batches},
        columns=tuple(features.columns),
        rows=len(features),
    )


@flow(name="tidlig-features")
def features_flow(settings: SettingsReference, parameters: FeaturesParameters | None = None) -> str:
    """Build features, labels and attrition for monthly/quarterly prediction dates; returns the folder."""
    parameters = parameters or FeaturesParameters()
    resolved = settings.resolve()
    warehouse_dir = Path(resolved.warehouse_dir)
    started = time.monotonic()
    spec = named_spec(parameters.feature_set)
    check_warehouse(warehouse_dir)  # not a task: a missing warehouse is not worth a retry
    summary = describe_warehouse(warehouse_dir)
    dates = prediction_dates(parameters, summary)
    mode, area = parameters.mode, list(parameters.municipalities) or None
    say(
        f"{spec.name}: {len(dates)} prediction dates {dates[0].date()} .. {dates[-1].date()} ({mode}), "
        f"{len(summary.batches)} landed batches, data end {summary.end_of_data.date()}"
    )
    cohort = compute_cohort(warehouse_dir, dates, mode, area)
    shards = shard_count(resolved.shards, resolved.cluster)
    say(f"cohort: {len(cohort.members)} rows ({time.monotonic() - started:.0f} s), {shards} shard(s)")
    features = sharded_features(
        cohort.members,
        shards,
        warehouse_dir=warehouse_dir,
        spec=spec,
        dates=dates,
        mode=mode,
        dates_per_chunk=parameters.dates_per_chunk,
    )
    say(f"features: {features.shape[1]} columns ({time.monotonic() - started:.0f} s)")
    labels = sharded_labels(
        cohort.members,
        shards,
        warehouse_dir=warehouse_dir,
        dates=dates,
        area=area,
        data_end=summary.end_of_data,
    )
    say(f"labels: done ({time.monotonic() - started:.0f} s)")
    manifest = describe_feature_set(spec, parameters, dates, summary, features)
    folder = write_outputs(
        Path(resolved.features_dir),
        manifest,
        features=features,
        labels=labels,
        attrition=cohort.attrition,
    )
    create_markdown_artifact(
        key="tidlig-features-attrition",
        markdown=attrition_markdown(cohort.attrition),
        description="Cohort attrition at the last prediction date (aggregates only).",
    )
    say(f"feature set {manifest.version} written in {time.monotonic() - started:.0f} s")
    return str(folder)
