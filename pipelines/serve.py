"""The scheduled Prefect deployments that `tidlig serve` serves against a Prefect server.

Schedules (Europe/Copenhagen time, so they follow daylight saving):
- nightly ingest at 02:00;
- weekly scoring on Monday at 05:00 (lists ready when the nurses start the week);
- weekly monitoring on Monday at 06:00, after scoring (drift, performance, review items);
- monthly retrain on the 1st at 03:00 (features rebuilt, models retrained, champion moved only by the gate).

Schedules need a real Prefect server (in ephemeral mode Prefect only warns and never runs them), so the
command (pipelines/commands/serve.py) checks ``PREFECT_API_URL`` first and says how to start one when it
is missing or unreachable. A served run receives the settings reference of `tidlig serve` and resolves
the rest of its settings (and the pseudonym key) from the environment it inherits from the serving
process, exactly as the command would (``pipelines.settings.SettingsReference``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pipelines.parameters import (
    FeaturesParameters,
    IngestParameters,
    MonitorParameters,
    ScoreParameters,
    TrainParameters,
)
from pipelines.settings import SettingsReference

TIMEZONE = "Europe/Copenhagen"


@dataclass(frozen=True)
class Schedule:
    """One deployment: which flow, its name in the UI and its cron schedule."""

    flow_attribute: str
    name: str
    cron: str
    description: str


SCHEDULES: tuple[Schedule, ...] = (
    Schedule("nightly_ingest", "nightly-ingest", "0 2 * * *", "Land new deliveries every night at 02:00."),
    Schedule(
        "weekly_score", "weekly-score", "0 5 * * 1", "Publish the district lists every Monday at 05:00."
    ),
    Schedule(
        "weekly_monitor",
        "weekly-monitor",
        "0 6 * * 1",
        "Monitor the published lists every Monday at 06:00, after scoring.",
    ),
    Schedule(
        "monthly_retrain", "monthly-retrain", "0 3 1 * *", "Retrain on the 1st of each month; gate decides."
    ),
)

NO_SERVER_HELP = """No Prefect server is configured, and schedules only run against a real server.

  1. In another terminal start one:   {prefix}prefect server start
  2. Point Tidlig at it:               export PREFECT_API_URL=http://127.0.0.1:4200/api
  3. Serve the schedules:              tidlig serve

Then watch the runs at http://127.0.0.1:4200 (Deployments and Runs pages)."""


def api_url() -> str | None:
    """The configured Prefect API URL (environment or Prefect profile), or None."""
    from prefect.settings import PREFECT_API_URL

    value = PREFECT_API_URL.value()
    return str(value) if value else None


def server_is_healthy(url: str, timeout_s: float = 5.0) -> bool:
    """True when ``<url>/health`` answers (the Prefect server is up)."""
    import httpx

    try:
        return httpx.get(url.rstrip("/") + "/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def build_deployments(
    settings: SettingsReference,
    *,
    ingest: IngestParameters | None = None,
    score: ScoreParameters | None = None,
    features: FeaturesParameters | None = None,
    train: TrainParameters | None = None,
    monitor: MonitorParameters | None = None,
) -> list[Any]:
    """The four RunnerDeployments, each with its cron schedule in Copenhagen time.

    Each deployment's parameters are the settings reference and the step's parameter objects, stored
    as JSON: every option a command has can be set for the scheduled run (here or in the Prefect UI).
    """
    from prefect.schedules import Cron

    import pipelines.scheduled_flows as flows

    reference = asdict(settings)
    parameters_of: dict[str, dict[str, Any]] = {
        "nightly_ingest": {"settings": reference, "parameters": asdict(ingest or IngestParameters())},
        "weekly_score": {"settings": reference, "parameters": asdict(score or ScoreParameters())},
        "weekly_monitor": {"settings": reference, "parameters": asdict(monitor or MonitorParameters())},
        "monthly_retrain": {
            "settings": reference,
            "features": asdict(features or FeaturesParameters()),
            "train": asdict(train or TrainParameters()),
        },
    }
    deployments = []
    for schedule in SCHEDULES:
        flow = getattr(flows, schedule.flow_attribute)
        parameters = parameters_of[schedule.flow_attribute]
        deployments.append(
            flow.to_deployment(
                name=schedule.name,
                schedule=Cron(schedule.cron, timezone=TIMEZONE),
                description=schedule.description,
                parameters=parameters,
                tags=["tidlig"],
            )
        )
    return deployments
