"""Benchmark of the feature engine: 60k and 300k citizens x 12 monthly prediction dates, default feature set.

Run ``python -m benchmarks.bench_features`` (``--citizens 60000 --citizens 300000 --repeats 3``). Each
measurement runs in its own subprocess so its peak resident memory (``ru_maxrss``) is its own. The
warehouse is generated in DuckDB with per-citizen yearly row rates taken from a demo world (``tidlig synth
--citizens 3000``; rates in ``ROWS_PER_CITIZEN_YEAR``), five years of history, 30-day delivery delays and
1% corrections. Next to the engine, a straightforward pandas implementation of the same feature set runs
in the same process tree: it starts from the same prepared row versions (phase 1 of the engine, with the
same filter flags) and does the point-in-time join and every aggregation with ``merge`` + ``groupby``.
Results (median of repeats, peak memory) go to stdout and to the "Features" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from benchmarks.report import write_section

ROWS_PER_CITIZEN_YEAR = {
    "prescriptions": 8.6,
    "gp_services": 6.2,
    "hospital_contacts": 1.1,
    "hospital_diagnoses": 1.0,
    "fsiii_functional_ability": 2.6,
    "fsiii_health_conditions": 0.07,
    "home_care": 1.2,
    "home_nursing_visits": 1.7,
    "early_detection_observations": 1.1,
    "weights": 0.5,
    "falls": 0.04,
    "preventive_visits": 0.12,
}
YEARS = 5
FIRST_DATE = pd.Timestamp("2019-01-01")
PREDICTION_DATES = [pd.Timestamp("2023-01-01") + pd.DateOffset(months=m) for m in range(12)]
SECTION = "## Features (issue 4)"
LARGE_CITIZENS = 100_000


def _events(connection: duckdb.DuckDBPyConnection, table: str, citizens: int, columns: str) -> None:
    """A table with ``rate * years * citizens`` rows, random persons and times, and bitemporal columns."""
    rows = int(ROWS_PER_CITIZEN_YEAR[table] * YEARS * citizens)
    connection.execute(
        f"""
        CREATE TABLE {table} AS
        WITH base AS (
            SELECT range AS row_number,
                   'p' || CAST(floor(random() * {citizens}) AS BIGINT) AS person_key,
                   TIMESTAMP '{FIRST_DATE}' + to_seconds(CAST(random() * {YEARS * 365 * 86400} AS BIGINT))
                       AS _valid_time
            FROM range({rows})
        ), shaped AS (
            SELECT *, _valid_time + to_days(CAST(10 + random() * 40 AS INTEGER)) AS _delivered_at,
                   '{table}-' || CAST(row_number AS VARCHAR) AS _record_key, {columns}
            FROM base
        )
        SELECT * EXCLUDE (row_number), _delivered_at AS _ingested_at, 'b1' AS _batch_id FROM shaped
        UNION ALL  -- 1% corrections, delivered 60 days later
        SELECT * EXCLUDE (row_number) REPLACE (_delivered_at + to_days(60) AS _delivered_at),
               _delivered_at + to_days(60) AS _ingested_at, 'b2' AS _batch_id
        FROM shaped WHERE row_number % 100 = 0
        """
    )


def build_warehouse(citizens: int, seed: float = 0.42) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB warehouse with the interface columns of every table the features read."""
    connection = duckdb.connect()
    connection.execute(f"SELECT setseed({seed})")
    connection.execute(
        f"""
        CREATE TABLE population AS
        SELECT 'p' || CAST(range AS VARCHAR) AS person_key,
               DATE '1925-01-01' + CAST(random() * 365 * 35 AS INTEGER) AS birth_date,
               CASE WHEN random() < 0.55 THEN 'F' ELSE 'M' END AS sex, '01' AS status,
               '101' AS municipality, '101-0' || CAST(range % 8 AS VARCHAR) AS district, 'G' AS civil_status,
               CASE WHEN random() < 0.4 THEN 1 ELSE 2 END AS household_size,
               TIMESTAMP '2000-01-01' AS spell_start, CAST(NULL AS TIMESTAMP) AS spell_end,
               TIMESTAMP '2000-01-01' AS _valid_time, TIMESTAMP '2018-12-01' AS _delivered_at,
               'pop-' || CAST(range AS VARCHAR) AS _record_key, TIMESTAMP '2018-12-01' AS _ingested_at,
               'b0' AS _batch_id
        FROM range({citizens})
        """
    )
    for table in ("deaths", "nursing_home_stays"):
        connection.execute(
            f"""CREATE TABLE {table} AS SELECT 'nobody' AS person_key, TIMESTAMP '2000-01-01' AS _valid_time,
            TIMESTAMP '2000-01-01' AS _delivered_at, 'x' AS _record_key,
            TIMESTAMP '2000-01-01' AS _ingested_at,
            'b0' AS _batch_id WHERE FALSE"""
        )
    atc = str(["N05BA01", "N06AB04", "C03CA01", "A02BC01", "B01AC06", "C07AB02", "C09AA05", "N02AA01"])
    sks = "['DI500','DJ441','DE119','DF039','DI639','DC509','DS720','DF050','DN390','DI489','DE86','DR296']"
    _events(
        connection,
        "prescriptions",
        citizens,
        f"list_element({atc}, 1 + CAST(random() * 8 AS INTEGER) % 8) AS atc, '000001' AS product_number, "
        "1.0 AS packages, CAST(random() * 100 AS DOUBLE) AS ddd",
    )
    _events(
        connection,
        "gp_services",
        citizens,
        "'801000' AS specialty, CAST(1 + random() * 2 AS INTEGER) AS services, "
        "CASE WHEN random() < 0.1 THEN 'aften' ELSE 'dag' END AS time_of_day",
    )
    _events(
        connection,
        "hospital_contacts",
        citizens,
        "'c' || CAST(row_number AS VARCHAR) AS contact_id, _valid_time AS contact_start, "
        "_valid_time + to_hours(CAST(random() * 120 AS INTEGER)) AS contact_end, "
        "CASE WHEN random() < 0.85 THEN 'physical' ELSE 'virtual' END AS contact_type, "
        "CASE WHEN random() < 0.4 THEN 'acute' ELSE 'planned' END AS priority, "
        f"list_element({sks}, 1 + CAST(random() * 12 AS INTEGER) % 12) AS action_diagnosis, "
        "'LPR3' AS lpr_version",
    )
    _events(
        connection,
        "hospital_diagnoses",
        citizens,
        "'c' || CAST(row_number AS VARCHAR) AS contact_id, "
        f"list_element({sks}, 1 + CAST(random() * 12 AS INTEGER) % 12) AS diagnosis_code, "
        "CASE WHEN random() < 0.5 THEN 'A' ELSE 'B' END AS diagnosis_type, FALSE AS retracted",
    )
    _events(
        connection,
        "fsiii_functional_ability",
        citizens,
        "'J' || CAST(1 + CAST(random() * 5 AS INTEGER) % 5 AS VARCHAR) || '.1' AS code, "
        "CAST(NULL AS VARCHAR) "
        "AS domain, CAST(random() * 4.99 AS INTEGER) AS score",
    )
    _events(
        connection,
        "fsiii_health_conditions",
        citizens,
        "'I' || CAST(1 + CAST(random() * 12 AS INTEGER) % 12 AS VARCHAR) AS code, "
        "CAST(NULL AS VARCHAR) AS area, "
        "'active' AS status",
    )
    _events(
        connection,
        "home_care",
        citizens,
        "CAST(random() * 300 AS INTEGER) AS personal_care_granted, CAST(random() * 100 AS INTEGER) "
        "AS practical_help_granted, CAST(random() * 300 AS INTEGER) AS personal_care_delivered, "
        "CAST(random() * 100 AS INTEGER) AS practical_help_delivered, 'municipal' AS provider_type",
    )
    _events(connection, "home_nursing_visits", citizens, "1 AS visit")
    _events(connection, "falls", citizens, "random() < 0.4 AS injury")
    _events(connection, "weights", citizens, "50 + random() * 50 AS weight_kg")
    _events(
        connection,
        "preventive_visits",
        citizens,
        "CASE WHEN random() < 0.7 THEN 'held' ELSE 'declined' END AS outcome",
    )
    _events(
        connection,
        "early_detection_observations",
        citizens,
        "'tobs' AS tool, CASE WHEN random() < 0.1 THEN 'red' WHEN random() < 0.3 THEN 'yellow' ELSE 'green' "
        "END AS triage_colour",
    )
    return connection


