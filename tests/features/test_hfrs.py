"""Hospital Frailty Risk Score: the published list and hand-worked examples, directly and via the engine."""

from __future__ import annotations

import pandas as pd
import pytest

from features import FeatureSetSpec, ScoreFeatureSpec, Window, build_feature_table
from features.hfrs import HFRS_WEIGHTS, hfrs_score
from tests.features.conftest import frame_from_csv


def test_the_published_list_has_109_categories():
    assert len(HFRS_WEIGHTS) == 109
    assert HFRS_WEIGHTS["F00"] == 7.1
    assert HFRS_WEIGHTS["R50"] == 0.1


def test_hand_worked_example_alzheimer_dementia_fall_and_uti():
    # F00 dementia in Alzheimer's 7.1 + W19 unspecified fall 3.2 + N39 UTI 3.2 = 13.5 (I50 is not on the list)
    assert hfrs_score(["DF001", "DW19", "DN390", "DI509"]) == 13.5


def test_each_category_counts_once():
    # R29.6 tendency to fall (3.6) coded twice, plus E86 volume depletion (2.3)
    assert hfrs_score(["DR296", "DR298", "DE86"]) == pytest.approx(5.9)


def test_codes_outside_the_list_score_zero():
    assert hfrs_score(["DI10", "DZ000"]) == 0.0


def test_engine_scores_diagnoses_in_the_two_year_window_only(warehouse):
    connection = warehouse(
        population=frame_from_csv(
            """
            person_key,birth_date,sex,status,municipality,district,civil_status,household_size,spell_start,spell_end
            a,1940-01-01,F,01,101,101-01,E,1,1990-01-01,
            """
        ),
        hospital_diagnoses=frame_from_csv(
            """
            person_key,contact_id,contact_start,diagnosis_code,diagnosis_type,retracted
            a,c1,2022-06-01,DF001,A,false
            a,c1,2022-06-01,DW19,B,false
            a,c2,2022-09-01,DN390,A,false
            a,c2,2022-09-01,DF009,B,false
            a,c3,2020-06-01,DG81,A,false
            """
        ),
    )
    spec = FeatureSetSpec("hfrs", (ScoreFeatureSpec("hfrs", Window(0, 730)),))
    table = build_feature_table(connection, spec, [pd.Timestamp("2023-01-01")])
    # G81 (2020) is older than two years; F00 counts once
    assert table.loc[0, "hfrs_score_0_to_730d"] == 13.5
