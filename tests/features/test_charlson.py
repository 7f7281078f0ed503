"""Charlson comorbidity index: Quan 2005 and Thygesen 2011 code mappings with Charlson 1987 or Quan 2011
weights, and the severity hierarchy, on hand-worked persons; the SQL engine agrees with the hand counts."""

from __future__ import annotations

import pandas as pd
import pytest

from features import FeatureSetSpec, ScoreFeatureSpec, Window, build_feature_table
from features.charlson import (
    CHARLSON_1987_WEIGHTS,
    CHARLSON_CODES,
    CHARLSON_VARIANTS,
    CHARLSON_WEIGHTS,
    QUAN_2011_WEIGHTS,
    THYGESEN_2011_CODES,
    charlson_conditions,
    charlson_index,
    charlson_scheme,
)
from features.spec import FeatureSpecError
from tests.features.conftest import frame_from_csv

QQ, QC, TC, TQ = CHARLSON_VARIANTS  # quan2005_quan2011, quan2005_charlson1987, thygesen2011_charlson1987, ...


def test_seventeen_conditions_with_quan_2011_weights():
    assert len(CHARLSON_CODES) == 17
    assert set(CHARLSON_CODES) == set(CHARLSON_WEIGHTS)
    assert sum(CHARLSON_WEIGHTS.values()) == 28


def test_thygesen_has_charlsons_nineteen_conditions_and_the_1987_weights_sum_to_37():
    assert len(THYGESEN_2011_CODES) == 19
    assert set(THYGESEN_2011_CODES) == set(CHARLSON_1987_WEIGHTS)
    assert sum(CHARLSON_1987_WEIGHTS.values()) == 37
    assert sorted(set(CHARLSON_1987_WEIGHTS.values())) == [1, 2, 3, 6]


def test_every_prefix_has_three_or_four_characters_for_the_sql_engine():
    for variant in CHARLSON_VARIANTS:
        for prefixes in charlson_scheme(variant).codes.values():
            assert all(len(prefix) in (3, 4) for prefix in prefixes), variant


def test_heart_failure_metastasis_and_complicated_diabetes():
    # CHF 2 + metastatic 6 (replaces any malignancy 2) + diabetes with complications 1 (replaces without 0)
    assert charlson_index(["DI500", "DC787", "DC509", "DE112", "DE119"]) == 9
    # Charlson 1987 weights: CHF 1 + metastatic 6 + diabetes with end-organ damage 2 (either mapping)
    assert charlson_index(["DI500", "DC787", "DC509", "DE112", "DE119"], QC) == 9
    assert charlson_index(["DI500", "DC787", "DC509", "DE112", "DE119"], TC) == 9
    # Thygesen codes, Quan 2011 weights: 2 + 6 + 1
    assert charlson_index(["DI500", "DC787", "DC509", "DE112", "DE119"], TQ) == 9


def test_severe_liver_disease_replaces_mild():
    assert charlson_index(["DK703"]) == 2
    assert charlson_index(["DK703", "DK721"]) == 4
    assert charlson_index(["DK703"], TC) == 1
    assert charlson_index(["DK703", "DK721"], TC) == 3  # K72 is severe in Thygesen; 3 replaces 1
    assert charlson_index(["DK703", "DK721"], TQ) == 4


def test_dementia_and_copd():
    assert charlson_index(["DF03", "DJ441"]) == 3
    assert charlson_index(["DF03", "DJ441"], TC) == 2


def test_four_character_codes_match_only_their_subcode():
    assert charlson_conditions(["DI252"]) == {"myocardial_infarction"}
    assert charlson_conditions(["DI251"]) == set()
    assert charlson_index(["DI219"]) == 0  # myocardial infarction weighs 0 in Quan 2011
    assert charlson_index(["DI252"], QC) == 1  # but 1 with Charlson 1987 weights
    assert charlson_conditions(["DI252"], TC) == set()  # old infarction I25.2 is not in Thygesen's list


def test_leukaemia_and_lymphoma_count_apart_only_in_the_nineteen_condition_list():
    codes = ["DC920", "DC833", "DC509"]  # myeloid leukaemia, lymphoma, breast cancer
    assert charlson_index(codes, QQ) == 2  # one condition: any malignancy incl. leukaemia and lymphoma
    assert charlson_index(codes, QC) == 2
    assert charlson_index(codes, TC) == 6  # any tumour 2 + leukaemia 2 + lymphoma 2
    assert charlson_index(codes, TQ) == 2  # Quan 2011 weighs them as one condition


def test_metastasis_replaces_solid_tumours_but_not_leukaemia_or_lymphoma():
    codes = ["DC920", "DC833", "DC509", "DC787"]
    assert charlson_index(codes, QQ) == 6
    assert charlson_index(codes, QC) == 6
    assert charlson_index(codes, TC) == 10  # metastatic 6 + leukaemia 2 + lymphoma 2
    assert charlson_index(codes, TQ) == 6


def test_codes_only_the_danish_mapping_knows():
    # I23.1 (complication after infarction), K22.1 (oesophageal ulcer), D86.9 (sarcoidosis)
    codes = ["DI231", "DK221", "DD869"]
    assert charlson_conditions(codes, TC) == {
        "myocardial_infarction",
        "peptic_ulcer_disease",
        "rheumatic_disease",
    }
    assert charlson_index(codes, TC) == 3
    assert charlson_index(codes, TQ) == 1  # only connective tissue disease weighs in Quan 2011
    assert charlson_index(codes, QQ) == 0
    assert charlson_index(codes, QC) == 0


