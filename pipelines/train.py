"""`tidlig train`: the command that runs the `tidlig-train` flow (pipelines/train_flow.py).

Prefect and MLflow are imported only after `prepare_environment`, so they see the project's PREFECT_HOME
and tracking URI.
"""

from __future__ import annotations

import os

import click

from pipelines.settings import Settings

OUTCOME_CHOICES = ("admission", "death", "frailty")


@click.command("train")
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    type=click.Choice(OUTCOME_CHOICES),
    help="Outcome(s) to train; repeat the option for several [default: all three].",
)
@click.option("--horizon", type=click.Choice(["6", "12"]), default="12", show_default=True, help="Months.")
@click.option("--feature-set", default=None, help="Feature set version folder [default: features/LATEST].")
@click.option("--trials", type=int, default=None, help="Random-search trials per outcome [8].")
@click.option("--budget-seconds", type=float, default=None, help="Search time budget per outcome [600].")
@click.option("--max-rounds", type=int, default=None, help="Maximum boosting rounds [1000].")
@click.option("--bootstrap", type=int, default=None, help="Bootstrap samples for the CIs [200].")
@click.option("--capacity", type=int, default=None, help="List length per district for PPV etc. [25].")
@click.option("--calibration", type=click.Choice(["isotonic", "platt"]), default=None, help="[isotonic]")
@click.option("--seed", type=int, default=None, help="Seed of the search and LightGBM.")
@click.option("--no-oracle", is_flag=True, help="Skip the oracle baseline even on a synthetic world.")
@click.pass_obj
def train_command(settings: Settings, **options: object) -> None:
    """Train, evaluate (vs age+sex, HFRS, Charlson, oracle), register and gate one model per outcome.

    Reads features/<version>/ written by `tidlig features`; writes runs, plots, model cards and the
    registered models tidlig-<outcome>-<h>m to MLflow (browse with `mlflow ui --backend-store-uri URI`).
    """
    from models.store import latest_feature_set_version
    from pipelines.runtime import prepare_environment

    try:
        if options["feature_set"] is None:
            latest_feature_set_version(settings.features_dir)  # fail fast, before Prefect starts
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None
    prepare_environment(settings)
    # A busy machine can take longer than Prefect's default 20 s to start its ephemeral server.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    from pipelines.train_flow import train_flow

    names = {
        "trials": "search_trials",
        "budget_seconds": "search_budget_seconds",
        "max_rounds": "max_boosting_rounds",
        "bootstrap": "bootstrap_samples",
        "capacity": "capacity_per_district",
        "calibration": "calibration",
        "seed": "seed",
    }
    overrides = {field: options[option] for option, field in names.items() if options[option] is not None}
    try:
        summaries = train_flow(
            str(settings.home),
            demo=settings.demo,
            outcomes=tuple(options["outcomes"]) or OUTCOME_CHOICES,  # type: ignore[arg-type]
            horizon_months=int(options["horizon"]),  # type: ignore[arg-type]
            feature_set_version=options["feature_set"],  # type: ignore[arg-type]
            use_oracle=not options["no_oracle"],
            config_overrides=overrides,
        )
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None
    promoted = sum(summary["promoted"] == "True" for summary in summaries)
    click.secho(f"Registered {len(summaries)} model(s), {promoted} promoted to champion.", bold=True)
    click.echo("Next: `tidlig score`; browse runs and model cards with")
    click.echo(f"  mlflow ui --backend-store-uri {settings.mlflow_tracking_uri}")
