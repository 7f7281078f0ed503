"""The shipped feature set: stable column names, and no leakage from rows dated or delivered after t."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import FeatureSetSpec, build_feature_table, default_feature_set
from features.catalogue import trajectory_feature_set
from features.sources import SOURCES
from features.spec import FeatureSpec
from tests.features.conftest import register_tables

T = pd.Timestamp("2023-01-01")

# Changing a name breaks every trained model and screening list that uses it: change it on purpose,
# together with docs/features.md, never by accident.
EXPECTED_COLUMNS = [
    "acute_admissions_count_0_to_30d",
    "acute_admissions_count_30_to_90d",
    "acute_admissions_count_90_to_365d",
    "acute_admissions_count_0_to_90d",
    "acute_admissions_count_0_to_365d",
    "acute_admissions_count_0_to_730d",
    "acute_admissions_count_0_to_1825d",
    "acute_admissions_days_since_last_0_to_1825d",
    "bed_days_sum_0_to_90d",
    "bed_days_sum_0_to_365d",
    "bed_days_sum_0_to_730d",
    "acute_contacts_count_0_to_30d",
    "acute_contacts_count_0_to_90d",
    "acute_contacts_count_0_to_365d",
    "acute_contacts_count_0_to_730d",
    "planned_contacts_count_0_to_365d",
    "planned_contacts_count_0_to_1825d",
    "virtual_contacts_count_0_to_365d",
    "hospital_contacts_count_0_to_365d",
    "hospital_contacts_count_0_to_1825d",
    "hospital_contacts_days_since_last_0_to_1825d",
    "diagnoses_chapter_i_infectious_count_0_to_365d",
    "diagnoses_chapter_i_infectious_count_0_to_1825d",
    "diagnoses_chapter_ii_neoplasms_count_0_to_365d",
    "diagnoses_chapter_ii_neoplasms_count_0_to_1825d",
    "diagnoses_chapter_iii_blood_count_0_to_365d",
    "diagnoses_chapter_iii_blood_count_0_to_1825d",
    "diagnoses_chapter_iv_endocrine_count_0_to_365d",
    "diagnoses_chapter_iv_endocrine_count_0_to_1825d",
    "diagnoses_chapter_v_mental_count_0_to_365d",
    "diagnoses_chapter_v_mental_count_0_to_1825d",
    "diagnoses_chapter_vi_nervous_count_0_to_365d",
    "diagnoses_chapter_vi_nervous_count_0_to_1825d",
    "diagnoses_chapter_vii_eye_count_0_to_365d",
    "diagnoses_chapter_vii_eye_count_0_to_1825d",
    "diagnoses_chapter_viii_ear_count_0_to_365d",
    "diagnoses_chapter_viii_ear_count_0_to_1825d",
    "diagnoses_chapter_ix_circulatory_count_0_to_365d",
    "diagnoses_chapter_ix_circulatory_count_0_to_1825d",
    "diagnoses_chapter_x_respiratory_count_0_to_365d",
    "diagnoses_chapter_x_respiratory_count_0_to_1825d",
    "diagnoses_chapter_xi_digestive_count_0_to_365d",
    "diagnoses_chapter_xi_digestive_count_0_to_1825d",
    "diagnoses_chapter_xii_skin_count_0_to_365d",
    "diagnoses_chapter_xii_skin_count_0_to_1825d",
    "diagnoses_chapter_xiii_musculoskeletal_count_0_to_365d",
    "diagnoses_chapter_xiii_musculoskeletal_count_0_to_1825d",
    "diagnoses_chapter_xiv_genitourinary_count_0_to_365d",
    "diagnoses_chapter_xiv_genitourinary_count_0_to_1825d",
    "diagnoses_chapter_xv_pregnancy_count_0_to_365d",
    "diagnoses_chapter_xv_pregnancy_count_0_to_1825d",
    "diagnoses_chapter_xvi_perinatal_count_0_to_365d",
    "diagnoses_chapter_xvi_perinatal_count_0_to_1825d",
    "diagnoses_chapter_xvii_congenital_count_0_to_365d",
    "diagnoses_chapter_xvii_congenital_count_0_to_1825d",
    "diagnoses_chapter_xviii_symptoms_count_0_to_365d",
    "diagnoses_chapter_xviii_symptoms_count_0_to_1825d",
    "diagnoses_chapter_xix_injury_count_0_to_365d",
    "diagnoses_chapter_xix_injury_count_0_to_1825d",
    "diagnoses_chapter_xx_external_causes_count_0_to_365d",
    "diagnoses_chapter_xx_external_causes_count_0_to_1825d",
    "diagnoses_chapter_xxi_health_services_count_0_to_365d",
    "diagnoses_chapter_xxi_health_services_count_0_to_1825d",
    "heart_failure_diagnoses_count_0_to_365d",
    "heart_failure_diagnoses_count_0_to_1825d",
    "copd_diagnoses_count_0_to_365d",
    "copd_diagnoses_count_0_to_1825d",
    "diabetes_diagnoses_count_0_to_365d",
    "diabetes_diagnoses_count_0_to_1825d",
    "dementia_diagnoses_count_0_to_365d",
    "dementia_diagnoses_count_0_to_1825d",
    "stroke_diagnoses_count_0_to_365d",
    "stroke_diagnoses_count_0_to_1825d",
    "cancer_diagnoses_count_0_to_365d",
    "cancer_diagnoses_count_0_to_1825d",
    "hip_fracture_diagnoses_count_0_to_365d",
    "hip_fracture_diagnoses_count_0_to_1825d",
    "delirium_diagnoses_count_0_to_365d",
    "delirium_diagnoses_count_0_to_1825d",
    "atrial_fibrillation_diagnoses_count_0_to_365d",
    "atrial_fibrillation_diagnoses_count_0_to_1825d",
    "chronic_kidney_disease_diagnoses_count_0_to_365d",
    "chronic_kidney_disease_diagnoses_count_0_to_1825d",
    "pneumonia_diagnoses_count_0_to_365d",
    "pneumonia_diagnoses_count_0_to_1825d",
    "urinary_tract_infection_diagnoses_count_0_to_365d",
    "urinary_tract_infection_diagnoses_count_0_to_1825d",
    "dehydration_diagnoses_count_0_to_365d",
    "dehydration_diagnoses_count_0_to_1825d",
    "depression_diagnoses_count_0_to_365d",
    "depression_diagnoses_count_0_to_1825d",
    "parkinsonism_diagnoses_count_0_to_365d",
    "parkinsonism_diagnoses_count_0_to_1825d",
    "osteoporosis_diagnoses_count_0_to_365d",
    "osteoporosis_diagnoses_count_0_to_1825d",
    "fall_injury_external_cause_diagnoses_count_0_to_365d",
    "fall_injury_external_cause_diagnoses_count_0_to_1825d",
    "anaemia_diagnoses_count_0_to_365d",
    "anaemia_diagnoses_count_0_to_1825d",
    "hfrs_score_0_to_730d",
    "hfrs_score_0_to_365d",
    "charlson_index_0_to_1825d",
    "distinct_drugs_distinct_count_0_to_90d",
    "distinct_drugs_distinct_count_90_to_180d",
    "distinct_drugs_distinct_count_0_to_365d",
    "polypharmacy_5_or_more_0_to_90d",
    "polypharmacy_10_or_more_0_to_90d",
    "distinct_drugs_change_0_to_90d_vs_90_to_180d",
    "fall_risk_drugs_distinct_count_0_to_90d",
    "psycholeptic_drugs_count_0_to_90d",
    "antidepressant_drugs_count_0_to_90d",
    "opioid_drugs_count_0_to_90d",
    "antiepileptic_drugs_count_0_to_90d",
    "diuretic_drugs_count_0_to_90d",
    "antibiotic_drugs_count_0_to_365d",
    "anticoagulant_drugs_count_0_to_365d",
    "insulin_drugs_count_0_to_365d",
    "loop_diuretic_drugs_count_0_to_365d",
    "antipsychotic_drugs_count_0_to_365d",
    "antidementia_drugs_count_0_to_365d",
    "proton_pump_inhibitor_drugs_count_0_to_365d",
    "laxative_drugs_count_0_to_365d",
    "antidiabetic_drugs_count_0_to_365d",
    "obstructive_airway_drugs_count_0_to_365d",
    "antibiotic_drugs_count_0_to_90d",
    "drugs_atc_group_a_distinct_count_0_to_365d",
    "drugs_atc_group_b_distinct_count_0_to_365d",
    "drugs_atc_group_c_distinct_count_0_to_365d",
    "drugs_atc_group_d_distinct_count_0_to_365d",
    "drugs_atc_group_g_distinct_count_0_to_365d",
    "drugs_atc_group_h_distinct_count_0_to_365d",
    "drugs_atc_group_j_distinct_count_0_to_365d",
    "drugs_atc_group_l_distinct_count_0_to_365d",
    "drugs_atc_group_m_distinct_count_0_to_365d",
    "drugs_atc_group_n_distinct_count_0_to_365d",
    "drugs_atc_group_p_distinct_count_0_to_365d",
    "drugs_atc_group_r_distinct_count_0_to_365d",
    "drugs_atc_group_s_distinct_count_0_to_365d",
    "drugs_atc_group_v_distinct_count_0_to_365d",
    "dispensings_count_0_to_90d",
    "dispensings_count_0_to_365d",
    "defined_daily_doses_sum_0_to_90d",
    "gp_services_sum_0_to_30d",
    "gp_services_sum_0_to_90d",
    "gp_services_sum_90_to_180d",
    "gp_services_sum_0_to_365d",
    "gp_services_sum_365_to_730d",
    "gp_services_days_since_last_0_to_730d",
    "gp_contacts_count_0_to_90d",
    "gp_contacts_count_0_to_365d",
    "gp_contacts_count_0_to_730d",
    "gp_contacts_count_0_to_1825d",
    "gp_evening_services_sum_0_to_365d",
    "gp_services_change_0_to_90d_vs_90_to_180d",
    "gp_services_change_0_to_365d_vs_365_to_730d",
    "fsiii_score_mean_0_to_180d",
    "fsiii_score_mean_180_to_365d",
    "fsiii_score_max_0_to_365d",
    "fsiii_assessments_count_0_to_365d",
    "fsiii_assessments_days_since_last_0_to_1825d",
    "fsiii_score_change_0_to_180d_vs_180_to_365d",
    "fsiii_j1_score_mean_0_to_180d",
    "fsiii_j1_score_mean_180_to_365d",
    "fsiii_j1_score_max_0_to_365d",
    "fsiii_j1_score_latest_0_to_365d",
    "fsiii_j1_score_change_0_to_180d_vs_180_to_365d",
    "fsiii_j2_score_mean_0_to_180d",
    "fsiii_j2_score_mean_180_to_365d",
    "fsiii_j2_score_max_0_to_365d",
    "fsiii_j2_score_latest_0_to_365d",
    "fsiii_j2_score_change_0_to_180d_vs_180_to_365d",
    "fsiii_j3_score_mean_0_to_180d",
    "fsiii_j3_score_mean_180_to_365d",
    "fsiii_j3_score_max_0_to_365d",
    "fsiii_j3_score_latest_0_to_365d",
    "fsiii_j3_score_change_0_to_180d_vs_180_to_365d",
    "fsiii_j4_score_mean_0_to_180d",
    "fsiii_j4_score_mean_180_to_365d",
    "fsiii_j4_score_max_0_to_365d",
    "fsiii_j4_score_latest_0_to_365d",
    "fsiii_j4_score_change_0_to_180d_vs_180_to_365d",
    "fsiii_j5_score_mean_0_to_180d",
    "fsiii_j5_score_mean_180_to_365d",
    "fsiii_j5_score_max_0_to_365d",
    "fsiii_j5_score_latest_0_to_365d",
    "fsiii_j5_score_change_0_to_180d_vs_180_to_365d",
    "fsiii_condition_i1_active_count_0_to_365d",
    "fsiii_condition_i2_active_count_0_to_365d",
    "fsiii_condition_i3_active_count_0_to_365d",
    "fsiii_condition_i4_active_count_0_to_365d",
    "fsiii_condition_i5_active_count_0_to_365d",
    "fsiii_condition_i6_active_count_0_to_365d",
    "fsiii_condition_i7_active_count_0_to_365d",
    "fsiii_condition_i8_active_count_0_to_365d",
    "fsiii_condition_i9_active_count_0_to_365d",
    "fsiii_condition_i10_active_count_0_to_365d",
    "fsiii_condition_i11_active_count_0_to_365d",
    "fsiii_condition_i12_active_count_0_to_365d",
    "fsiii_conditions_distinct_count_0_to_365d",
    "home_care_minutes_latest_0_to_90d",
    "home_care_minutes_mean_0_to_90d",
    "home_care_minutes_mean_90_to_180d",
    "home_care_minutes_max_0_to_365d",
    "home_care_minutes_slope_0_to_90d",
    "home_care_minutes_slope_0_to_180d",
    "personal_care_minutes_latest_0_to_90d",
    "practical_help_minutes_latest_0_to_90d",
    "home_care_delivered_minutes_mean_0_to_90d",
    "home_care_months_count_0_to_365d",
    "home_care_months_days_since_last_0_to_1825d",
    "home_care_minutes_change_0_to_90d_vs_90_to_180d",
    "home_nursing_visits_count_0_to_30d",
    "home_nursing_visits_count_0_to_90d",
    "home_nursing_visits_count_90_to_365d",
    "home_nursing_visits_count_0_to_365d",
    "home_nursing_visits_days_since_last_0_to_730d",
    "falls_count_0_to_90d",
    "falls_count_0_to_365d",
    "falls_count_0_to_730d",
    "falls_days_since_last_0_to_1825d",
    "injurious_falls_count_0_to_365d",
    "weight_kg_latest_0_to_90d",
    "weight_kg_latest_180_to_365d",
    "weight_kg_max_0_to_365d",
    "weight_kg_min_0_to_365d",
    "weight_kg_slope_0_to_365d",
    "weighings_count_0_to_365d",
    "weight_change_percent_0_to_90d_vs_180_to_365d",
    "weight_change_percent_0_to_90d_vs_max_0_to_365d",
    "preventive_visits_held_days_since_last_0_to_1825d",
    "preventive_visits_declined_count_0_to_1825d",
    "preventive_visits_count_0_to_730d",
    "early_detection_red_count_0_to_90d",
    "early_detection_red_count_0_to_365d",
    "early_detection_yellow_count_0_to_90d",
    "early_detection_observations_count_0_to_365d",
]


def test_column_names_are_stable():
    assert list(default_feature_set().column_names()) == EXPECTED_COLUMNS


def test_feature_set_has_a_few_hundred_columns_over_every_source():
    spec = default_feature_set()
    used = {feature.source for feature in spec.features if isinstance(feature, FeatureSpec)}
    assert len(spec.column_names()) >= 200
    assert used == set(SOURCES)


def test_spec_hash_is_stable_and_depends_on_the_run_context():
    assert default_feature_set().spec_hash(mode="as_known") == default_feature_set().spec_hash(
        mode="as_known"
    )
    assert default_feature_set().spec_hash(mode="as_known") != default_feature_set().spec_hash(
        mode="as_occurred"
    )


# ----- no leakage -----------------------------------------------------------------------------------------

POPULATION = pd.DataFrame(
    {
        "person_key": ["a", "b"],
        "birth_date": pd.to_datetime(["1940-01-01", "1950-06-01"]),
        "sex": ["F", "M"],
        "status": ["01", "01"],
        "municipality": ["101", "101"],
        "district": ["101-01", "101-02"],
        "civil_status": ["E", "G"],
        "household_size": [1, 2],
        "spell_start": pd.to_datetime(["2000-01-01", "2000-01-01"]),
        "spell_end": pd.to_datetime([None, None]),
    }
)
SKS = ["DI500", "DJ441", "DF03", "DS720", "DN390", "DC787", "DE112", "DR296"]
ATC = ["N05BA01", "N06AB04", "C03CA01", "A02BC01", "N02AA01"]

event = st.fixed_dictionaries(
    {
        "person": st.sampled_from(["a", "b"]),
        "key": st.integers(0, 5),
        "day": st.integers(-800, -1),
        "hour": st.integers(0, 23),
        "lag": st.integers(0, 60),
        "number": st.floats(0, 300, allow_nan=False),
        "pick": st.integers(0, 7),
        "flag": st.booleans(),
    }
)


def _rows(table: str, draws: list[dict], kind: str = "past") -> pd.DataFrame:
    """Rows of ``table``. ``past``: valid before t, delivered by t. ``dated_later``: new records with valid
    time on or after t. ``delivered_later``: rows (new, or corrections of past records) delivered after t."""
    records = []
    for draw in draws:
        offset = pd.Timedelta(days=draw["day"], hours=draw["hour"])
        lag = pd.Timedelta(days=draw["lag"])
        valid = T + offset + (pd.Timedelta(days=801) if kind == "dated_later" else pd.Timedelta(0))
        if kind == "past":
            delivered = min(valid + lag, T)
        elif kind == "dated_later":
            delivered = valid + lag
        else:
            delivered = T + pd.Timedelta(days=1) + lag
        prefix = "later-" if kind == "dated_later" else ""
        base = {
            "person_key": draw["person"],
            "_record_key": f"{prefix}{table}-{draw['person']}-{draw['key']}",
            "_valid_time": valid,
            "_delivered_at": delivered,
        }
        columns = {
            "hospital_contacts": {
                "contact_id": f"c-{draw['person']}-{draw['key']}",
                "contact_start": valid,
                "contact_end": valid + pd.Timedelta(hours=draw["number"]),
                "contact_type": "physical" if draw["flag"] else "virtual",
                "priority": "acute" if draw["pick"] % 2 else "planned",
                "action_diagnosis": SKS[draw["pick"]],
                "lpr_version": "LPR3",
            },
            "hospital_diagnoses": {
                "contact_id": f"c-{draw['person']}-{draw['key']}",
                "contact_start": valid,
                "diagnosis_code": SKS[draw["pick"]],
                "diagnosis_type": "A",
                "retracted": draw["flag"] and draw["pick"] == 0,
            },
            "prescriptions": {
                "dispensing_date": valid,
                "atc": ATC[draw["pick"] % 5],
                "ddd": draw["number"],
                "packages": 1.0,
            },
            "falls": {"fall_date": valid, "injury": draw["flag"]},
            "weights": {"measured_date": valid, "weight_kg": 40 + draw["number"] / 5},
            "home_care": {
                "month": valid,
                "personal_care_granted": draw["number"],
                "practical_help_granted": 30.0,
                "personal_care_delivered": draw["number"],
                "practical_help_delivered": 30.0,
                "provider_type": "municipal",
            },
            "gp_services": {
                "specialty": "801000",
                "service_date": valid,
                "services": 1 + draw["pick"],
                "time_of_day": "dag",
            },
        }[table]
        records.append({**base, **columns})
    return pd.DataFrame(records)


TABLES = (
    "hospital_contacts",
    "hospital_diagnoses",
    "prescriptions",
    "falls",
    "weights",
    "home_care",
    "gp_services",
)


def _features(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    connection = duckdb.connect()
    try:
        register_tables(connection, {"population": POPULATION, **tables})
        return build_feature_table(connection, default_feature_set(), [T])
    finally:
        connection.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    past=st.lists(event, min_size=1, max_size=12),
    dated_later=st.lists(event, max_size=6),
    delivered_later=st.lists(event, max_size=6),
)
def test_rows_dated_on_or_after_t_or_delivered_after_t_never_change_a_feature(
    past, dated_later, delivered_later
):
    base = {table: _rows(table, past) for table in TABLES}
    later = {
        table: pd.concat(
            [
                base[table],
                _rows(table, dated_later, "dated_later"),
                _rows(table, delivered_later, "delivered_later"),
            ],
            ignore_index=True,
        )
        for table in TABLES
    }
    pd.testing.assert_frame_equal(_features(base), _features(later))


def test_every_default_spec_carries_a_clinical_concept():
    from features.spec import CONCEPTS

    features = default_feature_set().features
    assert all(feature.concept in CONCEPTS for feature in features)


def test_the_columns_other_layers_read_are_exported_constants_of_the_default_set():
    from features.catalogue import (
        DAYS_SINCE_PREVENTIVE_VISIT_COLUMN,
        PERSONAL_CARE_MINUTES_COLUMN,
        PRACTICAL_HELP_MINUTES_COLUMN,
    )

    columns = default_feature_set().column_names()
    assert PERSONAL_CARE_MINUTES_COLUMN == "personal_care_minutes_latest_0_to_90d"
    assert PRACTICAL_HELP_MINUTES_COLUMN == "practical_help_minutes_latest_0_to_90d"
    assert DAYS_SINCE_PREVENTIVE_VISIT_COLUMN == "preventive_visits_held_days_since_last_0_to_1825d"
    assert {
        PERSONAL_CARE_MINUTES_COLUMN,
        PRACTICAL_HELP_MINUTES_COLUMN,
        DAYS_SINCE_PREVENTIVE_VISIT_COLUMN,
    } <= set(columns)


# ----- no leakage across prediction dates ----------------------------------------------------------------
# One call builds features for several dates from one warehouse that already holds everything delivered up
# to (and after) the last date. Each date's rows must equal a build for that date alone from the warehouse
# as it was at that date (of each record, the version current then). A single-date test cannot see a leak from
# one date into an earlier one, because the engine's first phase already drops rows delivered after the
# last date; this one can, and the mutations below prove it.

DATES = (T, T + pd.Timedelta(days=91))

across_dates_event = st.fixed_dictionaries(
    {
        "person": st.sampled_from(["a", "b"]),
        "key": st.integers(0, 4),  # repeated keys are corrections (new versions of one record)
        "day": st.integers(-700, 120),  # valid time from T - 700 d to after the second date
        "lag": st.integers(0, 150),  # delivered up to 150 days after the valid time
        "number": st.floats(0, 300, allow_nan=False),
        "pick": st.integers(0, 7),
        "flag": st.booleans(),
    }
)


def _versions(table: str, draws: list[dict]) -> pd.DataFrame:
    """Row versions of ``table`` with unique delivery times (so the latest version is never a tie)."""
    frame = _rows(table, [{**draw, "hour": 0, "lag": 0} for draw in draws])
    delivered = [
        T + pd.Timedelta(days=draw["day"] + draw["lag"], seconds=index) for index, draw in enumerate(draws)
    ]
    frame["_delivered_at"] = pd.to_datetime(delivered)
    return frame


def _known_at(tables: dict[str, pd.DataFrame], date: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The warehouse as it was at ``date``, written out by hand: rows delivered by then, and of each
    record only its latest version then (so the reference needs no as-known logic of the engine)."""
    known = {}
    for name, frame in tables.items():
        delivered = frame[frame["_delivered_at"] <= date].sort_values("_delivered_at")
        known[name] = delivered.drop_duplicates("_record_key", keep="last").reset_index(drop=True)
    return known


