"""`tidlig serve`: serve the scheduled Prefect deployments against a Prefect server.

Schedules (Europe/Copenhagen time, so they follow daylight saving):
- nightly ingest at 02:00;
- weekly scoring on Monday at 05:00 (lists ready when the nurses start the week);
- monthly retrain on the 1st at 03:00 (features rebuilt, models retrained, champion moved only by the gate).

Schedules need a real Prefect server (in ephemeral mode Prefect only warns and never runs them), so the
command checks ``PREFECT_API_URL`` first and says how to start one when it is missing or unreachable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import click

from pipelines.settings import Settings

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


def build_deployments(capacity: int) -> list[Any]:
    """The three RunnerDeployments, each with its cron schedule in Copenhagen time."""
    from prefect.schedules import Cron

    import pipelines.scheduled_flows as flows

    deployments = []
    for schedule in SCHEDULES:
        flow = getattr(flows, schedule.flow_attribute)
        parameters = {"capacity": capacity} if schedule.flow_attribute == "weekly_score" else None
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


def settings_environment(settings: Settings) -> dict[str, str]:
    """The settings as TIDLIG_* variables, inherited by the runs the server starts from this process."""
    from pipelines.score import _settings_environment

    values = _settings_environment(settings)
    if settings.demo:
        values["TIDLIG_DEMO"] = "1"
    return values


@click.command("serve")
@click.option("--capacity", default=25, show_default=True, help="Visits per district for the weekly lists.")
@click.option("--check", is_flag=True, help="Only check the server and list the schedules; serve nothing.")
@click.pass_obj
def serve_command(settings: Settings, capacity: int, check: bool) -> None:
    """Serve the schedules: nightly ingest, weekly scoring (Mon 05:00), monthly retrain with the gate.

    Needs a Prefect server: `prefect server start`, then PREFECT_API_URL=http://127.0.0.1:4200/api.
    Stop with Ctrl-C (SIGTERM); schedules pause when serving stops.
    """
    from pipelines.runtime import prepare_environment

    prepare_environment(settings)
    url = api_url()
    prefix = f"PREFECT_HOME={os.environ['PREFECT_HOME']} "
    if not url:
        raise click.ClickException(NO_SERVER_HELP.format(prefix=prefix))
    if not server_is_healthy(url):
        raise click.ClickException(
            f"The Prefect server at {url} does not answer.\n\n" + NO_SERVER_HELP.format(prefix=prefix)
        )
    for name, value in settings_environment(settings).items():
        os.environ[name] = value
    click.echo(f"Prefect server: {url}")
    for schedule in SCHEDULES:
        click.echo(f"  {schedule.name:16} cron '{schedule.cron}' ({TIMEZONE})  {schedule.description}")
    if check:
        click.echo("Check only: nothing served.")
        return
    deployments = build_deployments(capacity)
    from prefect import serve

    click.echo("Serving; open the Prefect UI to watch runs. Stop with Ctrl-C.")
    serve(*deployments, print_starting_message=False)