# ----- the two implementations measured -------------------------------------------------------------------


def run_engine(citizens: int, dates_per_chunk: int = 12) -> dict[str, float]:
    """The DuckDB engine on the default feature set; seconds exclude generating the warehouse."""
    from features import build_cohort, build_feature_table, default_feature_set

    connection = build_warehouse(citizens)
    started = time.perf_counter()
    cohort = build_cohort(connection, PREDICTION_DATES).members
    table = build_feature_table(
        connection, default_feature_set(), PREDICTION_DATES, cohort=cohort, dates_per_chunk=dates_per_chunk
    )
    return {"seconds": time.perf_counter() - started, "rows": len(table), "columns": table.shape[1]}


def _pandas_aggregate(  # noqa: PLR0911 (one plain branch per aggregation)
    rows: pd.DataFrame, aggregation: str, value: str | None
) -> pd.Series:
    groups = rows.groupby("row_id")
    if aggregation == "count":
        return groups.size().astype("float64")
    if aggregation == "days_since_last":
        return groups["before_days"].min()
    if aggregation == "distinct_count":
        return groups[value].nunique().astype("float64")
    with_value = rows.dropna(subset=[value])
    groups = with_value.groupby("row_id")
    if aggregation == "sum":
        return groups[value].sum()
    if aggregation in ("mean", "min", "max"):
        return getattr(groups[value], aggregation)()
    if aggregation == "latest":
        return with_value.sort_values(["event_time", value]).groupby("row_id")[value].last()
    x = -with_value["before_days"]
    stats = (
        pd.DataFrame(
            {
                "row_id": with_value["row_id"],
                "n": 1.0,
                "x": x,
                "y": with_value[value],
                "xy": x * with_value[value],
                "xx": x * x,
            }
        )
        .groupby("row_id")
        .sum()
    )
    variance = stats["xx"] - stats["x"] ** 2 / stats["n"]
    slope = (stats["xy"] - stats["x"] * stats["y"] / stats["n"]) / variance.where(variance > 1e-9)
    return 30 * slope


