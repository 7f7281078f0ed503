"""The engine: windows, fallbacks, filters, derived columns, and agreement with a naive pandas reference.

Every test runs against both engines: the numba default and the DuckDB reference.
"""

from __future__ import annotations

import functools
import sys

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
    Window,
    build_feature_table,
)
from features.aggregates import SLOPE_PER_DAYS
from features.engine import ENGINES
from tests.features.conftest import frame_from_csv, register_tables

T1 = pd.Timestamp("2023-01-01")
T2 = pd.Timestamp("2023-04-01")

POPULATION = frame_from_csv(
    """
    person_key,birth_date,sex,status,municipality,district,civil_status,household_size,spell_start,spell_end
    a,1940-01-01,F,01,101,101-01,E,1,1990-01-01,
    b,1945-06-15,M,01,101,101-02,G,2,1990-01-01,
    c,1950-12-31,F,01,751,751-01,U,1,1990-01-01,
    """
)


@pytest.fixture(autouse=True, params=ENGINES)
def engine(request, monkeypatch) -> str:
    """Run the test with ``build_feature_table`` bound to one engine."""
    monkeypatch.setattr(
        sys.modules[__name__],
        "build_feature_table",
        functools.partial(build_feature_table, engine=request.param),
    )
    return request.param


def one_feature(feature: FeatureSpec | DerivedFeatureSpec, *more: FeatureSpec | DerivedFeatureSpec):
    return FeatureSetSpec("test", (feature, *more))


def test_window_is_half_open_before_the_prediction_date(warehouse):
    connection = warehouse(
        population=POPULATION,
        falls=frame_from_csv(
            """
            person_key,fall_date,injury
            a,2022-01-01,false
            a,2022-12-31T23:59:59,false
            a,2023-01-01,false
            b,2021-12-31T23:59:59,false
            """
        ),
    )
    table = build_feature_table(
        connection, one_feature(FeatureSpec("falls", "falls", "count", (Window(0, 365),))), [T1]
    )
    counts = table.set_index("person_key")["falls_count_0_to_365d"]
    # a: t-365d is inside, t itself is outside; b: one second before t-365d is outside
    assert counts.to_dict() == {"a": 2.0, "b": 0.0, "c": 0.0}


def test_interval_window_excludes_the_recent_part(warehouse):
    connection = warehouse(
        population=POPULATION,
        falls=frame_from_csv(
            """
            person_key,fall_date,injury
            a,2022-12-20,false
            a,2022-11-15,false
            a,2022-10-01,false
            """
        ),
    )
    spec = one_feature(FeatureSpec("falls", "falls", "count", (Window(30, 90),)))
    table = build_feature_table(connection, spec, [T1])
    assert table.set_index("person_key").loc["a", "falls_count_30_to_90d"] == 1.0


def test_count_falls_back_to_zero_and_mean_to_missing(warehouse):
    connection = warehouse(
        population=POPULATION,
        weights=frame_from_csv(
            """
            person_key,measured_date,weight_kg
            a,2022-12-01,70.5
            """
        ),
    )
    spec = one_feature(
        FeatureSpec("weighings", "weights", "count", (Window(0, 90),)),
        FeatureSpec("weight_kg", "weights", "mean", (Window(0, 90),), value="weight_kg"),
        FeatureSpec("weight_kg", "weights", "max", (Window(0, 90),), value="weight_kg", fallback=-1.0),
    )
    table = build_feature_table(connection, spec, [T1]).set_index("person_key")
    assert table.loc["b", "weighings_count_0_to_90d"] == 0.0
    assert np.isnan(table.loc["b", "weight_kg_mean_0_to_90d"])
    assert table.loc["b", "weight_kg_max_0_to_90d"] == -1.0
    assert table.loc["a", "weight_kg_mean_0_to_90d"] == 70.5