def test_renal_hemiplegia_aids_and_other_diabetes_differ_between_mappings():
    # N17.9 acute renal failure: renal in Thygesen only; G83.0: hemiplegia in Quan only
    assert charlson_index(["DN179", "DG830"], QQ) == 2
    assert charlson_index(["DN179", "DG830"], QC) == 2
    assert charlson_index(["DN179", "DG830"], TC) == 2
    assert charlson_index(["DN179", "DG830"], TQ) == 1
    # B23.8 (HIV with other conditions): AIDS in Thygesen (B21-B24), not in Quan (B20-B22, B24)
    assert charlson_index(["DF03", "DB238"], TC) == 7
    assert charlson_index(["DF03", "DB238"], TQ) == 6
    assert charlson_index(["DF03", "DB238"], QQ) == 2
    # E13.9 other specified diabetes: Quan lists E10-E14, Thygesen E10-E11 only
    assert charlson_index(["DE139"], QC) == 1
    assert charlson_index(["DE139"], TC) == 0


def test_quan_2011_gives_zero_weight_to_five_conditions():
    assert sorted(c for c, w in QUAN_2011_WEIGHTS.items() if w == 0) == [
        "cerebrovascular_disease",
        "diabetes_without_complications",
        "myocardial_infarction",
        "peptic_ulcer_disease",
        "peripheral_vascular_disease",
    ]


def test_the_variant_is_chosen_in_the_spec_and_names_the_column():
    window = Window(0, 1825)
    assert ScoreFeatureSpec("charlson", window).column_names() == ("charlson_index_0_to_1825d",)
    assert ScoreFeatureSpec("charlson", window, QQ).column_names() == ("charlson_index_0_to_1825d",)
    assert ScoreFeatureSpec("charlson", window, TC).column_names() == (
        "charlson_index_thygesen2011_charlson1987_0_to_1825d",
    )
    with pytest.raises(FeatureSpecError, match="Unknown Charlson variant"):
        ScoreFeatureSpec("charlson", window, "deyo1992")
    with pytest.raises(FeatureSpecError, match="no variants"):
        ScoreFeatureSpec("hfrs", Window(0, 730), TC)


def test_the_default_variant_is_left_out_of_the_spec_and_its_hash():
    spec = FeatureSetSpec("charlson", (ScoreFeatureSpec("charlson", Window(0, 1825)),))
    assert spec.to_dict()["features"] == [
        {
            "kind": "ScoreFeatureSpec",
            "score": "charlson",
            "window": {"start_days": 0, "end_days": 1825},
            "concept": "comorbidity",
        }
    ]
    chosen = FeatureSetSpec("charlson", (ScoreFeatureSpec("charlson", Window(0, 1825), TC),))
    assert chosen.spec_hash() != spec.spec_hash()


def test_engine_agrees_with_the_hand_worked_index_for_every_variant(warehouse):
    connection = warehouse(
        population=frame_from_csv(
            """
            person_key,birth_date,sex,status,municipality,district,civil_status,household_size,spell_start,spell_end
            a,1940-01-01,F,01,101,101-01,E,1,1990-01-01,
            b,1940-01-01,M,01,101,101-01,E,1,1990-01-01,
            c,1940-01-01,M,01,101,101-01,E,1,1990-01-01,
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
            a,c3,2022-06-01,DC920,B,false
            a,c3,2022-06-01,DC833,B,false
            b,c4,2022-06-01,DK703,A,false
            b,c5,2022-07-01,DK721,A,false
            b,c6,2016-07-01,DF03,A,false
            c,c7,2021-01-01,DI231,A,false
            c,c7,2021-01-01,DK221,B,false
            c,c8,2021-02-01,DD869,A,false
            c,c8,2021-02-01,DN179,B,false
            """
        ),
    )
    window = Window(0, 1825)
    scores = tuple(ScoreFeatureSpec("charlson", window, variant) for variant in CHARLSON_VARIANTS)
    table = build_feature_table(connection, FeatureSetSpec("charlson", scores), [pd.Timestamp("2023-01-01")])
    table = table.set_index("person_key")
    codes = {
        "a": ["DI500", "DC787", "DC509", "DE112", "DE119", "DC920", "DC833"],
        "b": ["DK703", "DK721"],  # dementia from 2016 is outside five years
        "c": ["DI231", "DK221", "DD869", "DN179"],
    }
    expected = {  # by hand: a, b, c
        QQ: (9, 4, 0),  # c: none of its codes is in Quan 2005
        QC: (9, 3, 0),
        # a: CHF 1 + metastatic 6 + diabetes with complications 2 + leukaemia 2 + lymphoma 2;
        # c: infarction, ulcer and connective tissue disease 1 each + renal disease 2
        TC: (13, 3, 5),
        TQ: (9, 4, 2),  # c: connective tissue 1 + renal 1
    }
    for score in scores:
        column = score.column_names()[0]
        for person, value in zip("abc", expected[score.variant], strict=True):
            assert charlson_index(codes[person], score.variant) == value, (score.variant, person)
            assert table.loc[person, column] == value, (score.variant, person)
