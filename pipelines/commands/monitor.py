"""`tidlig monitor`: judge the published lists (flow: pipelines/monitor_flow.py), and
`tidlig monitor acknowledge ITEM --by NAME --note TEXT` to release a review item (monitoring/store.py).

What the monitor computes and when it opens an item is in monitoring/; docs/monitoring.md explains it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import click

from pipelines.commands import (
    CLUSTER_OPTION,
    RUN_FILE_OPTION,
    given_options,
    on_cluster_option,
    prepare,
    reported_errors,
)
from pipelines.parameters import MonitorParameters
from pipelines.settings import Settings

DEFAULTS = MonitorParameters()


@click.group("monitor", invoke_without_command=True)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="Monitor date YYYY-MM-DD [default: the latest date the deliveries support; a date past the end "
    "of the data is refused].",
)
@click.option(
    "--simulations",
    default=DEFAULTS.simulations,
    show_default=True,
    help="Draws of outcomes behind the expected-performance intervals.",
)
@click.option(
    "--alert-on-partial/--no-alert-on-partial",
    default=DEFAULTS.alert_on_partial,
    show_default=True,
    help="Let half-matured lists open review items.",
)
@RUN_FILE_OPTION
@CLUSTER_OPTION
@click.pass_context
def command(
    context: click.Context,
    *,
    as_of: str | None,
    simulations: int,
    alert_on_partial: bool,
    run_file: str | None,
    cluster: str | None,
) -> None:
    """Monitor every published list: input and score drift per district, expected performance before
    outcomes are known, realised performance once they are (half and whole horizon), visit yield.

    Writes one append-only record per run, logs matured metrics to MLflow against the model version that
    made each list, and opens a review item for every value outside its band; items that hold publication
    stop `tidlig score` until an analyst runs `tidlig monitor acknowledge`.
    """
    if context.invoked_subcommand is not None:
        return
    settings: Settings = context.obj
    given = given_options()
    with reported_errors():
        settings = on_cluster_option(settings, cluster)
        options = {
            "as_of": ("as_of", as_of),
            "simulations": ("simulations", simulations),
            "alert_on_partial": ("alert_on_partial", alert_on_partial),
        }
        base = _run_file_parameters(run_file)
        parameters = replace(base, **dict(value for name, value in options.items() if name in given))
        parameters.monitor_config()  # a bad option is a usage error before Prefect starts
        prepare(settings)
        from pipelines.monitor_flow import monitor_flow, resolve_monitor_date

        day = resolve_monitor_date(parameters.as_of, settings).isoformat()
        click.echo(f"Monitoring the published lists as of {day}...")
        from pipelines.cluster import on_cluster

        flow = on_cluster(monitor_flow, settings.cluster)
        state = flow(settings.reference(), replace(parameters, as_of=day))
    if state["recorded"]:
        click.echo(state["summary"])
    else:
        click.echo(f"Already recorded at {day} with the same lists (run {state['run_id']}); nothing new.")
    if state["metrics_logged"]:
        click.echo(f"  MLflow: {state['metrics_logged']} matured metric values logged.")
    for hold in state["holds"]:
        click.echo(f"  HOLD: {hold}")
    if state["holds"]:
        click.echo("  `tidlig score` will refuse to publish until these items are acknowledged.")


def _run_file_parameters(run_file: str | None) -> MonitorParameters:
    if not run_file:
        return MonitorParameters()
    from pipelines.run_file import RunFile

    return getattr(RunFile.read(run_file), "monitor", None) or MonitorParameters()


@command.command("acknowledge")
@click.argument("item_id")
@click.option("--by", "analyst", required=True, help="Who acknowledges (the analyst's name or username).")
@click.option("--note", required=True, help="What was checked and decided (kept with the item).")
@click.pass_obj
def acknowledge(settings: Settings, item_id: str, analyst: str, note: str) -> None:
    """Acknowledge an open review item: recorded append-only with who, when and the note; an item that held
    publication no longer does."""
    from monitoring.store import (
        AlreadyAcknowledgedError,
        UnknownReviewItemError,
        acknowledge_item,
        create_schema,
        publication_holds,
    )
    from screening.store import operational_engine

    if not note.strip():
        raise click.BadParameter("Say what was checked and decided.", param_hint="--note")
    engine = operational_engine(str(settings.operational_db_url))
    try:
        create_schema(engine)
        try:
            acknowledge_item(engine, item_id, analyst=analyst, note=note, at=dt.datetime.now(dt.UTC))
        except (UnknownReviewItemError, AlreadyAcknowledgedError) as error:
            raise click.ClickException(str(error)) from None
        remaining = publication_holds(engine)
    finally:
        engine.dispose()
    click.echo(f"Acknowledged {item_id} by {analyst}.")
    if remaining:
        click.echo(f"  {len(remaining)} other item(s) still hold publication.")
    else:
        click.echo("  Nothing holds publication now; `tidlig score` may publish.")
