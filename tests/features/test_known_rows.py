"""As known at t versus as occurred: corrections, late deliveries and retracted diagnoses."""

from __future__ import annotations

import pandas as pd
import pytest

from features import FeatureSetSpec, FeatureSpec, RowFilter, Window, build_feature_table
from features.known_rows import VERSION_ORDER, known_at_sql, known_rows_sql
from features.prediction_dates import register_prediction_dates
from tests.features.conftest import frame_from_csv

POPULATION = frame_from_csv(
    """
    person_key,birth_date,sex,status,municipality,district,civil_status,household_size,spell_start,spell_end
    a,1940-01-01,F,01,101,101-01,E,1,1990-01-01,
    """
)
WEIGHT = FeatureSetSpec(
    "w", (FeatureSpec("weight_kg", "weights", "latest", (Window(0, 365),), value="weight_kg"),)
)
HEART_FAILURE = FeatureSetSpec(
    "hf",
    (
        FeatureSpec(
            "hf", "diagnoses", "count", (Window(0, 365),), row_filter=RowFilter(icd10_categories=("I50",))
        ),
    ),
)


@pytest.fixture
def corrected_weights(warehouse):
    # 70 kg measured 1 Dec, delivered 5 Dec; corrected to 72 kg, delivered 10 Jan
    return warehouse(
        population=POPULATION,
        weights=frame_from_csv(
            """
            person_key,measured_date,weight_kg,_record_key,_delivered_at
            a,2022-12-01,70,w1,2022-12-05
            a,2022-12-01,72,w1,2023-01-10
            a,2022-12-20,90,w2,2023-01-05
            """
        ),
    )


def latest_weight(connection, t: str, mode: str = "as_known") -> float:
    table = build_feature_table(connection, WEIGHT, [pd.Timestamp(t)], mode=mode)
    return float(table.loc[0, "weight_kg_latest_0_to_365d"])


def test_a_correction_delivered_after_t_is_not_used(corrected_weights):
    assert latest_weight(corrected_weights, "2023-01-01") == 70.0


def test_a_correction_known_by_t_replaces_what_it_corrects(corrected_weights):
    # at 15 Jan both the correction and the late 20 Dec weighing are known
    assert latest_weight(corrected_weights, "2023-01-15") == 90.0
    table = build_feature_table(
        corrected_weights,
        FeatureSetSpec("m", (FeatureSpec("w", "weights", "min", (Window(0, 365),), value="weight_kg"),)),
        [pd.Timestamp("2023-01-15")],
    )
    assert table.loc[0, "w_min_0_to_365d"] == 72.0


def test_as_occurred_uses_the_final_version_whenever_delivered(corrected_weights):
    assert latest_weight(corrected_weights, "2023-01-01", mode="as_occurred") == 90.0


def test_a_retracted_diagnosis_counts_until_the_retraction_is_known(warehouse):
    connection = warehouse(
        population=POPULATION,
        hospital_diagnoses=frame_from_csv(
            """
            person_key,contact_id,contact_start,diagnosis_code,diagnosis_type,retracted,_record_key,_delivered_at
            a,c1,2022-10-01,DI500,A,false,c1-DI500-A,2022-11-01
            a,c1,2022-10-01,DI500,A,true,c1-DI500-A,2023-02-01
            """
        ),
    )
    before, after = build_feature_table(
        connection, HEART_FAILURE, [pd.Timestamp("2023-01-01"), pd.Timestamp("2023-03-01")]
    )["hf_count_0_to_365d"]
    assert (before, after) == (1.0, 0.0)


def test_a_row_delivered_after_t_is_unknown_at_t(warehouse):
    connection = warehouse(
        population=POPULATION,
        falls=frame_from_csv(
            """
            person_key,fall_date,injury,_delivered_at
            a,2022-12-20,true,2023-01-20
            """
        ),
    )
    spec = FeatureSetSpec("f", (FeatureSpec("falls", "falls", "count", (Window(0, 90),)),))
    dates = [pd.Timestamp("2023-01-01"), pd.Timestamp("2023-02-01")]
    assert list(build_feature_table(connection, spec, dates)["falls_count_0_to_90d"]) == [0.0, 1.0]


# Two versions of one weighing delivered at the same instant: the one landed later wins; when they were
# landed together too, the one with the greater batch ID wins. Every as-known reader applies this order.
TIED_WEIGHTS = """
    person_key,measured_date,weight_kg,_record_key,_delivered_at,_ingested_at,_batch_id
    a,2022-12-01,70,w1,2022-12-05,2022-12-06 10:00,b2
    a,2022-12-01,71,w1,2022-12-05,2022-12-06 11:00,b1
    a,2022-12-02,80,w2,2022-12-05,2022-12-06 10:00,b1
    a,2022-12-02,81,w2,2022-12-05,2022-12-06 10:00,b3
    """
TIE_WINNERS = {"w1": 71.0, "w2": 81.0}


def test_the_version_order_is_delivery_then_landing_then_batch():
    assert VERSION_ORDER == ("_delivered_at", "_ingested_at", "_batch_id")


def test_a_tie_in_delivery_time_resolves_the_same_way_in_every_as_known_reader(warehouse):
    connection = warehouse(population=POPULATION, weights=frame_from_csv(TIED_WEIGHTS))
    t = pd.Timestamp("2023-01-01")
    at_instant = connection.execute(known_at_sql("weights", "?"), [t, t]).df()
    assert dict(zip(at_instant["_record_key"], at_instant["weight_kg"], strict=True)) == TIE_WINNERS
    with register_prediction_dates(connection, [t]) as dates:
        over_dates = connection.sql(known_rows_sql("weights", dates, "as_known", lookback_days=None)).df()
    assert dict(zip(over_dates["_record_key"], over_dates["weight_kg"], strict=True)) == TIE_WINNERS
    spec = FeatureSetSpec("m", (FeatureSpec("w", "weights", "max", (Window(0, 365),), value="weight_kg"),))
    assert build_feature_table(connection, spec, [t]).loc[0, "w_max_0_to_365d"] == 81.0
    spec = FeatureSetSpec("m", (FeatureSpec("w", "weights", "min", (Window(0, 365),), value="weight_kg"),))
    assert build_feature_table(connection, spec, [t]).loc[0, "w_min_0_to_365d"] == 71.0
