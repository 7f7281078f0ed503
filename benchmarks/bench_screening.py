"""Screening list building on a large scored cohort (fake model, no warehouse): the pure screening steps.

Run: ``python -m benchmarks.bench_screening [--citizens 300000] [--districts 40] [--capacity 25] [--runs 3]``.
Times exclusions, per-district selection, facts + reasons + entries for the listed citizens, capacity
analytics and the PSI drift check (14 inputs, against a same-size reference); prints the median of the runs
per step and the peak RSS, and writes them under "## Screening lists" in docs/benchmarks.md.

End to end: ``python -m benchmarks.bench_screening --home H --as-of YYYY-MM-DD [--runs 3]`` runs the whole
``tidlig --home H --demo score --as-of D`` (Prefect flow, champions, features at the date, drift, lists,
publishing) once per run in its own process under ``/usr/bin/time -v`` and records the wall time, the CPU
seconds (user + system) and the peak resident memory of each, with the 1-minute load average before it;
medians go under "## Scoring run end to end" (one row per home and date, other rows kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.report import DOC, merged_rows, write_section
from screening.analytics import capacity_analytics
from screening.config import ScreeningConfig
from screening.drift import drift_report
from screening.eligibility import apply_exclusions
from screening.facts import build_facts
from screening.lists import build_entries, select_for_lists

HEADING = "## Screening lists"
END_TO_END_HEADING = "## Scoring run end to end"
TIME_FIELDS = {
    "wall": r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)",
    "user": r"User time \(seconds\): (\S+)",
    "system": r"System time \(seconds\): (\S+)",
    "peak_kib": r"Maximum resident set size \(kbytes\): (\d+)",
}
AS_OF = dt.date(2024, 3, 4)
FEATURES = [
    "age_years", "acute_admissions_count_0_to_365d", "distinct_drugs_distinct_count_0_to_90d",
    "falls_count_0_to_365d", "home_care_minutes_latest_0_to_90d", "gp_services_sum_0_to_90d",
    "weight_change_percent_0_to_90d_vs_180_to_365d", "hfrs_score_0_to_730d", "charlson_index_0_to_1825d",
    "heart_failure_diagnoses_count_0_to_1825d", "living_alone", "sex_female",
    "fsiii_score_mean_0_to_180d", "home_nursing_visits_count_0_to_90d",
]  # fmt: skip


def cohort(citizens: int, districts: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.poisson(1.5, citizens).astype(float) for name in FEATURES})
    frame["age_years"] = rng.integers(65, 100, citizens).astype(float)
    frame["living_alone"] = rng.integers(0, 2, citizens).astype(float)
    frame["sex_female"] = rng.integers(0, 2, citizens).astype(float)
    frame["preventive_visits_held_days_since_last_0_to_1825d"] = rng.integers(1, 1500, citizens).astype(float)
    frame.insert(0, "person_key", [f"{n:032x}" for n in range(citizens)])
    frame.insert(1, "district", [f"d{n % districts:03d}" for n in range(citizens)])
    frame["risk"] = 1 / (1 + np.exp(-(-4 + 0.03 * (frame["age_years"] - 65) + 0.5 * frame[FEATURES[1]])))
    return frame


def one_run(scored: pd.DataFrame, reference: pd.DataFrame, config: ScreeningConfig) -> dict[str, float]:
    times: dict[str, float] = {}
    started = time.perf_counter()
    exclusion = apply_exclusions(scored, AS_OF, config)
    times["exclusions"] = time.perf_counter() - started

    started = time.perf_counter()
    listed = select_for_lists(exclusion.eligible, config)
    times["select top capacity per district"] = time.perf_counter() - started

    started = time.perf_counter()
    contributions = pd.DataFrame(
        np.random.default_rng(0).normal(size=(len(listed), len(FEATURES))),
        index=listed["person_key"].to_numpy(),
        columns=FEATURES,
    )
    facts = {
        row["person_key"]: build_facts(row.to_dict(), {}, AS_OF, {"admission": row["risk"]})
        for _, row in listed.iterrows()
    }
    for _, district in listed.groupby("district"):
        build_entries(
            district, contributions, facts_by_person=facts, previous_scores={}, previous_members=None,
            as_of=AS_OF, config=config,
        )  # fmt: skip
    times["facts + reasons + entries (listed only)"] = time.perf_counter() - started

    started = time.perf_counter()
    capacity_analytics(exclusion.eligible, set(listed["person_key"]))
    times["capacity analytics"] = time.perf_counter() - started

    started = time.perf_counter()
    drift_report(reference, scored, FEATURES, threshold=0.25)
    times["PSI drift (14 inputs)"] = time.perf_counter() - started
    return times


def _seconds(clock: str) -> float:
    """``/usr/bin/time``'s ``[h:]mm:ss.ss`` as seconds."""
    total = 0.0
    for part in clock.split(":"):
        total = total * 60 + float(part)
    return total


