"""Outcome labels on hand-built timelines: (t, t + h], censoring, competing death, frailty components."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import build_labels, label_column_names
from features.labels import label_outcomes
from tests.features.conftest import frame_from_csv

T = pd.Timestamp("2023-01-01")
DATA_END = pd.Timestamp("2023-10-01")

POPULATION = frame_from_csv(
    """
    person_key,birth_date,sex,status,municipality,district,civil_status,household_size,spell_start,spell_end
    quiet,1940-01-01,F,01,101,101-01,E,1,2000-01-01,
    admitted,1940-01-01,F,01,101,101-01,E,1,2000-01-01,
    died,1940-01-01,M,01,101,101-01,E,1,2000-01-01,
    emigrated,1940-01-01,M,01,101,101-01,E,1,2000-01-01,2023-04-01
    emigrated,1940-01-01,M,80,101,101-01,E,1,2023-04-01,
    late,1940-01-01,F,01,101,101-01,E,1,2000-01-01,
    fell,1940-01-01,F,01,101,101-01,E,1,2000-01-01,
    more_care,1940-01-01,F,01,101,101-01,E,1,2000-01-01,
    edge,1940-01-01,F,01,101,101-01,E,1,2000-01-01,
    """
)
CONTACTS = frame_from_csv(
    """
    person_key,contact_id,contact_start,contact_end,contact_type,priority,action_diagnosis,responsible_unit,lpr_version
    admitted,c1,2023-03-01T10:00,2023-03-03T10:00,physical,acute,DI500,u,LPR3
    admitted,c2,2023-02-01T10:00,2023-02-01T12:00,physical,acute,DR074,u,LPR3
    late,c3,2023-09-01T10:00,2023-09-02T10:00,physical,acute,DJ441,u,LPR3
    edge,c4,2023-07-01T00:00,2023-07-02T00:00,physical,acute,DJ441,u,LPR3
    """
)
DEATHS = frame_from_csv(
    """
    person_key,death_date,cause_icd10_sks
    died,2023-02-01,
    """
)
FALLS = frame_from_csv(
    """
    person_key,fall_date,injury
    fell,2023-01-01,true
    fell,2023-01-20,false
    fell,2023-02-10,true
    """
)
HOME_CARE = frame_from_csv(
    """
    person_key,month,personal_care_granted,practical_help_granted,personal_care_delivered,practical_help_delivered,provider_type
    more_care,2022-12-01,60,40,60,40,municipal
    more_care,2023-03-01,50,50,50,50,municipal
    more_care,2023-05-01,100,50,100,50,municipal
    """
)


@pytest.fixture
def labels(warehouse):
    connection = warehouse(
        population=POPULATION,
        hospital_contacts=CONTACTS,
        deaths=DEATHS,
        falls=FALLS,
        home_care=HOME_CARE,
        nursing_home_stays=frame_from_csv("person_key,month\nnobody,2020-01-01"),
    )
    return build_labels(connection, [T], data_end=DATA_END).set_index("person_key")


def test_columns_follow_the_interface(labels):
    assert list(labels.reset_index().columns) == ["person_key", "prediction_date", *label_column_names()]


def test_no_event_with_full_follow_up_is_negative(labels):
    assert labels.loc["quiet", "admission_6m"] == 0.0
    assert not labels.loc["quiet", "admission_6m_censored"]


def test_first_unplanned_admission_is_the_event(labels):
    # the short 2-hour acute contact on 1 February is not an admission
    assert labels.loc["admitted", "admission_6m"] == 1.0
    assert labels.loc["admitted", "admission_6m_event_date"] == pd.Timestamp("2023-03-01 10:00")


def test_death_before_admission_is_a_competing_event_not_censoring(labels):
    row = labels.loc["died"]
    assert row["admission_6m"] == 0.0
    assert row["admission_6m_competing_death"]
    assert not row["admission_6m_censored"]
    assert row["death_6m"] == 1.0
    assert row["frailty_6m"] == 1.0


def test_emigration_before_the_horizon_censors_instead_of_negative(labels):
    row = labels.loc["emigrated"]
    assert np.isnan(row["admission_6m"])
    assert row["admission_6m_censored"]
    assert row["death_12m_censored"]


def test_end_of_data_censors_the_long_horizon_only(labels):
    assert labels.loc["quiet", "admission_12m_censored"]
    assert np.isnan(labels.loc["quiet", "admission_12m"])
    assert labels.loc["late", "admission_6m"] == 0.0
    assert labels.loc["late", "admission_12m"] == 1.0  # event before the end of data is still observed


def test_lookahead_is_half_open_t_excluded_t_plus_h_included(labels):
    # the injurious fall dated on t itself is not an outcome; the one on 10 February is
    assert labels.loc["fell", "frailty_6m_event_date"] == pd.Timestamp("2023-02-10")
    # an admission at exactly t + 6 months belongs to the 6-month label
    assert labels.loc["edge", "admission_6m"] == 1.0


def test_more_home_care_than_at_t_is_frailty_progression(labels):
    # 100 min/week at t; March 100 is no increase; May 150 is
    assert labels.loc["more_care", "frailty_6m_event_date"] == pd.Timestamp("2023-05-01")


def test_label_outcomes_keeps_admission_on_the_day_of_death():
    events = pd.DataFrame(
        {
            "person_key": ["x"],
            "prediction_date": [T],
            "admission_time": [pd.Timestamp("2023-02-01 08:00")],
            "death_time": [pd.Timestamp("2023-02-01 20:00")],
            "injurious_fall_time": [pd.NaT],
            "nursing_home_time": [pd.NaT],
            "home_care_increase_time": [pd.NaT],
            "leaving_time": [pd.NaT],
        }
    )
    labels = label_outcomes(events, [6], DATA_END)
    assert labels.loc[0, "admission_6m"] == 1.0
    assert not labels.loc[0, "admission_6m_competing_death"]


def test_horizons_must_be_positive_months(warehouse):
    connection = warehouse(population=POPULATION)
    with pytest.raises(ValueError, match="Horizons"):
        build_labels(connection, [T], horizons=(0,), data_end=DATA_END)
