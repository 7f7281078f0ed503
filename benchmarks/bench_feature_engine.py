"""Issue 15's benchmark: Tidlig's numba engine beside its DuckDB engine, a plain DuckDB range-join plan,
timeseriesflattener 2.5.2 and the floor (reading every input column once), on the standard workload
(``benchmarks.feature_workload``: S = 60,000 persons x 12 monthly dates, L = 300,000 x 12, 56 features).

``python -m benchmarks.bench_feature_engine`` (``--persons 60000 --persons 300000 --repeats 3``; ``--only
numba`` to time one implementation; ``--default-set`` adds the platform's default feature set on the
60k benchmark warehouse of ``benchmarks.bench_features`` at 12 dates and at one date). Every run is its
own process, interleaved with the others so that load hits all alike; "wall" is the whole process (start,
imports, reading, computing, writing the result), "compute" the seconds inside it after the imports, peak
= the process's maximum resident memory. Every implementation's values are compared with the numba
engine's, cell by cell. timeseriesflattener runs in its own environment (benchmarks/.venv-tsflattener from
benchmarks/requirements-tsflattener.txt, created on first use), never in the project's lock.
The table goes to stdout and to the "Feature engine (issue 15)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECTION = "## Feature engine (issue 15)"
ROOT = Path(__file__).resolve().parents[1]
TSFLATTENER_VENV = ROOT / "benchmarks" / ".venv-tsflattener"
TSFLATTENER_REQUIREMENTS = ROOT / "benchmarks" / "requirements-tsflattener.txt"
IMPLEMENTATIONS = ("numba", "duckdb_engine", "range_join", "tsflattener", "floor")
LABELS = {
    "numba": "Tidlig numba engine (new default)",
    "duckdb_engine": "Tidlig DuckDB engine (reference, before)",
    "range_join": "DuckDB, one range join per source with FILTER aggregates",
    "tsflattener": "timeseriesflattener 2.5.2, `step_size` 30 days",
    "floor": "reading every input column once (the floor)",
}


# ----- workers: each runs in its own process ---------------------------------------------------------------


def _work_tidlig(persons: int, result: Path, engine: str) -> dict[str, float]:
    from benchmarks.feature_workload import PREDICTION_DATES, cohort, connect, workload_spec, world_folder
    from features import build_feature_table

    started = time.perf_counter()
    connection = connect(world_folder(persons))
    table = build_feature_table(
        connection, workload_spec(), PREDICTION_DATES, cohort=cohort(connection), engine=engine
    )
    seconds = time.perf_counter() - started
    table[["person_key", "prediction_date", *workload_spec().column_names()]].to_parquet(result)
    return {"seconds": seconds, "rows": len(table)}


def range_join_sql() -> str:
    """The plain plan: per source one range join of (person, date) with the events of the longest window
    before the date, every feature a FILTER aggregate; the three results joined on (person, date)."""
    from benchmarks.feature_workload import DIAGNOSIS_GROUPS, DRUG_GROUPS, PREDICTION_DATES, WINDOW_DAYS

    dates = ", ".join(f"(TIMESTAMP '{d}')" for d in PREDICTION_DATES)

    def within(days: int) -> str:
        return f"e.time >= g.t - to_days({days})"

    def per_source(name: str, table: str, code: str, aggregates: list[str]) -> str:
        extra = ", services" if name == "gp" else ""
        return f"""{name} AS (
    SELECT g.person_key, g.t, {", ".join(aggregates)}
    FROM grid AS g LEFT JOIN (SELECT person_key, _valid_time AS time, {code} AS code{extra}
                              FROM {table}) AS e
      ON e.person_key = g.person_key AND e.time < g.t AND e.time >= g.t - to_days(730)
    GROUP BY g.person_key, g.t)"""

    def counts(stem: str) -> list[str]:
        return [
            f"count(e.code) FILTER (WHERE {within(d)}) AS {stem}_count_0_to_{d}d, "
            f"count(DISTINCT e.code) FILTER (WHERE {within(d)}) AS {stem}_distinct_count_0_to_{d}d"
            for d in WINDOW_DAYS
        ]

    def groups(stem: str, names: tuple[str, ...]) -> list[str]:
        return [
            f"count(e.code) FILTER (WHERE starts_with(e.code, '{g}') AND {within(d)}) "
            f"AS {stem}_{g.lower()}_count_0_to_{d}d"
            for g in names
            for d in (365, 730)
        ]

    diagnoses = counts("diagnoses") + groups("diagnoses", (*DIAGNOSIS_GROUPS, "C"))
    drugs = counts("drugs") + groups("drugs", DRUG_GROUPS)
    gp = [
        f"count(e.time) FILTER (WHERE {within(d)}) AS gp_contacts_count_0_to_{d}d, "
        f"coalesce(sum(e.services) FILTER (WHERE {within(d)}), 0) AS gp_services_sum_0_to_{d}d"
        for d in WINDOW_DAYS
    ]
    return f"""
