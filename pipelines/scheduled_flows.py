"""The flows `tidlig serve` deploys on schedules, at module level so the Prefect runner can load them.

Each is a thin parent flow that runs the step flows as subflows, so every run and its steps are visible
in the Prefect UI. Each takes the same :class:`~pipelines.settings.SettingsReference` and parameter
objects as the step's command (``pipelines.parameters``), so a deployment can set every option the command
can; with a Dask scheduler in the reference (``TIDLIG_CLUSTER`` of `tidlig serve`) each step's tasks run
on that cluster (``pipelines.cluster``). Imports Prefect: import only after
``pipelines.runtime.prepare_environment``.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from pipelines.cluster import on_cluster
from pipelines.features_flow import features_flow
from pipelines.ingest_flow import ingest_flow
from pipelines.monitor_flow import monitor_flow
from pipelines.parameters import (
    FeaturesParameters,
    IngestParameters,
    MonitorParameters,
    ScoreParameters,
    TrainParameters,
)
from pipelines.score_flow import score_flow
from pipelines.settings import SettingsReference
from pipelines.train_flow import train_flow


@flow(name="tidlig-nightly-ingest")
def nightly_ingest(settings: SettingsReference, parameters: IngestParameters | None = None) -> dict[str, Any]:
    """Validate, pseudonymise and land whatever arrived since the last run."""
    result = on_cluster(ingest_flow, settings.cluster)(settings, parameters or IngestParameters())
    return {"summary": result["summary"]}


@flow(name="tidlig-weekly-score")
def weekly_score(settings: SettingsReference, parameters: ScoreParameters | None = None) -> dict[str, Any]:
    """Score as of the latest date the data support (or ``parameters.as_of`` for a manual rerun) and
    publish the district lists, or refuse, failing the run, with the reason."""
    return on_cluster(score_flow, settings.cluster)(settings, parameters or ScoreParameters())


@flow(name="tidlig-weekly-monitor")
def weekly_monitor(
    settings: SettingsReference, parameters: MonitorParameters | None = None
) -> dict[str, Any]:
    """Judge every published list after the week's scoring (drift, expected and realised performance,
    visit yield) and open review items outside their bands."""
    return on_cluster(monitor_flow, settings.cluster)(settings, parameters or MonitorParameters())


@flow(name="tidlig-monthly-retrain")
def monthly_retrain(
    settings: SettingsReference,
    features: FeaturesParameters | None = None,
    train: TrainParameters | None = None,
) -> list[dict[str, str]]:
    """Rebuild the feature set, retrain every outcome and promote only through the promotion gate."""
    on_cluster(features_flow, settings.cluster)(settings, features or FeaturesParameters())
    return on_cluster(train_flow, settings.cluster)(settings, train or TrainParameters())
