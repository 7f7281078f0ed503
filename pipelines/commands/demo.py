"""`tidlig demo`: the whole chain on a synthetic world, one step after another, each as its own process.

Each step runs as `tidlig --home H --demo <step> ...` so what the demo shows is exactly what an analyst
would type, and a failing step names itself and stops the demo.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

import click

from pipelines.settings import Settings


@dataclass(frozen=True)
class DemoStep:
    """One command of the demo chain and what it is for."""

    title: str
    arguments: tuple[str, ...]


def demo_steps(citizens: int, years: int, seed: int, start_date: str) -> list[DemoStep]:
    """The commands, in order, that take an empty home to published screening lists."""
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
            ("train", "--trials", "2", "--budget-seconds", "60", "--bootstrap", "100"),
        ),
        DemoStep(
            "Score every eligible citizen and publish one list per district",
            ("score", "--as-of", "latest", "--capacity", "25"),
        ),
    ]


def run_step(step: DemoStep, settings: Settings, number: int, total: int) -> float:
    """Run one step as a subprocess, streaming its output; raise ClickException if it fails."""
    click.secho(f"\n[{number}/{total}] {step.title}", bold=True)
    command = [sys.executable, "-m", "pipelines.cli", "--home", str(settings.home), "--demo", *step.arguments]
    click.echo("  $ tidlig --demo " + " ".join(step.arguments))
    started = time.monotonic()
    completed = subprocess.run(command, check=False, env=os.environ.copy())  # noqa: S603 (our own CLI)
    elapsed = time.monotonic() - started
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
@click.pass_obj
def command(settings: Settings, citizens: int, years: int, seed: int, start_date: str) -> None:
    """Run the whole platform end to end on a synthetic world in the data home (default ./tidlig-data)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    steps = demo_steps(citizens, years, seed, start_date)
    click.secho(
        f"Tidlig demo in {settings.home} — synthetic data only, public demo pseudonym key.", bold=True
    )
    total_started = time.monotonic()
    for number, step in enumerate(steps, start=1):
        run_step(step, settings, number, len(steps))
    district = first_published_district(settings)
    nurse_note = ensure_demo_nurse(settings, district)
    click.secho(f"\nDemo finished in {time.monotonic() - total_started:.0f} s.", bold=True)
    click.echo(f"  World and deliveries: {settings.world_dir}")
    click.echo(f"  Warehouse:            {settings.warehouse_dir}")
    click.echo(f"  Quarantine reports:   {settings.quarantine_dir}")
    click.echo(f"  Feature sets:         {settings.features_dir}")
    click.echo(f"  Screening lists:      {settings.lists_dir}  (open index.html, or a district's CSV)")
    click.secho("\nLook further:", bold=True)
    click.echo(f"  Review app:   tidlig --home {settings.home} review   then http://127.0.0.1:8000")
    click.echo(f"                {nurse_note}")
    click.echo(
        f"  MLflow UI:    mlflow ui --backend-store-uri {settings.mlflow_tracking_uri}"
        "   (runs, plots, model cards)"
    )
    click.echo(
        "  Prefect UI:   prefect server start   then tidlig serve (schedules) and http://127.0.0.1:4200"
    )
    click.echo("  (the commands live in .venv/bin: run `source .venv/bin/activate` first)")


DEMO_NURSE = "demo-nurse"
DEMO_PASSWORD = "tidlig-demo-password"  # noqa: S105 (a public demo account on synthetic data)


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
