"""`tidlig train`: train, evaluate, register and gate one model per outcome (pipelines/train_flow.py)."""

from __future__ import annotations

from dataclasses import replace

import click

from models.config import OUTCOMES
from pipelines.commands import (
    CLUSTER_OPTION,
    RUN_FILE_OPTION,
    given_options,
    on_cluster_option,
    prepare,
    reported_errors,
)
from pipelines.parameters import TrainParameters
from pipelines.run_file import RunFile
from pipelines.settings import Settings

DEFAULTS = TrainParameters()


@click.command("train")
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    type=click.Choice(OUTCOMES),
    help="Outcome(s) to train; repeat the option for several [default: all three].",
)
@click.option(
    "--horizon",
    type=click.Choice(["6", "12"]),
    default=str(DEFAULTS.horizon_months),
    show_default=True,
    help="Months.",
)
@click.option("--feature-set", default=None, help="Feature set version folder [default: features/LATEST].")
@click.option("--trials", type=int, default=DEFAULTS.search_trials, show_default=True, help="Search trials.")
@click.option(
    "--budget-seconds",
    type=float,
    default=DEFAULTS.search_budget_seconds,
    show_default=True,
    help="Search time budget per outcome.",
)
@click.option("--max-rounds", type=int, default=DEFAULTS.max_boosting_rounds, show_default=True)
@click.option(
    "--bootstrap", type=int, default=DEFAULTS.bootstrap_samples, show_default=True, help="Samples for CIs."
)
@click.option(
    "--capacity",
    type=int,
    default=DEFAULTS.capacity_per_district,
    show_default=True,
    help="List length per district for PPV etc.",
)
@click.option(
    "--calibration",
    type=click.Choice(["auto", "isotonic", "platt"]),
    default=DEFAULTS.calibration,
    show_default=True,
    help="auto: isotonic only when the calibration rows hold enough events and non-events, else Platt.",
)
@click.option(
    "--calibration-rows",
    type=click.Choice(["auto", "validation", "cross-fitted"]),
    default=DEFAULTS.calibration_rows.replace("_", "-"),
    show_default=True,
    help="Rows the calibrator is fitted on; auto: also out-of-fold training rows when the validation "
    "fold has fewer than 1,000 events (docs/models.md).",
)
@click.option(
    "--censoring",
    type=click.Choice(["auto", "exclude", "ipcw"]),
    default=DEFAULTS.censoring,
    show_default=True,
    help="Rows followed up for less than the horizon are left out; ipcw also weights the rest by the "
    "inverse chance of still being followed (auto: ipcw when the labels carry follow_up_end; D151).",
)
@click.option(
    "--seed", type=int, default=DEFAULTS.seed, show_default=True, help="Seed of search and LightGBM."
)
@click.option("--no-oracle", is_flag=True, help="Skip the oracle baseline even on a synthetic world.")
@RUN_FILE_OPTION
@CLUSTER_OPTION
@click.pass_obj
def command(
    settings: Settings,
    *,
    run_file: str | None,
    outcomes: tuple[str, ...],
    horizon: str,
    feature_set: str | None,
    trials: int,
    budget_seconds: float,
    max_rounds: int,
    bootstrap: int,
    capacity: int,
    calibration: str,
    calibration_rows: str,
    censoring: str,
    seed: int,
    no_oracle: bool,
    cluster: str | None,
) -> None:
    """Train, evaluate (vs age+sex, HFRS, Charlson, oracle), register and gate one model per outcome.

    Reads features/<version>/ written by `tidlig features`; writes runs, plots, model cards and the
    registered models tidlig-<outcome>-<h>m to MLflow (browse with `mlflow ui --backend-store-uri URI`).
    """
    from features.store import latest_version

    options = {  # option name -> (TrainParameters field, value)
        "outcomes": ("outcomes", outcomes),
        "horizon": ("horizon_months", int(horizon)),
        "feature_set": ("feature_set_version", feature_set),
        "no_oracle": ("use_oracle", not no_oracle),
        "trials": ("search_trials", trials),
        "budget_seconds": ("search_budget_seconds", budget_seconds),
        "max_rounds": ("max_boosting_rounds", max_rounds),
        "bootstrap": ("bootstrap_samples", bootstrap),
        "capacity": ("capacity_per_district", capacity),
        "calibration": ("calibration", calibration),
        "calibration_rows": ("calibration_rows", calibration_rows.replace("-", "_")),
        "censoring": ("censoring", censoring),
        "seed": ("seed", seed),
    }
    given = given_options()
    with reported_errors():
        settings = on_cluster_option(settings, cluster)
        base = RunFile.read(run_file).train if run_file else TrainParameters()
        parameters = replace(base, **dict(value for name, value in options.items() if name in given))
        if parameters.feature_set_version is None:
            latest_version(settings.features_dir)  # fail fast, before Prefect
        prepare(settings)
        from pipelines.cluster import on_cluster
        from pipelines.train_flow import summary_line, train_flow

        summaries = on_cluster(train_flow, settings.cluster)(settings.reference(), parameters)
    for summary in summaries:  # the AUROCs and slopes are in the run's log above and in MLflow
        click.echo(summary_line(summary).splitlines()[0])
    promoted = sum(summary["promoted"] == "True" for summary in summaries)
    click.secho(f"Registered {len(summaries)} model(s), {promoted} promoted to champion.", bold=True)
    click.echo("Next: `tidlig score`; browse runs and model cards with")
    click.echo(f"  mlflow ui --backend-store-uri {settings.mlflow_tracking_uri}")