def test_a_decayed_count_weighs_each_event_by_its_recency(warehouse):
    connection = warehouse(
        population=POPULATION,
        falls=frame_from_csv(
            """
            person_key,fall_date,injury
            a,2022-12-02,false
            a,2022-11-02,false
            a,2022-01-01,false
            b,2022-12-31,false
            """
        ),
    )
    spec = one_feature(
        FeatureSpec("falls", "falls", "decayed_count", (Window(0, 365), Window(0, 60)), half_life_days=30)
    )
    table = build_feature_table(connection, spec, [T1]).set_index("person_key")
    year = table["falls_decayed_count_half_life_30d_0_to_365d"]
    # a: 30 days before t weighs 1/2, 60 days 1/4, 365 days 0.5 ** (365 / 30); b: one day 0.5 ** (1 / 30)
    assert year["a"] == pytest.approx(0.5 + 0.25 + 0.5 ** (365 / 30))
    assert year["b"] == pytest.approx(0.5 ** (1 / 30))
    assert year["c"] == 0.0  # no event: 0, as a count
    # the 60-day window ends at exactly 60 days before t (inclusive), as every window does
    assert table["falls_decayed_count_half_life_30d_0_to_60d"]["a"] == pytest.approx(0.75)


def test_missing_warehouse_table_leaves_fallbacks(warehouse):
    connection = warehouse(population=POPULATION)
    spec = one_feature(FeatureSpec("falls", "falls", "count", (Window(0, 365),)))
    table = build_feature_table(connection, spec, [T1])
    assert (table["falls_count_0_to_365d"] == 0.0).all()


def test_atc_prefix_of_any_level_selects_dispensings(warehouse):
    connection = warehouse(
        population=POPULATION,
        prescriptions=frame_from_csv(
            """
            person_key,dispensing_date,atc,product_number,packages,ddd
            a,2022-12-01,N05BA01,000001,1,10
            a,2022-12-02,N05CF01,000002,1,10
            a,2022-12-03,N06AB04,000003,1,10
            a,2022-12-04,C03CA01,000004,1,10
            """
        ),
    )
    spec = one_feature(
        FeatureSpec(
            "n", "prescriptions", "count", (Window(0, 90),), row_filter=RowFilter(atc_prefixes=("N",))
        ),
        FeatureSpec(
            "n05b", "prescriptions", "count", (Window(0, 90),), row_filter=RowFilter(atc_prefixes=("N05B",))
        ),
        FeatureSpec(
            "exact",
            "prescriptions",
            "count",
            (Window(0, 90),),
            row_filter=RowFilter(atc_prefixes=("C03CA01", "N06AB04")),
        ),
    )
    row = build_feature_table(connection, spec, [T1]).set_index("person_key").loc["a"]
    assert (row["n_count_0_to_90d"], row["n05b_count_0_to_90d"], row["exact_count_0_to_90d"]) == (3, 1, 2)


def test_icd10_filters_accept_sks_codes_chapters_and_blocks(warehouse):
    connection = warehouse(
        population=POPULATION,
        hospital_diagnoses=frame_from_csv(
            """
            person_key,contact_id,contact_start,diagnosis_code,diagnosis_type,retracted
            a,c1,2022-06-01,DI500,A,false
            a,c1,2022-06-01,DI219,B,false
            a,c2,2022-07-01,DJ441,A,false
            a,c3,2022-08-01,DD649,A,false
            """
        ),
    )
    spec = one_feature(
        FeatureSpec(
            "hf", "diagnoses", "count", (Window(0, 365),), row_filter=RowFilter(icd10_categories=("DI50",))
        ),
        FeatureSpec(
            "circulatory",
            "diagnoses",
            "count",
            (Window(0, 365),),
            row_filter=RowFilter(icd10_chapters=("IX",)),
        ),
        FeatureSpec(
            "ischaemic",
            "diagnoses",
            "count",
            (Window(0, 365),),
            row_filter=RowFilter(icd10_blocks=("I20-I25",)),
        ),
        FeatureSpec(
            "anaemia",
            "diagnoses",
            "count",
            (Window(0, 365),),
            row_filter=RowFilter(icd10_categories=("D64",)),
        ),
    )
    row = build_feature_table(connection, spec, [T1]).set_index("person_key").loc["a"]
    assert row["hf_count_0_to_365d"] == 1
    assert row["circulatory_count_0_to_365d"] == 2
    assert row["ischaemic_count_0_to_365d"] == 1
    assert row["anaemia_count_0_to_365d"] == 1