WITH grid AS (SELECT p.person_key, d.t FROM population AS p CROSS JOIN (VALUES {dates}) AS d(t)),
{per_source("dx", "hospital_diagnoses", "substr(diagnosis_code, 2)", diagnoses)},
{per_source("rx", "prescriptions", "atc", drugs)},
{per_source("gp", "gp_services", "specialty", gp)}
SELECT * FROM dx JOIN rx USING (person_key, t) JOIN gp USING (person_key, t)"""


def _work_range_join(persons: int, result: Path) -> dict[str, float]:
    from benchmarks.feature_workload import connect, world_folder

    started = time.perf_counter()
    connection = connect(world_folder(persons))
    table = connection.sql(range_join_sql()).df().rename(columns={"t": "prediction_date"})
    seconds = time.perf_counter() - started
    table.to_parquet(result)
    return {"seconds": seconds, "rows": len(table)}


def _work_floor(persons: int, result: Path) -> dict[str, float]:
    import pyarrow.parquet as pq

    from benchmarks.feature_workload import world_folder

    folder = world_folder(persons)
    started = time.perf_counter()
    rows = 0
    for table, columns in (
        ("hospital_diagnoses", ["person_key", "_valid_time", "diagnosis_code"]),
        ("prescriptions", ["person_key", "_valid_time", "atc"]),
        ("gp_services", ["person_key", "_valid_time", "services"]),
    ):
        rows += pq.read_table(folder / f"{table}.parquet", columns=columns).num_rows
    return {"seconds": time.perf_counter() - started, "rows": rows}


def _work_default_set(persons: int, dates: int) -> dict[str, float]:
    from benchmarks.bench_features import PREDICTION_DATES, build_warehouse
    from features import build_cohort, build_feature_table, default_feature_set

    connection = build_warehouse(persons)
    chosen = PREDICTION_DATES[:dates]
    started = time.perf_counter()
    members = build_cohort(connection, chosen).members
    cohort_seconds = time.perf_counter() - started
    table = build_feature_table(connection, default_feature_set(), chosen, cohort=members)
    return {
        "seconds": time.perf_counter() - started - cohort_seconds,
        "cohort_seconds": cohort_seconds,
        "rows": len(table),
        "columns": table.shape[1],
    }


# ----- the parent: runs, measures, compares, reports -------------------------------------------------------


def ensure_tsflattener() -> Path:
    """The Python of the benchmark-only timeseriesflattener environment, created on first use."""
    python = TSFLATTENER_VENV / "bin" / "python"
    if not python.exists():
        print(f"Creating {TSFLATTENER_VENV} from {TSFLATTENER_REQUIREMENTS.name} ...", flush=True)
        uv = Path(sys.executable).with_name("uv")
        subprocess.run([str(uv), "venv", "-q", "--python", "3.11", str(TSFLATTENER_VENV)], check=True)
        subprocess.run(
            [
                str(uv),
                "pip",
                "install",
                "-q",
                "--compile-bytecode",
                "--python",
                str(python),
                "-r",
                str(TSFLATTENER_REQUIREMENTS),
            ],
            check=True,
        )
    return python


def measure(command: list[str]) -> dict[str, float]:
    """Run one worker process; its wall time, peak resident memory and the JSON it prints last."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        return {"failed": 1.0, "wall": wall, "peak_gib": usage.ru_maxrss / 2**20}
    result = json.loads(output.strip().splitlines()[-1])
    return {**result, "wall": wall, "peak_gib": usage.ru_maxrss / 2**20}


def worker_command(implementation: str, persons: int, result: Path) -> list[str]:
    if implementation == "tsflattener":
        from benchmarks.feature_workload import world_folder

        return [str(ensure_tsflattener()), str(ROOT / "benchmarks" / "tsflattener_worker.py"),
                str(world_folder(persons)), str(result)]  # fmt: skip
    return [sys.executable, "-m", "benchmarks.bench_feature_engine", "--worker", implementation,
            "--persons", str(persons), "--result", str(result)]  # fmt: skip


