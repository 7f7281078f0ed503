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
            ),
        ),
        DemoStep("Validate, pseudonymise and land every delivery", ("ingest",)),
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
def demo(settings: Settings, citizens: int, years: int, seed: int, start_date: str) -> None:
    """Run the whole platform end to end on a synthetic world in the data home (default ./tidlig-data)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    steps = demo_steps(citizens, years, seed, start_date)
    click.secho(
        f"Tidlig demo in {settings.home} — synthetic data only, public demo pseudonym key.", bold=True
    )
    total_started = time.monotonic()
    for number, step in enumerate(steps, start=1):
        run_step(step, settings, number, len(steps))
    click.secho(f"\nDemo finished in {time.monotonic() - total_started:.0f} s.", bold=True)
    click.echo(f"  World and deliveries: {settings.world_dir}")
    click.echo(f"  Warehouse:            {settings.warehouse_dir}")
