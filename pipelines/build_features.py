"""`tidlig features`: build the point-in-time feature table, labels and attrition as a versioned feature set.

This module holds the click command and the plain, Prefect-free pieces of the step (choosing dates,
describing the run, writing the version folder atomically); the Prefect flow that wires them lives in
``pipelines.features_flow`` and is imported only after ``prepare_environment``.

Output (docs/interfaces.md section 3): ``features_dir/<spec_hash[:12]>/`` with ``features.parquet``,
``labels.parquet``, ``attrition.csv`` and ``spec.json``, then ``features_dir/LATEST`` naming it.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import click
import pandas as pd

from pipelines.settings import Settings

SUPPRESS_BELOW = 5


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


def suppress_small_counts(attrition: pd.DataFrame) -> pd.DataFrame:
    """A copy with counts of 1-4 persons shown as '<5' (for artifacts and logs leaving the platform)."""
    shown = attrition.copy()
    for column in ("removed", "remaining"):
        shown[column] = [
            "<5" if 0 < int(value) < SUPPRESS_BELOW else str(int(value)) for value in attrition[column]
        ]
    return shown


def write_feature_set(
    features_dir: Path,
    version: str,
    *,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    attrition: pd.DataFrame,
    spec: dict[str, object],
) -> Path:
    """Write ``features_dir/<version>/`` atomically (temporary folder, then rename), then ``LATEST``.

    A reader sees either the previous complete folder or the new complete one, never a half-written one.
    """
    features_dir.mkdir(parents=True, exist_ok=True)
    target = features_dir / version
    staging = features_dir / f".staging-{version}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        features.to_parquet(staging / "features.parquet", index=False)
        labels.to_parquet(staging / "labels.parquet", index=False)
        attrition.to_csv(staging / "attrition.csv", index=False, date_format="%Y-%m-%d")
        (staging / "spec.json").write_text(json.dumps(spec, indent=2, sort_keys=True, default=str) + "\n")
        for path in staging.iterdir():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
        retired = None
        if target.exists():
            retired = features_dir / f".retired-{version}-{uuid.uuid4().hex[:8]}"
            target.rename(retired)
        staging.rename(target)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    latest_staging = features_dir / f".LATEST-{uuid.uuid4().hex[:8]}"
    latest_staging.write_text(version + "\n")
    latest_staging.replace(features_dir / "LATEST")
    return target


@click.command("features")
@click.option(
    "--start", default=None, help="First prediction date (YYYY-MM-DD) [once every source has delivered]."
)
@click.option("--end", default=None, help="Last prediction date [first of the month of the latest delivery].")
@click.option(
    "--every",
    type=click.Choice(["month", "quarter"]),
    default="month",
    show_default=True,
    help="Prediction dates: first day of every month or quarter.",
)
@click.option(
    "--mode",
    type=click.Choice(["as_known", "as_occurred"]),
    default="as_known",
    show_default=True,
    help="as_known: only data delivered by each date (what a live run sees); as_occurred: final data.",
)
@click.option(
    "--municipality",
    "municipalities",
    multiple=True,
    help="Municipality code(s) of the area (repeatable) [default: every municipality in the data].",
)
@click.option(
    "--dates-per-chunk",
    type=int,
    default=12,
    show_default=True,
    help="Prediction dates per DuckDB query; lower it to use less memory.",
)
@click.pass_obj
def features_command(
    settings: Settings,
    *,
    start: str | None,
    end: str | None,
    every: str,
    mode: str,
    municipalities: tuple[str, ...],
    dates_per_chunk: int,
) -> None:
    """Build point-in-time features, outcome labels and the cohort attrition table.

    Reads the warehouse (run `tidlig ingest` first) and writes features/<version>/ plus features/LATEST;
    `tidlig train` reads them next.
    """
    from pipelines.runtime import prepare_environment

    prepare_environment(settings)
    from pipelines.features_flow import features_flow

    folder = features_flow(
        str(settings.warehouse_dir),
        str(settings.features_dir),
        start=start,
        end=end,
        every=every,
        mode=mode,
        area_municipalities=list(municipalities) or None,
        dates_per_chunk=dates_per_chunk,
    )
    click.echo(f"Feature set written to {folder}. Next: tidlig train")
