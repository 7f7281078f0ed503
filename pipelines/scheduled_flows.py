"""The flows `tidlig serve` deploys on schedules, at module level so the Prefect runner can load them.

Each is a thin parent flow that loads the settings from the environment of the serving process
(``TIDLIG_*``, set by `tidlig serve` from its own settings) and runs the step flows as subflows, so every
run and its steps are visible in the Prefect UI. Imports Prefect: import only after
``pipelines.runtime.prepare_environment``.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from pipelines.settings import load_settings


@flow(name="tidlig-nightly-ingest")
def nightly_ingest() -> dict[str, Any]:
    """Validate, pseudonymise and land whatever arrived since the last run."""
    from pipelines.ingest import run_ingest_flow

    result = run_ingest_flow(load_settings())
    return {"summary": result["summary"]}


@flow(name="tidlig-weekly-score")
def weekly_score(
    capacity: int = 25, capacity_file: str | None = None, as_of: str | None = None
) -> dict[str, Any]:
    """Score as of today (or ``as_of``, YYYY-MM-DD, for a manual rerun) and publish the district lists, or
    refuse, failing the run, with the reason."""
    from pipelines.score_flow import score_flow

    return score_flow(as_of, capacity=capacity, capacity_file=capacity_file)


@flow(name="tidlig-monthly-retrain")
def monthly_retrain() -> list[dict[str, str]]:
    """Rebuild the feature set, retrain every outcome and promote only through the promotion gate."""
    from pipelines.features_flow import features_flow
    from pipelines.train_flow import train_flow

    settings = load_settings()
    features_flow(str(settings.warehouse_dir), str(settings.features_dir))
    return train_flow(str(settings.home), demo=settings.demo)