def test_derived_columns_follow_their_inputs(warehouse):
    connection = warehouse(
        population=POPULATION,
        weights=frame_from_csv(
            """
            person_key,measured_date,weight_kg
            a,2022-12-01,76
            a,2022-05-01,80
            b,2022-12-01,60
            """
        ),
    )
    spec = one_feature(
        FeatureSpec("w", "weights", "latest", (Window(0, 90), Window(180, 365)), value="weight_kg"),
        DerivedFeatureSpec("change", "percent_change", ("w_latest_0_to_90d", "w_latest_180_to_365d")),
        DerivedFeatureSpec("heavy", "at_least", ("w_latest_0_to_90d",), 70.0),
    )
    table = build_feature_table(connection, spec, [T1]).set_index("person_key")
    assert table.loc["a", "change"] == pytest.approx(-5.0)
    assert np.isnan(table.loc["b", "change"])
    assert (table.loc["a", "heavy"], table.loc["b", "heavy"]) == (1.0, 0.0)
    assert np.isnan(table.loc["c", "heavy"])


def test_input_cohort_frame_is_not_changed(warehouse):
    connection = warehouse(population=POPULATION)
    from features import build_cohort

    members = build_cohort(connection, [T1]).members
    before = members.copy()
    build_feature_table(
        connection,
        one_feature(FeatureSpec("falls", "falls", "count", (Window(0, 30),))),
        [T1],
        cohort=members,
    )
    pd.testing.assert_frame_equal(members, before)


def test_unknown_mode_is_refused(warehouse):
    connection = warehouse(population=POPULATION)
    with pytest.raises(ValueError, match="as_known"):
        build_feature_table(
            connection,
            one_feature(FeatureSpec("falls", "falls", "count", (Window(0, 30),))),
            [T1],
            mode="now",
        )


def test_chunking_does_not_change_the_result(warehouse):
    connection = warehouse(
        population=POPULATION,
        falls=frame_from_csv(
            """
            person_key,fall_date,injury
            a,2022-12-01,false
            b,2023-02-01,true
            """
        ),
    )
    spec = one_feature(FeatureSpec("falls", "falls", "count", (Window(0, 365),)))
    whole = build_feature_table(connection, spec, [T1, T2], dates_per_chunk=2)
    chunked = build_feature_table(connection, spec, [T1, T2], dates_per_chunk=1)
    pd.testing.assert_frame_equal(whole, chunked)


# ----- agreement with a deliberately naive pandas reference -----------------------------------------------

WINDOWS = (Window(0, 90), Window(30, 400))
ATCS = ("N05BA01", "N06AB04", "C03CA01", "A02BC01")
NUMERIC_AGGREGATIONS = ("sum", "mean", "min", "max", "latest", "slope")
HALF_LIFE_DAYS = 60


def reference_spec() -> FeatureSetSpec:
    features = [
        FeatureSpec(f"rx_{agg}", "prescriptions", agg, WINDOWS, value="ddd") for agg in NUMERIC_AGGREGATIONS
    ]
    features += [
        FeatureSpec("rx", "prescriptions", "count", WINDOWS),
        FeatureSpec("rx", "prescriptions", "days_since_last", WINDOWS),
        FeatureSpec("rx", "prescriptions", "distinct_count", WINDOWS, value="atc"),
        FeatureSpec("rx", "prescriptions", "decayed_count", WINDOWS, half_life_days=HALF_LIFE_DAYS),
    ]
    return FeatureSetSpec("reference", tuple(features))


def naive_known_rows(rows: pd.DataFrame, t: pd.Timestamp, mode: str) -> pd.DataFrame:
    """Row-by-row: the version of each record the platform knew at t, then facts before t."""
    chosen = []
    for _, all_versions in rows.groupby("_record_key"):
        versions = all_versions[all_versions["_delivered_at"] <= t] if mode == "as_known" else all_versions
        if len(versions) == 0:
            continue
        chosen.append(versions.sort_values("_delivered_at").iloc[-1])
    if not chosen:
        return rows.iloc[0:0]
    known = pd.DataFrame(chosen)
    return known[known["_valid_time"] < t]


