"""Cohort eligibility at each prediction date and the attrition table."""

from __future__ import annotations

import pandas as pd
import pytest

from features import build_cohort
from tests.features.conftest import frame_from_csv

T = pd.Timestamp("2023-01-01")

POPULATION = frame_from_csv(
    """
    person_key,birth_date,sex,status,municipality,district,civil_status,household_size,spell_start,spell_end,_delivered_at
    eligible,1950-01-01,F,01,101,101-01,E,1,2000-01-01,,2000-01-08
    turns_65_on_t,1958-01-01,M,01,101,101-02,G,2,2000-01-01,,2000-01-08
    too_young,1958-01-02,M,01,101,101-02,G,2,2000-01-01,,2000-01-08
    emigrated,1940-01-01,M,01,101,101-01,G,2,2000-01-01,2022-06-01,2022-06-08
    emigrated,1940-01-01,M,80,101,101-01,G,2,2022-06-01,,2022-06-08
    elsewhere,1940-01-01,F,01,751,751-01,E,1,2000-01-01,,2000-01-08
    dead,1940-01-01,F,01,101,101-01,E,1,2000-01-01,,2000-01-08
    in_care_home,1930-01-01,F,01,101,101-01,E,1,2000-01-01,,2000-01-08
    moved_in_after_t,1940-01-01,F,01,101,101-01,E,1,2023-02-01,,2023-02-08
    """
)


@pytest.fixture
def connection(warehouse):
    return warehouse(
        population=POPULATION,
        deaths=frame_from_csv(
            """
            person_key,death_date,cause_icd10_sks,_delivered_at
            dead,2022-10-01,,2022-10-15
            """
        ),
        nursing_home_stays=frame_from_csv(
            """
            person_key,month
            in_care_home,2022-12-01
            """
        ),
    )


def test_eligible_members_at_t(connection):
    cohort = build_cohort(connection, [T], area_municipalities=["101"])
    assert sorted(cohort.members["person_key"]) == ["eligible", "turns_65_on_t"]


def test_attrition_counts_each_rule_in_order(connection):
    attrition = build_cohort(connection, [T], area_municipalities=["101"]).attrition
    assert attrition[["rule", "removed", "remaining"]].to_dict("records") == [
        {"rule": "registered", "removed": 0, "remaining": 7},  # moved_in_after_t is not yet registered
        {"rule": "aged_65_or_over", "removed": 1, "remaining": 6},
        {"rule": "resident_in_area", "removed": 2, "remaining": 4},
        {"rule": "alive", "removed": 1, "remaining": 3},
        {"rule": "not_in_nursing_home", "removed": 1, "remaining": 2},
    ]


def test_without_an_area_every_municipality_counts(connection):
    members = build_cohort(connection, [T]).members
    assert "elsewhere" in set(members["person_key"])


def test_a_death_not_yet_delivered_does_not_exclude(connection):
    members = build_cohort(connection, [pd.Timestamp("2022-10-10")], area_municipalities=["101"]).members
    assert "dead" in set(members["person_key"])


def test_members_carry_demographics(connection):
    members = build_cohort(connection, [T], area_municipalities=["101"]).members.set_index("person_key")
    row = members.loc["eligible"]
    assert (row["age_years"], row["sex_female"], row["living_alone"]) == (73.0, 1.0, 1.0)
    assert (row["municipality"], row["district"]) == ("101", "101-01")
    assert members.loc["turns_65_on_t", "age_years"] == 65.0


def test_without_a_population_table_the_error_says_what_to_ingest(warehouse):
    connection = warehouse(deaths=frame_from_csv("person_key,death_date,cause_icd10_sks\nx,2020-01-01,"))
    with pytest.raises(ValueError, match="cpr_population"):
        build_cohort(connection, [T])