def run_pandas(citizens: int) -> dict[str, float]:
    """The same features with pandas merge + groupby, from the engine's prepared row versions."""
    connection = build_warehouse(citizens)
    started = time.perf_counter()
    table = pandas_feature_table(connection)
    return {"seconds": time.perf_counter() - started, "rows": len(table), "columns": table.shape[1]}


def pandas_feature_table(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:  # noqa: PLR0912, PLR0915
    """The default feature set with pandas merge + groupby (straightforward on purpose)."""
    from features import build_cohort, default_feature_set
    from features.charlson import CHARLSON_CODES, CHARLSON_HIERARCHY, CHARLSON_WEIGHTS
    from features.engine import _plan, _source_rows, apply_derived_features
    from features.hfrs import HFRS_WEIGHTS
    from features.known_rows import existing_relations

    spec = default_feature_set()
    cohort = build_cohort(connection, PREDICTION_DATES).members.reset_index(drop=True)
    keys = cohort[["person_key", "prediction_date"]].assign(row_id=np.arange(len(cohort)))
    keys["prediction_date"] = keys["prediction_date"].astype("datetime64[us]")
    out: dict[str, np.ndarray] = {}
    plans = _plan(spec)
    available = existing_relations(connection)
    with _source_rows(
        connection,
        plans,
        available=available,
        mode="as_known",
        first_date=PREDICTION_DATES[0],
        last_date=PREDICTION_DATES[-1],
    ) as tables:
        for name, plan in plans.items():
            rows = connection.execute(f"SELECT * FROM {tables[name]}").df()
            merged = rows.merge(keys, on="person_key")
            t = merged["prediction_date"]
            known = (merged["_delivered_at"] <= t) & (
                merged["_superseded_at"].isna() | (merged["_superseded_at"] > t)
            )
            in_range = (merged["event_time"] < t) & (
                merged["event_time"] >= t - pd.Timedelta(days=plan.lookback_days)
            )
            merged = merged[known & in_range].copy()
            merged["before_days"] = (
                merged["prediction_date"] - merged["event_time"]
            ).dt.total_seconds() / 86400
            if "contact_end" in merged:
                end = (
                    merged["contact_end"]
                    .fillna(merged["prediction_date"])
                    .clip(upper=merged["prediction_date"])
                )
                hours = (end - merged["event_time"]).dt.total_seconds() / 3600
                midnight = end.dt.normalize() > merged["event_time"].dt.normalize()
                merged["bed_days"] = (end.dt.normalize() - merged["event_time"].dt.normalize()).dt.days.clip(
                    lower=0
                )
                merged["is_unplanned_admission"] = (
                    (merged["priority"] == "acute")
                    & (merged["contact_type"] == "physical")
                    & (midnight | (hours >= 12))
                )
                if plan.source.t_where:
                    merged = merged[merged["is_unplanned_admission"]]
            exploded = merged.explode("_flags")
            for feature in plan.features:
                subset = exploded[exploded["_flags"] == plan.flags.number(feature.row_filter)]
                for window, column in zip(feature.windows, feature.column_names(), strict=True):
                    inside = subset[
                        (subset["before_days"] > window.start_days)
                        & (subset["before_days"] <= window.end_days)
                    ]
                    values = _pandas_aggregate(inside, feature.aggregation, feature.value)
                    filled = values.reindex(keys["row_id"])
                    if feature.default_fallback is not None:
                        filled = filled.fillna(feature.default_fallback)
                    out[column] = filled.to_numpy(dtype="float64")
            for _, score in plan.scores:
                window = score.window
                inside = merged[merged["before_days"] <= window.end_days]
                column = score.column_names()[0]
                if score.score == "hfrs":
                    found = inside.assign(category=inside["icd10_code"].str[:3])[
                        ["row_id", "category"]
                    ].drop_duplicates()
                    found["weight"] = found["category"].map(HFRS_WEIGHTS)
                    values = found.groupby("row_id")["weight"].sum().round(1)
                else:
                    conditions = []
                    for condition, prefixes in CHARLSON_CODES.items():
                        hit = inside["icd10_code"].str.startswith(prefixes)
                        conditions.append(inside.loc[hit, ["row_id"]].assign(condition=condition))
                    found = pd.concat(conditions).drop_duplicates()
                    present = pd.crosstab(found["row_id"], found["condition"]).gt(0)
                    for condition in CHARLSON_WEIGHTS:
                        if condition not in present:
                            present[condition] = False
                    for milder, severe in CHARLSON_HIERARCHY.items():
                        present[milder] &= ~present[severe]
                    values = sum(present[c].astype(float) * w for c, w in CHARLSON_WEIGHTS.items())
                out[column] = values.reindex(keys["row_id"]).fillna(0.0).to_numpy()
    table = pd.concat([cohort, pd.DataFrame(out, index=cohort.index)], axis=1)
    return apply_derived_features(table, spec)


# ----- measuring and reporting ----------------------------------------------------------------------------


def measure(implementation: str, citizens: int, dates_per_chunk: int = 12) -> dict[str, float]:
    """Run one implementation in a subprocess; its time plus its own peak resident memory."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_features",
        "--worker",
        implementation,
        "--citizens",
        str(citizens),
        "--dates-per-chunk",
        str(dates_per_chunk),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path.cwd())}
    )
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        return {"failed": 1.0, "peak_gib": usage.ru_maxrss / 2**20}
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_gib"] = usage.ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # whole process, warehouse generation included
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--citizens", type=int, action="append", help="Citizens (repeatable) [60000, 300000]."
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="Runs per measurement; the median is reported."
    )
    parser.add_argument("--pandas-repeats", type=int, default=1, help="Runs of the pandas baseline.")
    parser.add_argument(
        "--large-repeats", type=int, default=1, help=f"Runs above {LARGE_CITIZENS:,} citizens."
    )
    parser.add_argument("--pandas-max-citizens", type=int, default=60000, help="Skip pandas above this size.")
    parser.add_argument("--dates-per-chunk", type=int, default=12, help="Engine: dates per DuckDB query.")
    parser.add_argument("--worker", choices=["engine", "pandas"], help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
    arguments = parser.parse_args()
    if arguments.worker:
        citizens = arguments.citizens[0]
        if arguments.worker == "engine":
            print(json.dumps(run_engine(citizens, arguments.dates_per_chunk)))
        else:
            print(json.dumps(run_pandas(citizens)))
        return
    lines = [
        "`python -m benchmarks.bench_features` — default feature set (226 features + 3 demographic), "
        "12 monthly prediction dates, as known at each date; synthetic warehouse with per-citizen row "
        "rates of a demo world "
        f"({', '.join(f'{k} {v}/yr' for k, v in ROWS_PER_CITIZEN_YEAR.items())}), 5 years, 1% corrections. "
        "Median of runs; peak = the process's maximum resident memory. pandas = merge + groupby of the same "
        "features from the same prepared row versions.",
        "",
        "| citizens | rows x columns | implementation | median s | runs s | process CPU s | peak GiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for citizens in arguments.citizens or [60000, 300000]:
        for implementation in ("engine", "pandas"):
            if implementation == "pandas" and citizens > arguments.pandas_max_citizens:
                lines.append(f"| {citizens:,} | | pandas | not run (above --pandas-max-citizens) | | | |")
                continue
            repeats = arguments.pandas_repeats if implementation == "pandas" else arguments.repeats
            if citizens > LARGE_CITIZENS:
                repeats = min(repeats, arguments.large_repeats)
            runs = [measure(implementation, citizens, arguments.dates_per_chunk) for _ in range(repeats)]
            if any("failed" in run for run in runs):
                lines.append(
                    f"| {citizens:,} | | {implementation} | failed | | | "
                    f"{max(r['peak_gib'] for r in runs):.1f} |"
                )
                print(lines[-1], flush=True)
                continue
            seconds = [run["seconds"] for run in runs]
            shape = f"{int(runs[0]['rows']):,} x {int(runs[0]['columns'])}"
            lines.append(
                f"| {citizens:,} | {shape} | {implementation} | {statistics.median(seconds):.1f} | "
                f"{', '.join(f'{s:.1f}' for s in seconds)} | "
                f"{statistics.median(r['cpu_seconds'] for r in runs):.0f} | "
                f"{max(r['peak_gib'] for r in runs):.1f} |"
            )
            print(lines[-1], flush=True)
    lines.append("")
    load = os.getloadavg()[0]
    lines.append(
        f"Machine: {os.cpu_count()} cores, 1-minute load average {load:.1f} at the end (shared with other "
        f"work); measured {time.strftime('%Y-%m-%d')}. Wall times grow with the load; "
        "process CPU seconds much less so."
    )
    if not arguments.no_write:
        write_section(SECTION, lines)


if __name__ == "__main__":
    main()
