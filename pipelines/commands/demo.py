"""`tidlig demo`: the whole chain on a synthetic world, one step after another, each as its own process.

Each step runs as `tidlig --home H --demo <step> ...` so what the demo shows is exactly what an analyst
would type, and a failing step names itself and stops the demo. After training, time passes: lists are
scored at two month starts over the last year of deliveries, then weekly from the month start before the
last one, oldest first, with the monitor after each single date and after the weekly series
(:func:`timeline_dates`), so the first lists' outcomes mature and every over-time view of the analyst
pages has content. A scoring the platform refuses (a monitoring hold, drift) does not stop the demo: it is
counted and named in the summary, as it happened.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import click

from pipelines.commands import CLUSTER_OPTION, on_cluster_option, reported_errors
from pipelines.settings import Settings


@dataclass(frozen=True)
class DemoStep:
    """One command of the demo chain and what it is for."""

    title: str
    arguments: tuple[str, ...]
    may_refuse: bool = False  # a refused scoring is part of the story, not a failed demo


def demo_steps(citizens: int, years: int, seed: int, start_date: str) -> list[DemoStep]:
    """The commands, in order, that take an empty home to a trained, gated champion (the scoring and
    monitoring over time follow: :func:`timeline_steps`)."""
    return [
        DemoStep(
            "Generate a synthetic Danish world (deliveries, care database, hidden truth)",
            (
                "synth",
                "--citizens",
                str(citizens),
                "--years",
                str(years),
                "--seed",
                str(seed),
                "--start-date",
                start_date,
                # five years of registry history before the first extract, so 5-year look-back
                # windows are full from the first prediction date (docs/models.md, "Limits")
                "--history-years",
                "5",
            ),
        ),
        DemoStep("Validate, pseudonymise and land every delivery", ("ingest",)),
        DemoStep(
            "Build point-in-time features, outcome labels and the cohort attrition table",
            ("features", "--every", "quarter"),
        ),
        DemoStep(
            "Train, evaluate against baselines and the oracle, register and gate the three models",
            (
                "train",
                "--trials",
                "2",
                "--budget-seconds",
                "60",
                "--bootstrap",
                "100",
            ),
        ),
    ]


# Months before the latest supported date at which single lists are made, on the 1st of the month: the first
# more than 12 months back, so its outcomes have matured by the last monitor run; the one 6 months back is
# half-matured. Month starts, like the training dates.
TIMELINE_MONTHS_BACK = (13, 7)
# Then lists are made weekly, as in production, from the month start this many months back to the latest
# supported date, in one process (`tidlig score --weekly-until`), and the monitor runs once after them. A
# weekly date falls on any day of the month; its drift is judged against a reference built at the same
# day of earlier months (D148). The weekly series and the single monitor after it bound the demo's time:
# each weekly date costs about 13 s at 20,000 citizens, and the monitor about 0.4 s per new list (23 a date).
WEEKLY_MONTHS_BACK = 1


@dataclass(frozen=True)
class Timeline:
    """When the demo makes lists: single dates (each scored, then monitored) and a weekly series."""

    single: tuple[dt.date, ...]
    weekly_from: dt.date
    weekly_until: dt.date

    @property
    def weekly(self) -> list[dt.date]:
        from pipelines.commands.score import weekly_dates

        return weekly_dates(self.weekly_from, self.weekly_until)  # as `tidlig score --weekly-until` scores

    @property
    def last(self) -> dt.date:
        return self.weekly[-1]


def _month_start_back(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, 1)


def timeline_dates(
    latest: dt.date,
    months_back: tuple[int, ...] = TIMELINE_MONTHS_BACK,
    weekly_months: int = WEEKLY_MONTHS_BACK,
) -> Timeline:
    """The demo's scoring dates, oldest first, ending at ``latest``: month starts ``months_back``, then
    every 7 days from the month start ``weekly_months`` back."""
    return Timeline(
        single=tuple(sorted({_month_start_back(latest, months) for months in months_back})),
        weekly_from=_month_start_back(latest, weekly_months),
        weekly_until=latest,
    )


def timeline_steps(timeline: Timeline, capacity: int = 25, simulations: int = 50) -> list[DemoStep]:
    """At each single date: publish the lists, then monitor everything published so far; then the weekly
    lists in one step, and the monitor at the last of them."""
    steps = []
    for day in timeline.single:
        iso = day.isoformat()
        steps.append(
            DemoStep(
                f"Score as of {iso} and publish one list per district",
                ("score", "--as-of", iso, "--capacity", str(capacity)),
                may_refuse=True,
            )
        )
        steps.append(_monitor_step(day, simulations))
    first, last = timeline.weekly_from.isoformat(), timeline.last.isoformat()
    steps.append(
        DemoStep(
            f"Score weekly from {first} to {last} ({len(timeline.weekly)} dates), one list per district each",
            ("score", "--as-of", first, "--weekly-until", last, "--capacity", str(capacity)),
            may_refuse=True,
        )
    )
    steps.append(_monitor_step(timeline.last, simulations))
    return steps


def _monitor_step(day: dt.date, simulations: int) -> DemoStep:
    return DemoStep(
        f"Monitor the lists published by {day.isoformat()} (drift, expected and realised performance)",
        ("monitor", "--as-of", day.isoformat(), "--simulations", str(simulations)),
    )


def latest_supported_date(settings: Settings) -> dt.date:
    """The latest date the landed deliveries support (``screening.as_of``)."""
    from screening.as_of import latest_supported_date as supported
    from warehouse.store import Warehouse

    return supported(Warehouse(settings.warehouse_dir).batches())


def run_step(
    step: DemoStep, settings: Settings, number: int, total: int, prefect_api_url: str | None = None
) -> float | None:
    """Run one step as a subprocess, streaming its output; raise ClickException if it fails (a step that
    ``may_refuse`` returns None instead). With ``prefect_api_url`` the step's flows report to that Prefect
    server instead of starting one of their own (``pipelines.runtime.SharedPrefectServer``)."""
    click.secho(f"\n[{number}/{total}] {step.title}", bold=True)
    command = [sys.executable, "-m", "pipelines.cli", "--home", str(settings.home), "--demo", *step.arguments]
    click.echo("  $ tidlig --demo " + " ".join(step.arguments))
    started = time.monotonic()
    environment = os.environ.copy()
    if settings.cluster is not None:  # every step on the cluster (`tidlig --cluster ... demo`)
        environment["TIDLIG_CLUSTER"] = settings.cluster
    if prefect_api_url is not None:
        environment["PREFECT_API_URL"] = prefect_api_url
    completed = subprocess.run(command, check=False, env=environment)  # noqa: S603 (our own CLI)
    elapsed = time.monotonic() - started
    if completed.returncode != 0 and step.may_refuse:
        click.echo(f"  refused after {elapsed:.0f} s (the reason is above); the demo goes on")
        return None
    if completed.returncode != 0:
        raise click.ClickException(
            f"Demo step '{step.arguments[0]}' failed (exit {completed.returncode}) after {elapsed:.0f} s. "
            f"Its output is above; rerun it alone with: tidlig --home {settings.home} --demo "
            + " ".join(step.arguments)
        )
    click.echo(f"  done in {elapsed:.0f} s")
    return elapsed


@click.command("demo")
@click.option(
    "--citizens", default=20_000, show_default=True, help="Synthetic citizens aged 60+ at the start."
)
@click.option("--years", default=5, show_default=True, help="Years simulated after the start date.")
@click.option("--seed", default=7, show_default=True, help="Seed of the synthetic world.")
@click.option("--start-date", default="2019-01-01", show_default=True, help="First day of the simulation.")
@CLUSTER_OPTION
@click.pass_obj
def command(
    settings: Settings, *, citizens: int, years: int, seed: int, start_date: str, cluster: str | None
) -> None:
    """Run the whole platform end to end on a synthetic world in the data home (default ./tidlig-data)."""
    with reported_errors():
        settings = on_cluster_option(settings, cluster)
        if settings.cluster is not None:
            from pipelines.cluster import check_cluster

            workers = check_cluster(settings.cluster)
            click.echo(
                f"Every step after synth runs on the Dask cluster at {settings.cluster} ({workers} workers)."
            )
    settings.home.mkdir(parents=True, exist_ok=True)
    steps = demo_steps(citizens, years, seed, start_date)
    click.secho(
        f"Tidlig demo in {settings.home} — synthetic data only, public demo pseudonym key.", bold=True
    )
    total_started = time.monotonic()
    total = len(steps) + 2 * len(TIMELINE_MONTHS_BACK) + 2
    from pipelines.runtime import SharedPrefectServer

    prefect_server = SharedPrefectServer(settings)  # starts while the world is generated (D149)
    try:
        run_step(steps[0], settings, 1, total)  # synth: no Prefect flow
        prefect_api_url = prefect_server.api_url()
        if prefect_api_url is None:
            click.echo(
                f"  (one Prefect server for all steps did not start: {prefect_server.failure}; "
                "each step starts its own)"
            )
        for number, step in enumerate(steps[1:], start=2):
            run_step(step, settings, number, total, prefect_api_url)
        timeline = timeline_steps(timeline_dates(latest_supported_date(settings)))
        refused = []
        for number, step in enumerate(timeline, start=len(steps) + 1):
            if run_step(step, settings, number, len(steps) + len(timeline), prefect_api_url) is None:
                refused.append(step.arguments[2])
    finally:
        prefect_server.stop()
    district = first_published_district(settings)
    nurse_note = ensure_demo_nurse(settings, district)
    analyst_note = ensure_demo_analyst(settings)
    click.secho(f"\nDemo finished in {time.monotonic() - total_started:.0f} s.", bold=True)
    for line in timeline_summary(settings, refused):
        click.echo(f"  {line}")
    click.echo(f"  World and deliveries: {settings.world_dir}")
    click.echo(f"  Warehouse:            {settings.warehouse_dir}")
    if settings.quarantine_dir.is_dir():
        click.echo(f"  Quarantine reports:   {settings.quarantine_dir}  (also on the Monitoring page)")
    if (settings.data_docs_dir / "site" / "index.html").is_file():
        click.echo(
            f"  Data Docs:            {settings.data_docs_dir / 'site'}  (validations, without values)"
        )
    click.echo(f"  Feature sets:         {settings.features_dir}")
    click.echo(f"  List counts:          {settings.lists_dir}  (aggregates only; the lists are in the app)")
    click.secho("\nLook further:", bold=True)
    click.echo(f"  Review app:   tidlig --home {settings.home} review   then http://127.0.0.1:8000")
    click.echo(f"                {nurse_note}")
    click.echo("                a list's page has its CSV and printable list (the only copies with names)")
    click.echo(f"                {analyst_note}; the Monitoring page shows every list over time")
    click.echo(
        f"  MLflow UI:    mlflow ui --backend-store-uri {settings.mlflow_tracking_uri}"
        "   (runs, plots, model cards)"
    )
    click.echo(
        "  Prefect UI:   prefect server start   then tidlig serve (schedules) and http://127.0.0.1:4200"
    )
    click.echo("  (the commands live in .venv/bin: run `source .venv/bin/activate` first)")


DEMO_NURSE = "demo-nurse"
DEMO_ANALYST = "demo-analyst"
DEMO_PASSWORD = "tidlig-demo-password"  # noqa: S105 (a public demo account on synthetic data)


def timeline_summary(settings: Settings, refused: list[str]) -> list[str]:
    """What the timeline produced, read back from the operational DB (so it is true for this run): the
    lists published per date, every refused scoring run with its reason's first sentence, a scoring step
    that stopped without recording a run (``refused``: the dates whose step exited non-zero), the monitor
    runs and the lists evaluated after their outcomes matured."""
    import sqlalchemy as sa

    from monitoring.store import create_schema, publication_holds, read_expected_vs_realised, read_runs
    from screening.store import current_list_runs, operational_engine, screening_lists
    from screening.store import read_runs as read_scoring_runs

    engine = operational_engine(str(settings.operational_db_url))
    try:
        create_schema(engine)
        with engine.connect() as connection:
            per_date = connection.execute(
                sa.select(screening_lists.c.as_of_date, sa.func.count())
                .group_by(screening_lists.c.as_of_date)
                .order_by(screening_lists.c.as_of_date)
            ).all()
        performance = read_expected_vs_realised(engine)
        maturity = performance.get("maturity") if not performance.empty else None
        mature = 0 if maturity is None else int(performance.loc[maturity == "mature", "list_id"].nunique())
        partial = 0 if maturity is None else int(performance.loc[maturity == "partial", "list_id"].nunique())
        published = ", ".join(f"{day} ({count})" for day, count in per_date)
        lines = [
            f"District lists published at {len(per_date)} date(s)"
            + (f": {published}" if per_date else "")
            + f"; {len(read_runs(engine))} monitor runs recorded.",
            f"Lists evaluated after their outcomes matured: {mature} whole horizon, {partial} half.",
        ]
        runs = read_scoring_runs(engine).iloc[::-1]  # in the order they ended
        if not runs.empty:
            counts = runs["status"].value_counts()
            publishing = sorted({int(r) for r in current_list_runs(engine)["record_id"].dropna()})
            lines.append(
                f"Scoring runs recorded: {len(runs)} ("
                + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in ("published", "unchanged", "refused"))
                + ")"
                + (
                    f"; the current lists come from run record #{', #'.join(map(str, publishing))}."
                    if publishing
                    else "."
                )
            )
        refusals = [
            (str(row.as_of_date), row.reason or "") for row in runs.itertuples() if row.status == "refused"
        ]
        for day, reason in refusals:
            lines.append(f"Scoring refused at {day}: {_first_sentence(reason)}")
        recorded = {day for day, _ in refusals}
        unrecorded = [day for day in refused if day not in recorded]
        if unrecorded:
            lines.append(
                f"Scoring stopped without a recorded run at {', '.join(unrecorded)} (its output is above)."
            )
        holds = publication_holds(engine)
        if holds:
            lines.append(f"{len(holds)} review item(s) hold publication; see `tidlig monitor` or the page.")
        return lines
    finally:
        engine.dispose()


def _first_sentence(text: str, limit: int = 240) -> str:
    """The reason's headline: its first line, up to its first full stop that ends a sentence (a refusal
    lists what held it on the lines below; ``screening.run``)."""
    first = text.splitlines()[0] if text else ""
    cut = first.find(". ")
    sentence = first if cut < 0 else first[: cut + 1]
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


def ensure_demo_analyst(settings: Settings) -> str:
    """Create the demo analyst for every district with a list (once) and say how to log in."""
    from screening.store import operational_engine, read_current_lists

    lists = read_current_lists(operational_engine(str(settings.operational_db_url)))
    if lists.empty:
        return "No list was published, so no demo analyst was created."
    districts = sorted(lists["district"].astype(str).unique())
    command = [
        sys.executable, "-m", "pipelines.cli", "--home", str(settings.home), "--demo", "users", "add",
        "--username", DEMO_ANALYST, "--role", "analyst",
        *(part for district in districts for part in ("--district", district)), "--password-stdin",
    ]  # fmt: skip
    completed = subprocess.run(  # noqa: S603 (our own CLI)
        command, input=DEMO_PASSWORD + "\n", capture_output=True, text=True, check=False
    )
    if completed.returncode != 0 and "exist" not in (completed.stdout + completed.stderr).lower():
        return f"Could not create the demo analyst: {completed.stderr.strip() or completed.stdout.strip()}"
    return f"log in as {DEMO_ANALYST} / {DEMO_PASSWORD} (analyst)"


def first_published_district(settings: Settings) -> str | None:
    """The first district with a current list, or None when nothing was published."""
    from screening.store import operational_engine, read_current_lists

    lists = read_current_lists(operational_engine(str(settings.operational_db_url)))
    return None if lists.empty else str(lists["district"].iloc[0])


def ensure_demo_nurse(settings: Settings, district: str | None) -> str:
    """Create the demo nurse for one district (once) and say how to log in."""
    if district is None:
        return "No list was published, so no demo user was created."
    command = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "--home",
        str(settings.home),
        "--demo",
        "users",
        "add",
        "--username",
        DEMO_NURSE,
        "--role",
        "nurse",
        "--district",
        district,
        "--password-stdin",
        # the demo has one clinician and no second admin to approve her: four-eyes is off, and said so
        "--no-four-eyes",
    ]
    completed = subprocess.run(  # noqa: S603 (our own CLI)
        command, input=DEMO_PASSWORD + "\n", capture_output=True, text=True, check=False
    )
    if completed.returncode != 0 and "exist" not in (completed.stdout + completed.stderr).lower():
        return f"Could not create the demo user: {completed.stderr.strip() or completed.stdout.strip()}"
    return (
        f"log in as {DEMO_NURSE} / {DEMO_PASSWORD} (nurse in district {district}; four-eyes approval "
        "is switched off for this demo account)"
    )