def tsflattener_names() -> dict[str, str]:
    from benchmarks.feature_workload import DIAGNOSIS_GROUPS, DRUG_GROUPS, WINDOW_DAYS

    names = {"entity_id": "person_key", "pred_timestamp": "prediction_date"}
    for d in WINDOW_DAYS:
        stem = f"within_0_to_{d}_days"
        names[f"pred_icd10_{stem}_count_fallback_0"] = f"diagnoses_count_0_to_{d}d"
        names[f"pred_icd10_{stem}_distinct_fallback_0"] = f"diagnoses_distinct_count_0_to_{d}d"
        names[f"pred_atc_{stem}_count_fallback_0"] = f"drugs_count_0_to_{d}d"
        names[f"pred_atc_{stem}_distinct_fallback_0"] = f"drugs_distinct_count_0_to_{d}d"
        names[f"pred_contact_{stem}_count_fallback_0"] = f"gp_contacts_count_0_to_{d}d"
        names[f"pred_services_{stem}_sum_fallback_0"] = f"gp_services_sum_0_to_{d}d"
        for group in (*DIAGNOSIS_GROUPS, "C"):
            names[f"pred_dx_{group}_{stem}_count_fallback_0"] = f"diagnoses_{group.lower()}_count_0_to_{d}d"
        for group in DRUG_GROUPS:
            names[f"pred_rx_{group}_{stem}_count_fallback_0"] = f"drugs_{group.lower()}_count_0_to_{d}d"
    return names


def compare(reference: Path, other: Path, implementation: str) -> str:
    """'identical' or what differs: every one of the 56 columns, every (person, date) row."""
    import numpy as np
    import pandas as pd

    from benchmarks.feature_workload import workload_spec

    columns = list(workload_spec().column_names())
    expected = pd.read_parquet(reference)
    actual = pd.read_parquet(other)
    if implementation == "tsflattener":
        actual = actual.rename(columns=tsflattener_names())
    for frame in (expected, actual):
        frame["prediction_date"] = pd.to_datetime(frame["prediction_date"]).astype("datetime64[us]")
    merged = expected.merge(
        actual, on=["person_key", "prediction_date"], how="outer", suffixes=("", "_other")
    )
    if len(merged) != len(expected) or len(merged) != len(actual):
        return f"rows differ ({len(expected):,} vs {len(actual):,})"
    missing = [c for c in columns if f"{c}_other" not in merged]
    if missing:
        return f"columns missing: {', '.join(missing[:3])}"
    different = [
        c
        for c in columns
        if not np.array_equal(merged[c].to_numpy(dtype=float), merged[f"{c}_other"].to_numpy(dtype=float))
    ]
    return "identical (56 columns)" if not different else f"{len(different)} columns differ: {different[:3]}"


