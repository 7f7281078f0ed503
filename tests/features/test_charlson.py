"""Charlson comorbidity index (Quan 2005 ICD-10 codes, Quan 2011 weights): hand-worked examples."""

from __future__ import annotations

import pandas as pd

from features import FeatureSetSpec, ScoreFeatureSpec, Window, build_feature_table
from features.charlson import CHARLSON_CODES, CHARLSON_WEIGHTS, charlson_conditions, charlson_index
from tests.features.conftest import frame_from_csv


def test_seventeen_conditions_with_quan_2011_weights():
    assert len(CHARLSON_CODES) == 17
    assert set(CHARLSON_CODES) == set(CHARLSON_WEIGHTS)
    assert sum(CHARLSON_WEIGHTS.values()) == 28


def test_heart_failure_metastasis_and_complicated_diabetes():
    # CHF 2 + metastatic 6 (replaces any malignancy 2) + diabetes with complications 1 (replaces without 0)
    assert charlson_index(["DI500", "DC787", "DC509", "DE112", "DE119"]) == 9


def test_severe_liver_disease_replaces_mild():
    assert charlson_index(["DK703"]) == 2
    assert charlson_index(["DK703", "DK721"]) == 4


def test_dementia_and_copd():
    assert charlson_index(["DF03", "DJ441"]) == 3


def test_four_character_codes_match_only_their_subcode():
    assert charlson_conditions(["DI252"]) == {"myocardial_infarction"}
    assert charlson_conditions(["DI251"]) == set()
    assert charlson_index(["DI219"]) == 0  # myocardial infarction weighs 0 in Quan 2011


def test_engine_agrees_with_the_hand_worked_index(warehouse):
    connection = warehouse(
        population=frame_from_csv(
            """
            person_key,birth_date,sex,status,municipality,district,civil_status,household_size,spell_start,spell_end
            a,1940-01-01,F,01,101,101-01,E,1,1990-01-01,
            b,1940-01-01,M,01,101,101-01,E,1,1990-01-01,
            """
        ),
        hospital_diagnoses=frame_from_csv(
            """
            person_key,contact_id,contact_start,diagnosis_code,diagnosis_type,retracted
            a,c1,2020-06-01,DI500,A,false
            a,c1,2020-06-01,DC787,B,false
            a,c2,2021-06-01,DC509,A,false
            a,c2,2021-06-01,DE112,B,false
            a,c3,2022-06-01,DE119,A,false
            b,c4,2022-06-01,DK703,A,false
            b,c5,2022-07-01,DK721,A,false
            b,c6,2016-07-01,DF03,A,false
            """
        ),
    )
    spec = FeatureSetSpec("charlson", (ScoreFeatureSpec("charlson", Window(0, 1825)),))
    table = build_feature_table(connection, spec, [pd.Timestamp("2023-01-01")]).set_index("person_key")
    assert table.loc["a", "charlson_index_0_to_1825d"] == 9
    assert table.loc["b", "charlson_index_0_to_1825d"] == 4  # dementia from 2016 is outside five years
