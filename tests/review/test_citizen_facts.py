"""Reading the facts document the screening layer publishes."""

from __future__ import annotations

from review.citizen_facts import normalise_facts


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