def main() -> None:  # noqa: PLR0912, PLR0915 (one plain report)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, action="append", help="Persons (repeatable) [60000].")
    parser.add_argument("--repeats", type=int, default=3, help="Interleaved runs of each; medians reported.")
    parser.add_argument("--only", choices=IMPLEMENTATIONS, action="append", help="Run only these.")
    parser.add_argument("--slow-repeats", type=int, default=1, help="Runs of DuckDB engine and tsflattener.")
    parser.add_argument("--default-set", action="store_true", help="Also the default feature set at 60k.")
    parser.add_argument("--no-write", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
    parser.add_argument("--worker", choices=[*IMPLEMENTATIONS, "default_set"], help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dates", type=int, default=12, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        persons = arguments.persons[0]
        work = {
            "numba": lambda: _work_tidlig(persons, arguments.result, "numba"),
            "duckdb_engine": lambda: _work_tidlig(persons, arguments.result, "duckdb"),
            "range_join": lambda: _work_range_join(persons, arguments.result),
            "floor": lambda: _work_floor(persons, arguments.result),
            "default_set": lambda: _work_default_set(persons, arguments.dates),
        }[arguments.worker]
        print(json.dumps(work()))
        return
    from benchmarks.feature_workload import world_folder

    implementations = arguments.only or list(IMPLEMENTATIONS)
    lines = [
        "`python -m benchmarks.bench_feature_engine` — issue 15's standard workload "
        "(`benchmarks/feature_workload.py`: persons 65-104, gamma frailty, six years of diagnoses ~10, "
        "prescriptions ~40 and GP contacts ~12 per person-year, 12 monthly prediction dates in 2024, "
        "56 features). Wall = the whole process (interpreter start, imports, reading the Parquet "
        "warehouse, computing, writing the result); compute = inside the process after imports; "
        "peak = the process's maximum resident memory. Runs interleaved; medians.",
        "",
        "| persons | implementation | wall s (median) | runs s | compute s | peak GiB | vs numba | values |",
        "|---|---|---|---|---|---|---|---|",
    ]
    loads = [os.getloadavg()[0]]
    for persons in arguments.persons or [60000]:
        print(f"World of {persons:,} persons: {world_folder(persons)}", flush=True)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in implementations}
        with tempfile.TemporaryDirectory(prefix="tidlig-bench-") as scratch:
            results = {name: Path(scratch) / f"{name}.parquet" for name in implementations}
            if "numba" in implementations:  # compile (or load) the kernels once before timing
                measure(worker_command("numba", persons, results["numba"]))
            for repeat in range(arguments.repeats):
                for name in implementations:
                    slow = name in ("duckdb_engine", "tsflattener")
                    if slow and repeat >= arguments.slow_repeats:
                        continue
                    run = measure(worker_command(name, persons, results[name]))
                    loads.append(os.getloadavg()[0])
                    runs[name].append(run)
                    print(f"  {name}: {run}", flush=True)
            verdicts = {}
            for name in implementations:
                if name in ("numba", "floor") or not results[name].exists() or "numba" not in implementations:
                    continue
                verdicts[name] = compare(results["numba"], results[name], name)
        numba_wall = statistics.median(r["wall"] for r in runs["numba"]) if runs.get("numba") else None
        for name in implementations:
            done = [r for r in runs[name] if "failed" not in r]
            if not done:
                lines.append(f"| {persons:,} | {LABELS[name]} | failed | | | | | |")
                continue
            wall = statistics.median(r["wall"] for r in done)
            ratio = "1" if name == "numba" else (f"{wall / numba_wall:.1f}x slower" if numba_wall else "")
            if name == "floor" and numba_wall:
                ratio = f"{numba_wall / wall:.1f}x faster than numba"
            walls = ", ".join(f"{r['wall']:.2f}" for r in done)
            lines.append(
                f"| {persons:,} | {LABELS[name]} | {wall:.2f} | {walls} | "
                f"{statistics.median(r['seconds'] for r in done):.2f} | "
                f"{max(r['peak_gib'] for r in done):.2f} | "
                f"{ratio} | {'reference' if name == 'numba' else verdicts.get(name, '')} |"
            )
            print(lines[-1], flush=True)
    if arguments.default_set:
        lines += [
            "",
            "Default feature set (`features.default_feature_set()`, 236 columns) on the 60k benchmark "
            "warehouse of `benchmarks/bench_features.py` (generation not timed), numba engine:",
            "",
            "| dates | rows x columns | features s (median) | runs s | cohort s | peak GiB |",
            "|---|---|---|---|---|---|",
        ]
        for dates in (12, 1):
            command = [sys.executable, "-m", "benchmarks.bench_feature_engine", "--worker", "default_set",
                       "--persons", "60000", "--dates", str(dates)]  # fmt: skip
            done = [measure(command) for _ in range(arguments.repeats)]
            done = [r for r in done if "failed" not in r]
            loads.append(os.getloadavg()[0])
            if not done:
                lines.append(f"| {dates} | failed | | | | |")
                continue
            seconds = ", ".join(f"{r['seconds']:.2f}" for r in done)
            lines.append(
                f"| {dates} | {int(done[0]['rows']):,} x {int(done[0]['columns'])} | "
                f"{statistics.median(r['seconds'] for r in done):.2f} | "
                f"{seconds} | "
                f"{statistics.median(r['cohort_seconds'] for r in done):.2f} | "
                f"{max(r['peak_gib'] for r in done):.2f} |"
            )
            print(lines[-1], flush=True)
    lines += [
        "",
        f"Machine: {os.cpu_count()} cores, shared with other work; 1-minute load average "
        f"{min(loads):.1f}-{max(loads):.1f} during the runs (median {statistics.median(loads):.1f}); "
        f"measured {time.strftime('%Y-%m-%d %H:%M')} UTC. Rerun on a quiet machine for cleaner numbers.",
    ]
    if not arguments.no_write:
        from benchmarks.report import write_section

        write_section(SECTION, lines)


if __name__ == "__main__":
    main()
