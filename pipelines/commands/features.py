"""`tidlig features`: build a named feature set, labels and attrition (flow: pipelines/features_flow.py)."""

from __future__ import annotations

from dataclasses import replace

import click

from features.catalogue import FEATURE_SETS
from pipelines.commands import (
    CLUSTER_OPTION,
    RUN_FILE_OPTION,
    given_options,
    on_cluster_option,
    prepare,
    reported_errors,
    require_iso_date,
)
from pipelines.parameters import FeaturesParameters
from pipelines.run_file import RunFile
from pipelines.settings import Settings


@click.command("features")
@click.option(
    "--feature-set",
    type=click.Choice(sorted(FEATURE_SETS)),
    default=FeaturesParameters.feature_set,
    show_default=True,
    help="Which named feature set of features/catalogue.py to build (a challenger is a named set).",
)
@click.option(
    "--start", default=None, help="First prediction date (YYYY-MM-DD) [once every source has delivered]."
)
@click.option("--end", default=None, help="Last prediction date [first of the month of the latest delivery].")
@click.option(
    "--every",
    type=click.Choice(["month", "quarter"]),
    default=FeaturesParameters.every,
    show_default=True,
    help="Prediction dates: first day of every month or quarter.",
)
@click.option(
    "--mode",
    type=click.Choice(["as_known", "as_occurred"]),
    default=FeaturesParameters.mode,
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
    default=FeaturesParameters.dates_per_chunk,
    show_default=True,
    help="Prediction dates per DuckDB query; lower it to use less memory.",
)
@RUN_FILE_OPTION
@CLUSTER_OPTION
@click.pass_obj
def command(
    settings: Settings,
    *,
    run_file: str | None,
    feature_set: str,
    start: str | None,
    end: str | None,
    every: str,
    mode: str,
    municipalities: tuple[str, ...],
    dates_per_chunk: int,
    cluster: str | None,
) -> None:
    """Build point-in-time features, outcome labels and the cohort attrition table.

    Reads the warehouse (run `tidlig ingest` first) and writes features/<version>/ plus features/LATEST;
    the version identifies the contents (spec, mode, dates, data batches). `tidlig train` reads them next.
    """
    options = {
        "feature_set": feature_set,
        "start": start,
        "end": end,
        "every": every,
        "mode": mode,
        "municipalities": municipalities,
        "dates_per_chunk": dates_per_chunk,
    }
    given = given_options()
    with reported_errors():
        settings = on_cluster_option(settings, cluster)
        base = RunFile.read(run_file).features if run_file else FeaturesParameters()
        parameters = replace(base, **{name: value for name, value in options.items() if name in given})
        require_iso_date(parameters.start, "--start")
        require_iso_date(parameters.end, "--end")
        prepare(settings)
        from pipelines.cluster import on_cluster
        from pipelines.features_flow import features_flow

        folder = on_cluster(features_flow, settings.cluster)(settings.reference(), parameters)
    click.echo(f"Feature set written to {folder}. Next: tidlig train")
