"""`tidlig synth`: generate a synthetic Danish elderly population and its deliveries."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import click

from pipelines.settings import Settings
from synthetic.codes import DEFAULT_MUNICIPALITIES


def _codes(value: str) -> tuple[str, ...]:
    return tuple(code.strip() for code in value.split(",") if code.strip())


@click.command("synth")
@click.option("--citizens", default=20_000, show_default=True, help="Citizens aged 60+ on the start date.")
@click.option("--years", default=5, show_default=True, help="Years simulated after the start date.")
@click.option("--seed", default=7, show_default=True, help="Seed: the same seed gives byte-identical output.")
@click.option(
    "--start-date",
    default="2019-01-01",
    show_default=True,
    help="First extract date (first of a month). History before it is simulated and delivered first.",
)
@click.option("--history-years", default=2, show_default=True, help="Years of history before the start date.")
@click.option(
    "--municipalities",
    default=",".join(DEFAULT_MUNICIPALITIES),
    show_default=True,
    help="Comma-separated municipality codes to simulate.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="World folder [default: the settings' world_dir, ./tidlig-data/world].",
)
@click.option(
    "--faults",
    default="",
    help="Comma-separated fault kinds: defects a correct ingest refuses and export variants it accepts "
    "(Danish Excel, Windows-1252, ...); or `all`, `defects`, `variants`.",
)
@click.option(
    "--care-db-url",
    default=None,
    help="Care-record database URL [default: sqlite file care.sqlite in the world folder; "
    "PostgreSQL via postgresql+psycopg://...].",
)
@click.option(
    "--workers",
    default=min(2, os.cpu_count() or 1),
    show_default=True,
    help="Processes simulating blocks of 10,000 citizens in parallel (output does not depend on it).",
)
@click.option("--report", is_flag=True, help="Print generated vs target rates with PASS/FAIL per rate.")
@click.pass_obj
def synth(  # noqa: PLR0917 (click passes options by keyword)
    settings: Settings,
    citizens: int,
    years: int,
    seed: int,
    start_date: str,
    history_years: int,
    municipalities: str,
    out: Path | None,
    faults: str,
    care_db_url: str | None,
    workers: int,
    report: bool,
) -> None:
    """Generate a synthetic Danish world: registry extracts, a care-record database and the hidden truth."""
    from synthetic.config import WorldConfig
    from synthetic.faults import EXPORT_VARIANTS, FAULT_KINDS
    from synthetic.world import generate_world

    choice = faults.strip()
    if choice == "all":
        fault_kinds: tuple[str, ...] = FAULT_KINDS + EXPORT_VARIANTS
    elif choice == "defects":
        fault_kinds = FAULT_KINDS
    elif choice == "variants":
        fault_kinds = EXPORT_VARIANTS
    else:
        fault_kinds = tuple(_codes(faults))
    unknown = sorted(set(fault_kinds) - set(FAULT_KINDS) - set(EXPORT_VARIANTS))
    if unknown:
        raise click.BadParameter(
            f"unknown fault kind(s) {', '.join(unknown)}; choose from {', '.join(FAULT_KINDS)} (defects), "
            f"{', '.join(EXPORT_VARIANTS)} (export variants), or `all`, `defects`, `variants`",
            param_hint="--faults",
        )
    try:
        config = WorldConfig(
            citizens=citizens,
            years=years,
            seed=seed,
            start_date=date.fromisoformat(start_date),
            history_years=history_years,
            municipalities=_codes(municipalities),
            faults=tuple(fault_kinds),
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    out_dir = out if out is not None else settings.world_dir
    if care_db_url is None and out is None:
        care_db_url = settings.care_db_url
    click.echo(
        f"Generating {citizens:,} citizens, {history_years} history + {years} years from {start_date}, "
        f"seed {seed}, into {out_dir}"
    )
    started = time.monotonic()
    with click.progressbar(length=config.blocks, label="Simulating blocks of citizens") as bar:
        last = [0]

        def progress(done: int, total: int) -> None:
            bar.update(done - last[0])
            last[0] = done

        manifest = generate_world(config, out_dir, care_db_url, progress, workers=workers)
    elapsed = time.monotonic() - started
    deliveries = sum(len(source["deliveries"]) for source in manifest["sources"].values())
    click.echo(
        f"Done in {elapsed:.1f} s: {deliveries} delivery files, "
        f"{sum(t['rows'] for t in manifest['care_database']['tables'].values()):,} care-record rows, "
        f"{manifest['truth']['rows']:,} truth rows, {len(manifest['faults'])} injected faults, "
        f"{len(manifest['export_variants'])} export variants."
    )
    for skipped in manifest["faults_not_injected"]:
        click.secho(f"Fault not injected: {skipped}; generate more citizens to place it.", fg="yellow")
    click.echo(f"Manifest: {out_dir / 'manifest.json'}. Next: tidlig ingest")
    if report:
        from synthetic.calibration import calibration_report, format_report
        from synthetic.signal import format_signal, signal_report

        click.echo(format_report(calibration_report(out_dir)))
        month = str(config.extract_dates[0])
        click.echo(format_signal(signal_report(out_dir, month), month))
