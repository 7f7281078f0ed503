"""Benchmark of the synthetic world generator: 60k and 300k citizens x 6 years (+ 2 history years).

Run ``python -m benchmarks.bench_synth`` (``--citizens 60000 --citizens 300000 --repeats 3``). Each run is
``tidlig synth`` in its own process with a fresh output folder; wall time is measured around it and the
peak resident memory is the largest sum of RSS over the process tree (main process + worker processes),
sampled every 0.1 s. The 300k world runs once. Results go to stdout and to the "Synthetic world" section
of docs/benchmarks.md, with the machine's load average (other work on a shared machine slows runs down).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date

import psutil

from benchmarks.report import DOC, write_section

SECTION = "## Synthetic world"


@dataclass(frozen=True)
class Run:
    citizens: int
    seconds: float
    peak_rss_mib: float
    load_before: float


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def run_once(citizens: int, years: int, workers: int) -> Run:
    """One `tidlig synth` in a fresh folder; wall seconds and peak RSS of its process tree."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as home:
        command = [
            sys.executable, "-m", "pipelines.cli", "--home", home, "--demo", "synth",
            "--citizens", str(citizens), "--years", str(years), "--seed", "7", "--workers", str(workers),
        ]  # fmt: skip
        started = time.monotonic()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        watched = psutil.Process(child.pid)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], _tree_rss(watched))
                except psutil.NoSuchProcess:
                    return
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, errors = child.communicate()
        seconds = time.monotonic() - started
        done.set()
        sampler.join()
        if child.returncode != 0:
            raise SystemExit(f"tidlig synth failed for {citizens} citizens:\n{errors.decode()[-2000:]}")
    return Run(citizens, seconds, peak[0] / 2**20, load_before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, action="append", help="world sizes (default 60000, 300000)")
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the smallest size (median reported)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    sizes = args.citizens or [60_000, 300_000]
    rows = []
    for index, citizens in enumerate(sizes):
        repeats = args.repeats if index == 0 else 1
        runs = []
        for repeat in range(repeats):
            run = run_once(citizens, args.years, args.workers)
            print(
                f"{citizens:>9,} citizens x {args.years} years, run {repeat + 1}/{repeats}: "
                f"{run.seconds:6.1f} s, peak RSS {run.peak_rss_mib:,.0f} MiB, "
                f"load before {run.load_before:.1f}",
                flush=True,
            )
            runs.append(run)
        rows.append(
            f"| {citizens:,} | {args.years} + 2 history | {len(runs)} "
            f"| {statistics.median(r.seconds for r in runs):.1f} "
            f"| {', '.join(f'{r.seconds:.1f}' for r in runs)} "
            f"| {max(r.peak_rss_mib for r in runs):,.0f} "
            f"| {', '.join(f'{r.load_before:.1f}' for r in runs)} |"
        )
    lines = [
        f"`python -m benchmarks.bench_synth` ({date.today().isoformat()}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, `--workers {args.workers}`, "
        "default SQLite care database, output on local disk).",
        "",
        "| citizens | years | runs | median wall (s) | all runs (s) | peak RSS, process tree (MiB) "
        "| 1-min load average before each run |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "The load average shows how busy the shared machine was: on a 2-core machine a load above 2 means "
        "other processes took CPU time from the generator, so those runs overstate its wall time.",
    ]
    print("\n".join(lines))
    if not args.no_doc:
        write_section(SECTION, lines)
        print(f"Written to {DOC} under '{SECTION}'.")


if __name__ == "__main__":
    main()
