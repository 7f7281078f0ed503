"""`tidlig score`: publish one capacity-sized list per district, or refuse (flow: pipelines/score_flow.py).

The refusal rules and the list assembly are in screening/run.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import click

from pipelines.commands import (
    CLUSTER_OPTION,
    RUN_FILE_OPTION,
    given_options,
    on_cluster_option,
    prepare,
    reported_errors,
    require_iso_date,
)
from pipelines.parameters import ScoreParameters, read_capacity_file
from pipelines.run_file import RunFile
from pipelines.settings import Settings
from screening.config import OUTCOMES

DEFAULTS = ScoreParameters()


@click.command("score")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="Scoring date YYYY-MM-DD, or 'latest' for the last prediction date of the latest feature set "
    "[default: the latest date the deliveries support; a date past the end of the data is refused].",
)
@click.option(
    "--weekly-until",
    "weekly_until",
    default=None,
    help="Also score every 7 days after --as-of up to this date YYYY-MM-DD, oldest first, in one process "
    "(a backfill, or the demo's weekly lists); a refused date is reported and the next one scored.",
)
@click.option("--capacity", default=DEFAULTS.capacity, show_default=True, help="Visits per district.")
@click.option(
    "--capacity-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="TOML/JSON table district = visits; overrides --capacity for the districts it names.",
)
@click.option(
    "--exclude-full-home-care/--include-full-home-care",
    default=DEFAULTS.exclude_full_home_care,
    show_default=True,
    help="Skip citizens who already get both personal care and practical help (§79a allows it).",
)
@click.option(
    "--recent-visit-days",
    default=DEFAULTS.recent_visit_days,
    show_default=True,
    help="Skip citizens visited or reviewed within this many days.",
)
@click.option(
    "--dismissed-days",
    default=DEFAULTS.dismissed_days,
    show_default=True,
    help="Skip citizens a clinician dismissed within this many days.",
)
@click.option(
    "--outcome",
    type=click.Choice(OUTCOMES),
    default=DEFAULTS.outcome,
    show_default=True,
    help="Which champion's risk ranks the lists.",
)
@RUN_FILE_OPTION
@CLUSTER_OPTION
@click.pass_obj
def command(
    settings: Settings,
    *,
    run_file: str | None,
    as_of: str | None,
    weekly_until: str | None,
    capacity: int,
    capacity_file: str | None,
    exclude_full_home_care: bool,
    recent_visit_days: int,
    dismissed_days: int,
    outcome: str,
    cluster: str | None,
) -> None:
    """Score every eligible citizen and publish one capacity-sized list per district.

    Refuses to publish (exit 1, previous lists stay current) when a needed source's latest delivery was
    quarantined, input drift exceeds the PSI threshold (TIDLIG_DRIFT_PSI_THRESHOLD, default 0.25), a
    champion did not pass the promotion gate, or an open monitoring review item holds publication.
    """
    given = given_options()
    with reported_errors():
        settings = on_cluster_option(settings, cluster)
        options = {
            "as_of": ("as_of", as_of),
            "capacity": ("capacity", capacity),
            "capacity_file": (
                "capacity_by_district",
                read_capacity_file(capacity_file) if capacity_file else {},
            ),
            "exclude_full_home_care": ("exclude_full_home_care", exclude_full_home_care),
            "recent_visit_days": ("recent_visit_days", recent_visit_days),
            "dismissed_days": ("dismissed_days", dismissed_days),
            "outcome": ("outcome", outcome),
        }
        base = RunFile.read(run_file).score if run_file else ScoreParameters()
        parameters = replace(base, **dict(value for name, value in options.items() if name in given))
        require_iso_date(parameters.as_of, "--as-of", also=("latest",))
        require_iso_date(weekly_until, "--weekly-until")
        parameters.screening_config()  # a bad option is a usage error before Prefect starts
        prepare(settings)
        from pipelines.score_flow import resolve_as_of, score_flow

        first = resolve_as_of(parameters.as_of, settings)
        dates = weekly_dates(first, dt.date.fromisoformat(weekly_until) if weekly_until else first)
        from pipelines.cluster import on_cluster

        flow = on_cluster(score_flow, settings.cluster)
        if len(dates) == 1:
            report(flow(settings.reference(), replace(parameters, as_of=first.isoformat())), settings)
            return
    refused = []
    for number, day in enumerate(dates, start=1):
        click.secho(f"\n[{number}/{len(dates)}] Scoring as of {day.isoformat()}", bold=True)
        try:
            with reported_errors():
                report(flow(settings.reference(), replace(parameters, as_of=day.isoformat())), settings)
        except click.ClickException as error:
            click.echo(f"  Not published as of {day.isoformat()}: {error.format_message()}")
            refused.append(day.isoformat())
    if refused:
        raise click.ClickException(
            f"{len(refused)} of {len(dates)} dates were not published ({', '.join(refused)}); the reasons "
            "are above. The lists of the other dates are published."
        )


def weekly_dates(first: dt.date, last: dt.date) -> list[dt.date]:
    """``first`` and every 7 days after it up to ``last``; a usage error when ``last`` is before ``first``."""
    if last < first:
        raise click.BadParameter(
            f"{last.isoformat()} is before the first scoring date {first.isoformat()}.",
            param_hint="--weekly-until",
        )
    return [first + dt.timedelta(days=7 * week) for week in range((last - first).days // 7 + 1)]


def report(state: dict, settings: Settings) -> None:
    """What a scoring run published (or kept) and where to look next."""
    folder = Path(state["output_dir"])
    for newer in state.get("kept_current", []):
        click.echo(f"  Stored as history: the list of {newer} stays current (it has a newer as-of date).")
    if state.get("record_id") is not None:
        click.echo(f"  Run record:     #{state['record_id']} ({state['status']}, run {state['run_id']})")
    click.echo(f"  Operational DB: {settings.operational_db_url}")
    click.echo(f"  Aggregates:     {folder}  (counts only, cells under 5 withheld; no person data)")
    click.echo(
        "  The lists are in the review app: `tidlig review`, sign in, open a district's list "
        "(CSV and print are there)."
    )
