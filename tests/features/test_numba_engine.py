"""The numba engine gives the DuckDB reference engine's values on generated warehouses.

Warehouses are drawn by hypothesis: a few persons, every source the default feature set reads, rows with
corrections (a later version of the same record), retractions, late deliveries, rows of persons outside
the cohort, rows exactly on window edges and on the prediction date, persons without rows and empty
sources. Counts, distinct counts, minima, maxima, latest values, days since last and the clinical scores
must be equal; sums and means of non-integral values, slopes and decayed counts may differ in the last bits
(floating-point summation order: DuckDB's own sums differ between runs in the same way), so they are
compared to 1e-9.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import (
    DerivedFeatureSpec,
    FeatureSetSpec,
    FeatureSpec,
    RowFilter,
    ScoreFeatureSpec,
    Window,
    build_feature_table,
    default_feature_set,
)
from features.numba_engine import numba_cache_folder
from tests.features.conftest import frame_from_csv, register_tables

DATES = [pd.Timestamp("2023-01-01"), pd.Timestamp("2023-04-01"), pd.Timestamp("2023-07-01")]
PERSONS = ("a", "b", "c", "d")  # d has no population row: its events must never show up
POPULATION = frame_from_csv(
    """
    person_key,birth_date,sex,status,municipality,district,civil_status,household_size,spell_start,spell_end
    a,1940-01-01,F,01,101,101-01,E,1,1990-01-01,
    b,1945-06-15,M,01,101,101-02,G,2,1990-01-01,
    c,1950-12-31,F,01,751,751-01,U,1,1990-01-01,
    """
)
EDGE_DAYS = (0, 1, 30, 89, 90, 180, 365, 366, 730, 1825)
ICD10 = ("DI500", "DJ441", "DE119", "DE112", "DF039", "DI639", "DC509", "DC787", "DS720", "DF050", "DN390")
ATC = ("N05BA01", "N06AB04", "C03CA01", "A02BC01", "B01AC06", "J01CA04", "A10AB01", "R03AC02")

PAYLOADS = {
    "hospital_contacts": st.fixed_dictionaries(
        {
            "contact_hours": st.one_of(st.none(), st.sampled_from([1, 11, 12, 30, 200, 2000])),
            "contact_type": st.sampled_from(["physical", "virtual"]),
            "priority": st.sampled_from(["acute", "planned"]),
            "lpr_version": st.sampled_from(["LPR3", "LPR3", "LPR2"]),
            "action_diagnosis": st.one_of(st.none(), st.sampled_from(ICD10)),
        }
    ),
    "hospital_diagnoses": st.fixed_dictionaries(
        {
            "diagnosis_code": st.one_of(st.none(), st.sampled_from(ICD10)),
            "diagnosis_type": st.sampled_from(["A", "B"]),
            "retracted": st.sampled_from([False, False, True]),
        }
    ),
    "prescriptions": st.fixed_dictionaries(
        {
            "atc": st.sampled_from(ATC),
            "ddd": st.one_of(st.none(), st.sampled_from([1.0, 2.5, 0.1, 0.2, 30.0, 0.7])),
            "packages": st.sampled_from([1.0, 2.0]),
        }
    ),
    "gp_services": st.fixed_dictionaries(
        {
            "specialty": st.sampled_from(["801000", "801000", "550000"]),
            "services": st.integers(1, 3),
            "time_of_day": st.sampled_from(["dag", "aften"]),
        }
    ),
    "fsiii_functional_ability": st.fixed_dictionaries(
        {"code": st.sampled_from(["J1.1", "J2.3", "J5.1"]), "domain": st.none(), "score": st.integers(0, 9)}
    ),
    "fsiii_health_conditions": st.fixed_dictionaries(
        {
            "code": st.sampled_from(["I1", "I2.1", "I12"]),
            "area": st.none(),
            "status": st.sampled_from(["active", "inactive", "entered-in-error"]),
        }
    ),
    "home_care": st.fixed_dictionaries(
        {
            "personal_care_granted": st.one_of(st.none(), st.integers(0, 300)),
            "practical_help_granted": st.one_of(st.none(), st.integers(0, 90)),
            "personal_care_delivered": st.integers(0, 300),
            "practical_help_delivered": st.integers(0, 90),
            "provider_type": st.sampled_from(["municipal", "private"]),
        }
    ),
    "home_nursing_visits": st.just({}),
    "falls": st.fixed_dictionaries({"injury": st.booleans()}),
    "weights": st.fixed_dictionaries({"weight_kg": st.sampled_from([55.5, 60.0, 71.3, 80.1])}),
    "preventive_visits": st.fixed_dictionaries({"outcome": st.sampled_from(["held", "declined"])}),
    "early_detection_observations": st.fixed_dictionaries(
        {"tool": st.just("tobs"), "triage_colour": st.sampled_from(["green", "yellow", "red"])}
    ),
}
TEXT_COLUMNS = {"action_diagnosis", "diagnosis_code", "domain", "area", "atc", "code"}
VALID_TIME = {
    "hospital_contacts": "contact_start",
    "hospital_diagnoses": "contact_start",
    "prescriptions": "dispensing_date",
    "gp_services": "service_date",
    "fsiii_functional_ability": "assessed_date",
    "fsiii_health_conditions": "recorded_date",
    "home_care": "month",
    "home_nursing_visits": "visit_date",
    "falls": "fall_date",
    "weights": "measured_date",
    "preventive_visits": "visit_date",
    "early_detection_observations": "observed_at",
}


@st.composite
def event_rows(draw: st.DrawFn, table: str) -> list[dict[str, object]]:
    """Versions of a few records of one table: each record has a first version and maybe corrections."""
    rows: list[dict[str, object]] = []
    for record in range(draw(st.integers(0, 7))):
        person = draw(st.sampled_from(PERSONS))
        date = draw(st.sampled_from(DATES))
        days = draw(st.one_of(st.sampled_from(EDGE_DAYS), st.integers(-40, 1900)))
        hour = draw(st.sampled_from([0, 0, 7, 23]))
        valid = date - pd.Timedelta(days=days) + pd.Timedelta(hours=hour)
        delivered = valid
        for version in range(draw(st.integers(1, 3))):
            delivered = delivered + pd.Timedelta(days=draw(st.sampled_from([0, 1, 20, 95, 400])))
            payload = dict(draw(PAYLOADS[table]))
            rows.append(
                {
                    "person_key": person,
                    VALID_TIME[table]: valid,
                    "_record_key": f"{table}-{record}",
                    "_valid_time": valid,
                    "_delivered_at": delivered,
                    "_ingested_at": delivered + pd.Timedelta(seconds=version),
                    **payload,
                }
            )
    return rows


def table_frame(table: str, rows: list[dict[str, object]]) -> pd.DataFrame | None:
    if not rows:
        return None  # an empty source: the table is missing from the warehouse
    frame = pd.DataFrame(rows)
    if table == "hospital_contacts":
        hours = frame.pop("contact_hours")
        frame["contact_end"] = [
            start + pd.Timedelta(hours=h) if h is not None and not pd.isna(h) else pd.NaT
            for start, h in zip(frame["contact_start"], hours, strict=True)
        ]
        frame["contact_id"] = frame["_record_key"]
    if table == "hospital_diagnoses":
        frame["contact_id"] = frame["_record_key"]
    for column in frame.columns:
        if frame[column].dtype == object and frame[column].isna().all():  # typed like the warehouse
            frame[column] = frame[column].astype("string" if column in TEXT_COLUMNS else "float64")
    return frame


@st.composite
def warehouses(draw: st.DrawFn) -> dict[str, list[dict[str, object]]]:
    """The drawn row versions per table; :func:`as_tables` turns them into frames outside the strategy
    (building frames while drawing touched global random state, which Hypothesis flags as flaky)."""
    return {table: draw(event_rows(table)) for table in PAYLOADS}


def as_tables(drawn: dict[str, list[dict[str, object]]]) -> dict[str, pd.DataFrame]:
    tables = {"population": POPULATION}
    for table, rows in drawn.items():
        frame = table_frame(table, rows)
        if frame is not None:
            tables[table] = frame
    return tables


def both_engines(tables: dict[str, pd.DataFrame], spec: FeatureSetSpec, mode: str):
    connection = duckdb.connect()
    try:
        register_tables(connection, tables)
        fast = build_feature_table(connection, spec, DATES, mode, engine="numba")
        reference = build_feature_table(connection, spec, DATES, mode, engine="duckdb")
    finally:
        connection.close()
    return fast, reference


def floating_columns(spec: FeatureSetSpec) -> set[str]:
    """Columns whose value is a floating-point sum (summation order may change the last bits)."""
    columns: set[str] = set()
    for feature in spec.features:
        floating = ("sum", "mean", "slope", "decayed_count")
        if isinstance(feature, FeatureSpec) and feature.aggregation in floating:
            columns.update(feature.column_names())
        if isinstance(feature, DerivedFeatureSpec) and columns.intersection(feature.inputs):
            columns.update(feature.column_names())
    return columns


def assert_same_values(fast: pd.DataFrame, reference: pd.DataFrame, spec: FeatureSetSpec) -> None:
    assert list(fast.columns) == list(reference.columns)
    pd.testing.assert_frame_equal(
        fast.drop(columns=list(spec.column_names())), reference.drop(columns=list(spec.column_names()))
    )
    floating = floating_columns(spec)
    for column in spec.column_names():
        actual, expected = fast[column].to_numpy(), reference[column].to_numpy()
        if column in floating:
            np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9, err_msg=column)
        else:
            np.testing.assert_array_equal(actual, expected, err_msg=column)


def every_aggregation_spec() -> FeatureSetSpec:
    """Every aggregation, interval windows, filters of every kind, fallbacks, scores and derived columns."""
    windows = (Window(0, 30), Window(0, 90), Window(30, 400), Window(365, 730))
    features: list = [
        FeatureSpec("rx", "prescriptions", "count", windows),
        FeatureSpec("rx", "prescriptions", "days_since_last", windows, fallback=-1.0),
        FeatureSpec("rx", "prescriptions", "decayed_count", windows, half_life_days=45),
        FeatureSpec(
            "psycho",
            "prescriptions",
            "decayed_count",
            windows,
            half_life_days=180,
            row_filter=RowFilter(atc_prefixes=("N05", "N06A")),
        ),
        FeatureSpec("rx", "prescriptions", "distinct_count", windows, value="atc"),
        FeatureSpec(
            "psycho",
            "prescriptions",
            "distinct_count",
            windows,
            value="atc",
            row_filter=RowFilter(atc_prefixes=("N05", "N06A")),
        ),
        *(
            FeatureSpec(f"ddd_{aggregation}", "prescriptions", aggregation, windows, value="ddd")
            for aggregation in ("sum", "mean", "min", "max", "latest", "slope")
        ),
        FeatureSpec("ddd_fallback", "prescriptions", "mean", (Window(0, 90),), value="ddd", fallback=-5.0),
        FeatureSpec(
            "a_diagnoses",
            "diagnoses",
            "distinct_count",
            (Window(0, 365), Window(0, 1825)),
            value="icd10_code",
            row_filter=RowFilter(column_equals=(("diagnosis_type", "A"),)),
        ),
        FeatureSpec(
            "circulatory",
            "diagnoses",
            "count",
            (Window(0, 365),),
            row_filter=RowFilter(icd10_chapters=("IX",), icd10_blocks=("E10-E14",)),
        ),
        ScoreFeatureSpec("hfrs", Window(0, 730)),
        ScoreFeatureSpec("charlson", Window(30, 1825)),
        FeatureSpec("admissions", "unplanned_admissions", "count", (Window(0, 90), Window(0, 1825))),
        FeatureSpec("bed_days", "unplanned_admissions", "sum", (Window(0, 365),), value="bed_days"),
        FeatureSpec("bed_days", "hospital_contacts", "max", (Window(0, 365),), value="bed_days"),
        FeatureSpec("contacts", "hospital_contacts", "distinct_count", (Window(0, 730),), value="icd10_code"),
        FeatureSpec(
            "acute",
            "hospital_contacts",
            "days_since_last",
            (Window(0, 730),),
            row_filter=RowFilter(priority="acute"),
        ),
        FeatureSpec("gp", "gp_services", "sum", (Window(0, 90), Window(90, 180)), value="services"),
        FeatureSpec("gp", "gp_services", "mean", (Window(0, 365),), value="services"),
        DerivedFeatureSpec("gp_change", "difference", ("gp_sum_0_to_90d", "gp_sum_90_to_180d")),
        FeatureSpec("score", "fsiii_functional_ability", "slope", (Window(0, 365),), value="score"),
        FeatureSpec(
            "j1",
            "fsiii_functional_ability",
            "latest",
            (Window(0, 365),),
            value="score",
            row_filter=RowFilter(fsiii_domains=("J1",)),
        ),
        FeatureSpec("minutes", "home_care", "latest", (Window(0, 90),), value="total_granted", fallback=0.0),
        FeatureSpec("minutes", "home_care", "min", (Window(0, 365),), value="personal_care_granted"),
        FeatureSpec("w", "weights", "latest", (Window(0, 90), Window(180, 365)), value="weight_kg"),
        DerivedFeatureSpec("w_change", "percent_change", ("w_latest_0_to_90d", "w_latest_180_to_365d")),
        DerivedFeatureSpec("old", "at_least", ("age_years",), 80.0),
        FeatureSpec(
            "falls",
            "falls",
            "count",
            (Window(0, 365),),
            row_filter=RowFilter(column_equals=(("injury", True),)),
        ),
    ]
    return FeatureSetSpec("every-aggregation", tuple(features))


SETTINGS = settings(
    max_examples=int(os.environ.get("TIDLIG_ENGINE_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(tables=warehouses(), mode=st.sampled_from(["as_known", "as_occurred"]))
def test_every_aggregation_equals_the_duckdb_engine(tables, mode):
    spec = every_aggregation_spec()
    fast, reference = both_engines(as_tables(tables), spec, mode)
    assert_same_values(fast, reference, spec)


@settings(SETTINGS, max_examples=max(3, SETTINGS.max_examples // 3))
@given(tables=warehouses(), mode=st.sampled_from(["as_known", "as_occurred"]))
def test_default_feature_set_equals_the_duckdb_engine(tables, mode):
    spec = default_feature_set()
    fast, reference = both_engines(as_tables(tables), spec, mode)
    assert_same_values(fast, reference, spec)


def test_an_unknown_engine_is_refused():
    connection = duckdb.connect()
    try:
        register_tables(connection, {"population": POPULATION})
        spec = FeatureSetSpec("x", (FeatureSpec("falls", "falls", "count", (Window(0, 30),)),))
        with pytest.raises(ValueError, match="numba"):
            build_feature_table(connection, spec, DATES, engine="spark")
    finally:
        connection.close()


def test_the_kernel_cache_goes_to_a_writable_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "read-only-venv"))
    (tmp_path / "read-only-venv").mkdir()
    (tmp_path / "read-only-venv").chmod(stat.S_IRUSR | stat.S_IXUSR)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    try:
        folder = numba_cache_folder()
    finally:
        (tmp_path / "read-only-venv").chmod(stat.S_IRWXU)
    if os.geteuid() != 0:  # root writes anywhere: the venv folder is then a fine choice
        assert folder == tmp_path / "home" / ".cache" / "tidlig" / "numba"


def test_a_set_numba_cache_dir_is_respected(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert numba_cache_folder() == tmp_path / "mine"


def test_a_fresh_process_without_bytecode_runs_the_engine(tmp_path):
    """As in CI (PYTHONDONTWRITEBYTECODE=1) with an empty cache folder: compiles, caches, runs."""
    script = (
        "import duckdb, pandas as pd\n"
        "from features import FeatureSetSpec, FeatureSpec, Window, build_feature_table\n"
        "from tests.features.conftest import frame_from_csv, register_tables\n"
        "from tests.features.test_numba_engine import POPULATION, DATES\n"
        "c = duckdb.connect()\n"
        "falls = frame_from_csv('person_key,fall_date,injury\\na,2022-12-01,false\\n')\n"
        "register_tables(c, {'population': POPULATION, 'falls': falls})\n"
        "spec = FeatureSetSpec('x', (FeatureSpec('falls', 'falls', 'count', (Window(0, 90),)),))\n"
        "t = build_feature_table(c, spec, DATES)\n"
        "print(t.set_index(['person_key', 'prediction_date'])['falls_count_0_to_90d'].sum())\n"
    )
    cache = tmp_path / "cache"
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "1.0"
    assert any(cache.rglob("*.nbi")), "compiled kernels were not cached"


def test_cohort_rows_are_ordered_by_person_then_date_keeping_only_the_dates_asked_for():
    from features.numba_engine import _member_frame

    cohort = frame_from_csv(
        """
        person_key,prediction_date,municipality,district,age_years,sex_female,living_alone
        b,2023-04-01,101,101-02,77.0,0.0,0.0
        a,2023-07-01,101,101-01,83.0,1.0,1.0
        b,2023-01-01,101,101-02,77.0,0.0,0.0
        c,2022-01-01,751,751-01,72.0,1.0,1.0
        a,2023-01-01,101,101-01,83.0,1.0,1.0
        """
    )
    cohort["prediction_date"] = pd.to_datetime(cohort["prediction_date"])
    members = _member_frame(cohort, DATES)
    assert list(zip(members["person_key"], members["prediction_date"].dt.strftime("%Y-%m"), strict=True)) == [
        ("a", "2023-01"),
        ("a", "2023-07"),
        ("b", "2023-01"),
        ("b", "2023-04"),
    ]
    expected = cohort[cohort["prediction_date"].isin(DATES)].sort_values(["person_key", "prediction_date"])
    expected = expected.reset_index(drop=True).astype({"prediction_date": "datetime64[us]"})
    pd.testing.assert_frame_equal(members, expected)