def _build(
    tables: dict[str, pd.DataFrame],
    dates: tuple[pd.Timestamp, ...],
    engine: str = "numba",
    spec: FeatureSetSpec | None = None,
) -> pd.DataFrame:
    connection = duckdb.connect()
    try:
        register_tables(connection, {"population": POPULATION, **tables})
        return build_feature_table(connection, spec or default_feature_set(), list(dates), engine=engine)
    finally:
        connection.close()


def assert_each_date_sees_only_what_was_known_then(
    draws: list[dict], engine: str = "numba", spec: FeatureSetSpec | None = None
) -> None:
    tables = {table: _versions(table, draws) for table in TABLES}
    together = _build(tables, DATES, engine, spec)
    for date in DATES:
        alone = _build(_known_at(tables, date), (date,), engine, spec)
        at_date = together[together["prediction_date"] == date].reset_index(drop=True)
        pd.testing.assert_frame_equal(at_date, alone, obj=f"features at {date.date()}")


@pytest.mark.parametrize("engine", ["numba", "duckdb"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draws=st.lists(across_dates_event, min_size=1, max_size=14))
def test_each_of_several_prediction_dates_sees_only_the_rows_known_at_that_date(engine, draws):
    assert_each_date_sees_only_what_was_known_then(draws, engine)


# A record valid before both dates, delivered between them, then corrected after the second date; and a
# record corrected before the first date.
LATE_AND_CORRECTED = [
    {"person": "a", "key": 0, "day": -30, "lag": 40, "number": 120.0, "pick": 0, "flag": True},
    {"person": "a", "key": 0, "day": -30, "lag": 200, "number": 10.0, "pick": 1, "flag": False},
    {"person": "b", "key": 1, "day": -400, "lag": 10, "number": 50.0, "pick": 2, "flag": True},
    {"person": "b", "key": 2, "day": -200, "lag": 10, "number": 80.0, "pick": 5, "flag": True},
    {"person": "b", "key": 2, "day": -200, "lag": 60, "number": 20.0, "pick": 6, "flag": False},
]

PER_DATE_FILTER = (
    "s._delivered_at <= c.prediction_date "
    "AND (s._superseded_at IS NULL OR s._superseded_at > c.prediction_date)"
)
MUTATIONS = {
    # every date sees what was known at the run's last date (a leak only visible across dates)
    "known_at_last_date": (
        "s._delivered_at <= {last} AND (s._superseded_at IS NULL OR s._superseded_at > {last})"
    ),
    # a version counts from its delivery on, but is never replaced by a later correction
    "corrections_never_replace": "s._delivered_at <= c.prediction_date",
}


@pytest.fixture
def mutate_known_filter(monkeypatch):
    """Replace the engine's per-date as-known filter by a mutation; returns the number of SQL texts
    mutated (so a test can tell the mutation reached the engine)."""
    from features import engine

    applied = []
    original = engine._known_rows_sql

    def apply(mutation: str) -> list[str]:
        def mutated(plan, rows_table, cohort, mode):
            sql = original(plan, rows_table, cohort, mode)
            assert PER_DATE_FILTER in sql, "The engine's as-known filter changed; update PER_DATE_FILTER."
            applied.append(mutation)
            last = f"(SELECT max(prediction_date) FROM {cohort} AS _run_dates)"
            return sql.replace(PER_DATE_FILTER, MUTATIONS[mutation].format(last=last))

        monkeypatch.setattr(engine, "_known_rows_sql", mutated)
        return applied

    return apply


@pytest.mark.parametrize("engine", ["numba", "duckdb"])
def test_the_late_and_corrected_record_passes_with_the_real_filter(engine):
    assert_each_date_sees_only_what_was_known_then(LATE_AND_CORRECTED, engine)


@pytest.mark.parametrize("engine", ["numba", "duckdb"])
def test_the_trajectory_features_see_only_what_was_known_at_each_date(engine):
    assert_each_date_sees_only_what_was_known_then(LATE_AND_CORRECTED, engine, trajectory_feature_set())


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draws=st.lists(across_dates_event, min_size=1, max_size=14))
def test_the_trajectory_features_never_leak_across_dates(draws):
    assert_each_date_sees_only_what_was_known_then(draws, "numba", trajectory_feature_set())


