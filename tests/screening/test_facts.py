"""Facts as known at the as-of date, from hand-built history rows."""

import datetime as dt

import pandas as pd
import pytest

from screening.facts import CitizenFacts, FactsDocumentError, WeightFact, build_facts, is_acute_admission

AS_OF = dt.date(2024, 3, 4)


def contacts(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "contact_id": f"c{i}",
                "contact_start": pd.Timestamp(start),
                "contact_end": pd.Timestamp(end),
                "priority": priority,
                "contact_type": kind,
                "action_diagnosis": "DI500",
            }
            for i, (start, end, priority, kind) in enumerate(rows)
        ]
    )


def facts_for(history: dict[str, pd.DataFrame], row: dict | None = None) -> dict:
    return build_facts(
        row or {"age_years": 84.0, "sex_female": 1.0, "living_alone": 1.0},
        history,
        AS_OF,
        {"admission": 0.31},
    )


def test_an_acute_admission_is_acute_physical_and_overnight_or_12_hours():
    frame = contacts(
        [
            ("2024-01-01 10:00", "2024-01-02 09:00", "acute", "physical"),  # overnight
            ("2024-01-05 08:00", "2024-01-05 21:00", "acute", "physical"),  # 13 hours
            ("2024-01-06 08:00", "2024-01-06 12:00", "acute", "physical"),  # short ER visit
            ("2024-01-07 08:00", "2024-01-09 12:00", "planned", "physical"),
            ("2024-01-08 08:00", "2024-01-09 12:00", "acute", "virtual"),
        ]
    )
    assert list(is_acute_admission(frame)) == [True, True, False, False, False]


def test_admissions_count_the_past_12_months_and_ignore_the_as_of_day():
    frame = contacts(
        [
            ("2023-03-05 10:00", "2023-03-07 10:00", "acute", "physical"),  # inside 12 months
            ("2023-03-03 10:00", "2023-03-07 10:00", "acute", "physical"),  # just outside 12 months
            ("2024-03-04 00:30", "2024-03-06 10:00", "acute", "physical"),  # on the as-of day: not yet
        ]
    )
    facts = facts_for({"hospital_contacts": frame})
    assert facts["admissions_count_12m"] == 1
    assert [a["start"] for a in facts["admissions"]] == ["2023-03-05", "2023-03-03"]


def test_home_care_level_now_and_three_months_ago():
    frame = pd.DataFrame(
        {
            "month": pd.to_datetime(["2023-10-01", "2023-11-01", "2024-01-01", "2024-04-01"]),
            "personal_care_granted": [60, 60, 240, 999],
            "practical_help_granted": [60, 60, 120, 999],
        }
    )
    facts = facts_for({"home_care": frame})
    assert facts["home_care_minutes_per_week_now"] == 360
    assert facts["home_care_minutes_per_week_3m_ago"] == 120
    assert [m["month"] for m in facts["home_care"]] == ["2023-10-01", "2023-11-01", "2024-01-01"]


def test_medicines_are_distinct_atc_codes_in_the_past_90_days():
    frame = pd.DataFrame(
        {
            "dispensing_date": pd.to_datetime(["2024-01-10", "2024-02-01", "2024-02-20", "2023-11-01"]),
            "atc": ["N05BA01", "N05BA01", "C03CA01", "A10BA02"],
        }
    )
    assert facts_for({"prescriptions": frame})["medicines_count"] == 2


def test_weight_change_over_six_months_in_percent():
    frame = pd.DataFrame(
        {
            "measured_date": pd.to_datetime(["2023-10-01", "2024-01-15", "2024-03-01"]),
            "weight_kg": [70.0, 68.0, 65.1],
        }
    )
    facts = facts_for({"weights": frame})
    assert facts["weight_change_pct_6m"] == -7.0
    assert facts["weight_latest_kg"] == 65.1


def test_falls_and_injuries_in_the_past_12_months():
    frame = pd.DataFrame(
        {
            "fall_date": pd.to_datetime(["2023-06-01", "2024-02-01", "2022-01-01"]),
            "injury": [True, False, True],
        }
    )
    facts = facts_for({"falls": frame})
    assert (facts["falls_count_12m"], facts["falls_with_injury_12m"]) == (2, 1)


def test_fsiii_latest_and_previous_mean_scores_ignore_score_9():
    frame = pd.DataFrame(
        {
            "assessed_date": pd.to_datetime(["2023-06-01"] * 2 + ["2024-01-10"] * 3),
            "code": ["J1.1", "J3.1", "J1.1", "J3.1", "J4.1"],
            "score": [1, 1, 2, 3, 9],
        }
    )
    facts = facts_for({"fsiii_functional_ability": frame})
    assert (facts["fsiii_previous_mean_score"], facts["fsiii_mean_score"]) == (1.0, 2.5)
    assert [item["code"] for item in facts["fsiii"]] == ["J1.1", "J3.1"]


def test_no_history_gives_empty_facts_not_errors():
    facts = facts_for({})
    assert facts["admissions_count_12m"] == 0
    assert facts["weights"] == []
    assert facts["fsiii_mean_score"] is None
    assert (facts["age_years"], facts["sex"], facts["living_alone"]) == (84, "F", True)


def test_conditions_and_scores_come_from_the_feature_row():
    row = {
        "age_years": 80.0,
        "heart_failure_count_0_to_1825d": 2.0,
        "dementia_count_0_to_1825d": 0.0,
        "hfrs_score_0_to_730d": 7.25,
    }
    facts = facts_for({}, row)
    assert facts["conditions"] == ["heart_failure"]
    assert facts["hfrs_score"] == 7.2


def test_the_facts_document_round_trips_through_its_type():
    history = {
        "home_care": pd.DataFrame(
            {
                "month": pd.to_datetime(["2023-12-01"]),
                "personal_care_granted": [60],
                "practical_help_granted": [30],
            }
        ),
        "weights": pd.DataFrame({"measured_date": pd.to_datetime(["2024-01-05"]), "weight_kg": [61.5]}),
    }
    document = facts_for(history)
    typed = CitizenFacts.from_json(document)
    assert typed.to_json() == document
    assert typed.home_care[0].minutes_per_week == 90
    assert typed.weights == (WeightFact("2024-01-05", 61.5),)


def test_home_care_is_written_as_granted_minutes_only():
    history = {
        "home_care": pd.DataFrame(
            {
                "month": pd.to_datetime(["2023-12-01"]),
                "personal_care_granted": [60],
                "practical_help_granted": [30],
                "personal_care_delivered": [40],
                "practical_help_delivered": [20],
            }
        )
    }
    (month,) = facts_for(history)["home_care"]
    assert set(month) == {"month", "personal_care_granted", "practical_help_granted"}


def test_a_document_with_another_vocabulary_is_refused_by_the_reader():
    document = facts_for({})
    document["home_care"] = [
        {"month": "2023-12-01", "personal_care_delivered": 60, "practical_help_delivered": 0}
    ]
    with pytest.raises(FactsDocumentError, match="home_care"):
        CitizenFacts.from_json(document)
    with pytest.raises(FactsDocumentError, match="never writes"):
        CitizenFacts.from_json({**facts_for({}), "medicine_count": 3})


def test_a_value_of_the_wrong_kind_is_refused_by_the_reader():
    with pytest.raises(FactsDocumentError, match="falls_count_12m"):
        CitizenFacts.from_json({**facts_for({}), "falls_count_12m": "3"})
    with pytest.raises(FactsDocumentError, match="living_alone"):
        CitizenFacts.from_json({**facts_for({}), "living_alone": 1})
