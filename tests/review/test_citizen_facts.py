"""Reading the facts document the screening layer publishes."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from review.citizen_facts import normalise_facts
from screening.facts import build_facts


def test_the_screening_layers_document_shape_is_read():
    facts = normalise_facts(
        {
            "admissions": [
                {"start": "2023-01-02", "end": "2023-01-05", "diagnosis": "DI500", "acute": True},
                {"start": "2023-05-02", "end": None, "diagnosis": "DN390", "acute": True},
            ],
            "home_care": [
                {"month": "2023-02-01", "personal_care_granted": 60, "practical_help_granted": 30},
                {"month": "2023-01-01", "personal_care_granted": 30, "practical_help_granted": 0},
            ],
            "fsiii": [{"code": "J1.1", "score": 2, "assessed_date": "2023-01-10"}],
            "medicines_count": 7,
            "falls": [{"date": "2023-03-02", "injury": False}],
            "weights": [{"date": "2023-01-05", "kg": 61.5}],
            "falls_count_12m": 1,
        }
    )
    assert [admission.start for admission in facts.admissions] == ["2023-05-02", "2023-01-02"]
    assert facts.home_care == [("2023-01-01", 30.0), ("2023-02-01", 90.0)]
    assert facts.fsiii == [("J1.1", "2", "2023-01-10")]
    assert facts.medicines_count == 7
    assert facts.falls == [("2023-03-02", False)]
    assert facts.weights == [("2023-01-05", 61.5)]


def test_missing_or_empty_parts_give_empty_sections():
    facts = normalise_facts({"admissions": None, "falls": 3, "weights": [{"date": "2023-01-01", "kg": None}]})
    assert facts.admissions == []
    assert facts.weights == []
    assert facts.falls_count == 3
    assert facts.medicines_count is None


def test_a_document_from_the_screening_writer_is_read_through_its_type():
    document = build_facts(
        {"age_years": 84.0},
        {
            "home_care": pd.DataFrame(
                {
                    "month": pd.to_datetime(["2023-12-01", "2024-01-01"]),
                    "personal_care_granted": [60, 120],
                    "practical_help_granted": [30, 30],
                }
            ),
            "falls": pd.DataFrame({"fall_date": pd.to_datetime(["2024-02-01"]), "injury": [True]}),
        },
        dt.date(2024, 3, 4),
        {"admission": 0.3},
    )
    facts = normalise_facts(document)
    assert facts.home_care == [("2023-12-01", 90.0), ("2024-01-01", 150.0)]
    assert facts.falls == [("2024-02-01", True)]
    assert facts.medicines_count == 0


def test_a_list_published_before_the_type_still_shows_its_home_care():
    facts = normalise_facts(
        {
            "home_care": [
                {"month": "2023-07-01", "personal_care_delivered": 130, "practical_help_delivered": 30}
            ]
        }
    )
    assert facts.home_care == [("2023-07-01", 160.0)]


def test_the_medicines_and_summary_scores_of_the_writer_reach_the_page():
    document = build_facts(
        {"age_years": 84.0, "hfrs_2y": 7.25, "charlson_index": 3.0},
        {
            "prescriptions": pd.DataFrame(
                {
                    "dispensing_date": pd.to_datetime(["2024-02-01", "2024-02-10", "2023-01-01"]),
                    "atc": ["N05CF01", "C03CA01", "A10BA02"],
                }
            )
        },
        dt.date(2024, 3, 4),
        {"admission": 0.3},
    )
    facts = normalise_facts(document)
    assert facts.medicines_atc == ["C03CA01", "N05CF01"]  # the one dispensed 14 months ago is not listed
    assert facts.hfrs_score == 7.2
    assert facts.charlson_index == 3.0