def score_once(home: Path, as_of: str) -> dict[str, float]:
    """One whole ``tidlig score`` in its own process under ``/usr/bin/time -v``: wall, CPU, peak, load."""
    load = os.getloadavg()[0]
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "pipelines.cli", "--home", str(home), "--demo"]
    command += ["score", "--as-of", as_of]
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(command, check=False, capture_output=True, text=True, cwd=root)
    if done.returncode != 0:
        tail = done.stderr[-3000:]
        raise SystemExit(f"tidlig score failed (exit {done.returncode}):\n{done.stdout}\n{tail}")
    found = {name: re.search(pattern, done.stderr) for name, pattern in TIME_FIELDS.items()}
    missing = [name for name, match in found.items() if match is None]
    if missing:
        raise SystemExit(f"/usr/bin/time -v gave no {', '.join(missing)}:\n{done.stderr[-2000:]}")
    values = {name: match.group(1) for name, match in found.items() if match is not None}
    return {
        "wall": _seconds(values["wall"]),
        "cpu": float(values["user"]) + float(values["system"]),
        "peak_mib": int(values["peak_kib"]) / 1024,
        "load": load,
    }


def end_to_end(args: argparse.Namespace) -> None:
    home = Path(args.home).resolve()
    runs = []
    for number in range(args.runs):
        runs.append(score_once(home, args.as_of))
        run = runs[-1]
        print(
            f"  run {number + 1}/{args.runs}: {run['wall']:.1f} s wall, {run['cpu']:.1f} s CPU, "
            f"peak {run['peak_mib']:.0f} MiB, load {run['load']:.1f}",
            flush=True,
        )
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    walls = ", ".join(f"{run['wall']:.1f}" for run in runs)
    loads = ", ".join(f"{run['load']:.1f}" for run in runs)
    row = (
        f"| {args.label or home.name} | {args.as_of} | {len(runs)} | {median['wall']:.1f} | {walls} | "
        f"{median['cpu']:.1f} | {median['peak_mib']:,.0f} | {loads} |"
    )
    print(row)
    lines = [
        "",
        f"`python -m benchmarks.bench_screening --home H --as-of D --runs {args.runs}` ({dt.date.today()}, "
        f"{platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores): the whole `tidlig --home H --demo score --as-of D` in its own process "
        "under `/usr/bin/time -v` (Prefect flow, champions, features at the date, drift against the "
        "champion's feature rows, lists, publishing); medians of the runs.",
        "",
        "| world | as of | runs | median wall (s) | runs wall (s) | median CPU (s) | median peak RSS (MiB) | "
        "1-min load before each run |",
        "|---|---|---|---|---|---|---|---|",
        *merged_rows(END_TO_END_HEADING, [row], key_columns=2),
        "",
        "CPU is user + system seconds of the process tree /usr/bin/time waited for: on a shared machine it "
        "is the better guide to what an idle machine's wall time would be.",
    ]
    if not args.no_write:
        write_section(END_TO_END_HEADING, lines)
        print(f"Wrote the '{END_TO_END_HEADING}' section of {DOC}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=None, help="Measure the whole `tidlig score` on this home.")
    parser.add_argument("--as-of", dest="as_of", default=None, help="Scoring date for --home.")
    parser.add_argument("--label", default=None, help="How the table names the home [its folder name].")
    parser.add_argument("--citizens", type=int, default=300_000)
    parser.add_argument("--districts", type=int, default=40)
    parser.add_argument("--capacity", type=int, default=25)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
    args = parser.parse_args()
    if args.home is not None:
        if args.as_of is None:
            parser.error("--home needs --as-of")
        end_to_end(args)
        return
    print(
        f"Building a scored cohort of {args.citizens:,} citizens in {args.districts} districts ...",
        flush=True,
    )
    scored, reference = cohort(args.citizens, args.districts, 1), cohort(args.citizens, args.districts, 2)
    config = ScreeningConfig(capacity=args.capacity)
    runs = []
    for number in range(args.runs):
        runs.append(one_run(scored, reference, config))
        print(f"  run {number + 1}/{args.runs}: {sum(runs[-1].values()):.2f} s", flush=True)
    medians = {step: statistics.median(run[step] for run in runs) for step in runs[0]}
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for step, seconds in medians.items():
        print(f"{step:45} {seconds:8.3f} s")
    print(f"Peak RSS {peak_mib:.0f} MiB")
    lines = [
        "",
        f"`python -m benchmarks.bench_screening --citizens {args.citizens} --districts {args.districts} "
        f"--capacity {args.capacity} --runs {args.runs}` ({dt.date.today()}, {platform.machine()}, "
        f"Python {platform.python_version()}; synthetic scored cohort, fake risks, no warehouse reads; "
        f"{args.districts * args.capacity} citizens listed).",
        "",
        "| step | median (s) |",
        "|---|---|",
        *[f"| {step} | {seconds:.3f} |" for step, seconds in medians.items()],
        f"| total | {sum(medians.values()):.3f} |",
        "",
        f"Peak RSS of the benchmark process: {peak_mib:.0f} MiB.",
    ]
    if not args.no_write:
        write_section(HEADING, lines)
        print(f"Wrote the '{HEADING}' section of {DOC}.")


if __name__ == "__main__":
    main()
