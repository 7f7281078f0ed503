"""`tidlig serve`: serve the scheduled deployments of pipelines/serve.py against a Prefect server."""

from __future__ import annotations

import os

import click

from pipelines.commands import prepare, reported_errors
from pipelines.parameters import ScoreParameters, read_capacity_file
from pipelines.settings import Settings

NO_SERVER_HELP = """No Prefect server is configured, and schedules only run against a real server.

  1. In another terminal start one:   {prefix}prefect server start
  2. Point Tidlig at it:               export PREFECT_API_URL=http://127.0.0.1:4200/api
  3. Serve the schedules:              tidlig serve

Then watch the runs at http://127.0.0.1:4200 (Deployments and Runs pages)."""


@click.command("serve")
@click.option(
    "--capacity",
    default=ScoreParameters.capacity,
    show_default=True,
    help="Visits per district (weekly lists).",
)
@click.option(
    "--capacity-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="TOML/JSON table district = visits for the weekly lists (as for `tidlig score`).",
)
@click.option("--check", is_flag=True, help="Only check the server and list the schedules; serve nothing.")
@click.pass_obj
def command(settings: Settings, capacity: int, capacity_file: str | None, check: bool) -> None:
    """Serve the schedules: nightly ingest, weekly scoring (Mon 05:00), weekly monitoring (Mon 06:00),
    monthly retrain with the gate.

    Needs a Prefect server: `prefect server start`, then PREFECT_API_URL=http://127.0.0.1:4200/api.
    Every option of the scheduled runs can also be changed on the deployment in the Prefect UI.
    Stop with Ctrl-C (SIGTERM); schedules pause when serving stops.
    """
    from pipelines import serve

    prepare(settings)
    url = serve.api_url()
    prefix = f"PREFECT_HOME={os.environ['PREFECT_HOME']} "
    if not url:
        raise click.ClickException(NO_SERVER_HELP.format(prefix=prefix))
    if not serve.server_is_healthy(url):
        raise click.ClickException(
            f"The Prefect server at {url} does not answer.\n\n" + NO_SERVER_HELP.format(prefix=prefix)
        )
    with reported_errors():
        score = ScoreParameters(
            capacity=capacity,
            capacity_by_district=read_capacity_file(capacity_file) if capacity_file else {},
        )
        score.screening_config()
    click.echo(f"Prefect server: {url}")
    for schedule in serve.SCHEDULES:
        click.echo(f"  {schedule.name:16} cron '{schedule.cron}' ({serve.TIMEZONE})  {schedule.description}")
    if check:
        click.echo("Check only: nothing served.")
        return
    deployments = serve.build_deployments(settings.reference(), score=score)
    from prefect import serve as serve_deployments

    click.echo("Serving; open the Prefect UI to watch runs. Stop with Ctrl-C.")
    serve_deployments(*deployments, print_starting_message=False)