def test_a_mutated_as_known_filter_is_caught_in_the_trajectory_features(mutate_known_filter):
    applied = mutate_known_filter("known_at_last_date")
    with pytest.raises(AssertionError, match="features at 2023-01-01"):
        assert_each_date_sees_only_what_was_known_then(LATE_AND_CORRECTED, "duckdb", trajectory_feature_set())
    assert applied


# The mutations rewrite the SQL reference engine's per-date filter (the numba engine is held to it by
# tests/features/test_numba_engine.py and by the cross-date test above, run on both engines).
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_mutated_as_known_filter_is_caught_across_dates(mutation, mutate_known_filter):
    applied = mutate_known_filter(mutation)
    with pytest.raises(AssertionError, match="features at 2023-01-01"):
        assert_each_date_sees_only_what_was_known_then(LATE_AND_CORRECTED, "duckdb")
    assert applied, "the mutation never reached the engine: the test would prove nothing"


def test_a_leak_from_a_later_date_is_invisible_with_one_prediction_date(mutate_known_filter):
    """Why the test above needs two dates: with one date the 'known at the last date' mutation is the
    real filter, so a single-date leakage test passes whatever the per-date filter does."""
    mutate_known_filter("known_at_last_date")
    tables = {table: _versions(table, LATE_AND_CORRECTED) for table in TABLES}
    alone = _build(_known_at(tables, DATES[0]), (DATES[0],), "duckdb")
    pd.testing.assert_frame_equal(_build(tables, (DATES[0],), "duckdb"), alone)