def naive_aggregate(  # noqa: PLR0911 (one plain branch per aggregation, on purpose)
    rows: pd.DataFrame, aggregation: str, t: pd.Timestamp, window: Window
) -> float:
    inside = rows[
        (rows["_valid_time"] >= t - pd.Timedelta(days=window.end_days))
        & (rows["_valid_time"] < t - pd.Timedelta(days=window.start_days))
    ]
    if aggregation == "count":
        return float(len(inside))
    if aggregation == "days_since_last":
        return (t - inside["_valid_time"].max()).total_seconds() / 86400 if len(inside) else np.nan
    if aggregation == "distinct_count":
        return float(inside["atc"].dropna().nunique())
    if aggregation == "decayed_count":
        ages = [(t - v).total_seconds() / 86400 for v in inside["_valid_time"]]
        return float(sum(0.5 ** (age / HALF_LIFE_DAYS) for age in ages))
    values = inside.dropna(subset=["ddd"])
    if len(values) == 0:
        return 0.0 if aggregation == "sum" else np.nan
    if aggregation == "sum":
        return float(values["ddd"].sum())
    if aggregation == "mean":
        return float(values["ddd"].mean())
    if aggregation == "min":
        return float(values["ddd"].min())
    if aggregation == "max":
        return float(values["ddd"].max())
    if aggregation == "latest":
        return float(values.sort_values(["_valid_time", "ddd"]).iloc[-1]["ddd"])
    days = np.array([(v - t).total_seconds() / 86400 for v in values["_valid_time"]])
    if len(values) < 2 or np.all(days == days[0]):
        return np.nan
    slope = np.polyfit(days, values["ddd"].to_numpy(dtype=float), 1)[0]
    return float(slope * SLOPE_PER_DAYS)


version_rows = st.tuples(
    st.sampled_from(["a", "b", "c"]),  # person
    st.integers(0, 7),  # record number within the person
    st.integers(-500, 40),  # valid time, days from T1
    st.integers(0, 90),  # delivery lag, days
    st.integers(0, 23),  # hour of the valid time
    st.one_of(st.none(), st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 2))),
    st.sampled_from(ATCS),
)


def prescriptions_from(draws: list[tuple]) -> pd.DataFrame:
    rows = []
    seen: set[tuple[str, str]] = set()
    for person, record, day, lag, hour, ddd, atc in draws:
        valid = T1 + pd.Timedelta(days=day, hours=hour)
        delivered = valid + pd.Timedelta(days=lag)
        key = f"{person}-{record}"
        if (key, str(delivered)) in seen:
            continue  # one version per record and delivery time
        seen.add((key, str(delivered)))
        rows.append(
            {
                "person_key": person,
                "dispensing_date": valid,
                "atc": atc,
                "product_number": "000001",
                "packages": 1.0,
                "ddd": ddd,
                "_record_key": key,
                "_valid_time": valid,
                "_delivered_at": delivered,
            }
        )
    frame = pd.DataFrame(rows)
    frame["ddd"] = frame["ddd"].astype("float64")
    return frame


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    draws=st.lists(version_rows, min_size=1, max_size=40), mode=st.sampled_from(["as_known", "as_occurred"])
)
def test_every_aggregation_equals_the_naive_reference(draws, mode):
    prescriptions = prescriptions_from(draws)
    connection = duckdb.connect()
    try:
        register_tables(connection, {"population": POPULATION, "prescriptions": prescriptions})
        spec = reference_spec()
        table = build_feature_table(connection, spec, [T1, T2], mode=mode)
    finally:
        connection.close()
    for t in (T1, T2):
        for person in ("a", "b", "c"):
            known = naive_known_rows(prescriptions[prescriptions["person_key"] == person], t, mode)
            row = table[(table["person_key"] == person) & (table["prediction_date"] == t)].iloc[0]
            for feature in spec.features:
                for window, column in zip(feature.windows, feature.column_names(), strict=True):
                    expected = naive_aggregate(known, feature.aggregation, t, window)
                    actual = row[column]
                    if np.isnan(expected):
                        assert np.isnan(actual), column
                    else:
                        assert actual == pytest.approx(expected, rel=1e-6, abs=1e-6), column
