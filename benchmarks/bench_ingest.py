"""Ingest benchmark: all deliveries of a synthetic world validated, pseudonymised and landed.

Generates the world with ``tidlig synth`` into ``/tmp/tidlig-bench-world-<citizens>x<years>`` unless it is
already there, then runs the ingest (plain functions, the same code the Prefect tasks call) into a fresh
temporary home, once per run, each in its own process. Reports the median wall time and the peak RSS of
the ingest processes and writes them under "## Ingest" in docs/benchmarks.md.

    python -m benchmarks.bench_ingest --citizens 60000 --years 6 --runs 3
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.report import merged_rows, write_section

HEADING = "## Ingest"

INGEST = """
import json, sys, time
from pathlib import Path
from pipelines.settings import Settings
from pipelines.ingest_flow import build_context, run_ingest, selected_sources
world, home = Path(sys.argv[1]), Path(sys.argv[2])
settings = Settings(home=home, demo=True, deployment="research", world_dir=world,
                    landing_dir=world / "deliveries")
started = time.perf_counter()
outcomes = run_ingest(build_context(settings, echo=lambda _: None), selected_sources(None))
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "rows": sum(o.rows_landed for o in outcomes),
                  "landed": sum(len(o.landed) for o in outcomes),
                  "quarantined": sum(len(o.quarantined) for o in outcomes)}))
"""


def ensure_world(citizens: int, years: int) -> Path:
    """The cached world, generated on first use (seed 1)."""
    world = Path(tempfile.gettempdir()) / f"tidlig-bench-world-{citizens}x{years}"
    if (world / "manifest.json").exists():
        return world
    print(f"Generating a world of {citizens} citizens x {years} years into {world} ...", flush=True)
    command = [sys.executable, "-m", "pipelines.cli", "--demo", "synth", "--citizens", str(citizens)]
    command += ["--years", str(years), "--seed", "1", "--out", str(world)]
    subprocess.run(command, check=True)
    return world


def run_once(world: Path) -> tuple[dict[str, float], float]:
    """One ingest in a child process; returns its numbers and the peak RSS (MiB) of children so far."""
    home = Path(tempfile.mkdtemp(prefix="tidlig-bench-ingest-"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-c", INGEST, str(world), str(home)],
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        numbers = json.loads(completed.stdout.strip().splitlines()[-1])
        numbers["process_seconds"] = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        numbers["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return numbers, peak_mib


def section_lines(arguments: argparse.Namespace, rows: list[str]) -> list[str]:
    """The section text: the command and machine, the table with ``rows``, and how to read it."""
    return [
        "",
        f"`python -m benchmarks.bench_ingest --citizens {' '.join(map(str, arguments.citizens))} "
        f"--years {arguments.years} --runs {arguments.runs}` ({date.today().isoformat()}, "
        f"{platform.machine()}, "
        f"Python {platform.python_version()}, {Path('/proc/cpuinfo').read_text().count('processor')} cores; "
        "all deliveries of a fresh world into an empty warehouse, no Prefect).",
        "",
        "| world | rows landed | batches | median ingest wall (s) | median CPU (s) | peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "Peak RSS is the largest of all ingest processes run so far (it includes the smaller world's runs). "
        "CPU is user + system time of the ingest process: on a shared machine it is the better guide to "
        "the wall time an idle machine would show.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, nargs="+", default=[60_000, 300_000])
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
    arguments = parser.parse_args()
    rows = []
    for citizens in arguments.citizens:
        world = ensure_world(citizens, arguments.years)
        results = []
        for run in range(1, arguments.runs + 1):
            numbers, peak = run_once(world)
            results.append(numbers)
            print(
                f"{citizens} citizens, run {run}/{arguments.runs}: {numbers['seconds']:.1f} s ingest, "
                f"{numbers['rows']:,} rows, {numbers['landed']} batches landed, "
                f"peak RSS so far {peak:.0f} MiB",
                flush=True,
            )
        median = statistics.median(r["seconds"] for r in results)
        cpu = statistics.median(r["cpu_seconds"] for r in results)
        rows.append(
            f"| {citizens:,} x {arguments.years} y | {results[0]['rows']:,} | {results[0]['landed']} | "
            f"{median:.1f} | {cpu:.1f} | {peak:.0f} |"
        )
    print("\n".join(section_lines(arguments, rows)))
    if not arguments.no_write:
        write_section(HEADING, section_lines(arguments, merged_rows(HEADING, rows)))


if __name__ == "__main__":
    main()
