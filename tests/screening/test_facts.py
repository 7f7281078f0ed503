"""Facts as known at the as-of date, from hand-built history rows."""

import datetime as dt

import pandas as pd
import pytest

from screening.facts import (
    CitizenFacts,
    FactsDocumentError,
    WeightFact,
    build_facts,
    build_facts_table,
    is_acute_admission,
)

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


def several_citizens_history() -> dict[str, pd.DataFrame]:
    """History rows of three citizens, interleaved, in every table (p3 has none; p2 only some)."""
    admissions = contacts(
        [
            ("2023-06-01 10:00", "2023-06-03 10:00", "acute", "physical"),
            ("2023-09-01 10:00", "2023-09-01 11:00", "acute", "physical"),  # short: not an admission
            ("2023-11-01 10:00", "2023-11-04 10:00", "acute", "physical"),
            ("2022-01-05 10:00", "2022-01-09 10:00", "acute", "physical"),  # older than 24 months
            ("2024-01-10 10:00", None, "acute", "physical"),  # still admitted
        ]
    ).assign(person_key=["p1", "p2", "p1", "p2", "p2"])
    return {
        "hospital_contacts": admissions,
        "home_care": pd.DataFrame(
            {
                "person_key": ["p1", "p2", "p1", "p1", "p2"],
                "month": pd.to_datetime(
                    ["2023-12-01", "2023-11-01", "2023-10-01", "2024-02-01", "2024-01-01"]
                ),
                "personal_care_granted": [60, 30, 30, 120, None],
                "practical_help_granted": [30, 0, 0, 30, 60],
            }
        ),
        "fsiii_functional_ability": pd.DataFrame(
            {
                "person_key": ["p1", "p1", "p2", "p1", "p1", "p2"],
                "code": ["J3", "J1", "J1", "J1", "J2", "J2"],
                "score": [3, 2, 9, 1, 1, 4],
                "assessed_date": pd.to_datetime(
                    ["2024-01-05", "2024-01-05", "2023-12-01", "2023-08-01", "2023-08-01", "2023-12-01"]
                ),
            }
        ),
        "prescriptions": pd.DataFrame(
            {
                "person_key": ["p2", "p1", "p2", "p1", "p1"],
                "dispensing_date": pd.to_datetime(
                    ["2024-02-01", "2024-02-10", "2024-02-01", "2023-01-01", "2024-03-01"]
                ),
                "atc": ["N05CF01", "C03CA01", "A10BA02", "B01AC06", None],
            }
        ),
        "falls": pd.DataFrame(
            {
                "person_key": ["p1", "p2", "p1"],
                "fall_date": pd.to_datetime(["2024-02-01", "2023-12-24", "2023-11-11"]),
                "injury": [True, None, False],
            }
        ),
        "weights": pd.DataFrame(
            {
                "person_key": ["p2", "p1", "p1", "p2", "p1"],
                "measured_date": pd.to_datetime(
                    ["2023-10-01", "2023-10-15", "2024-02-15", "2024-02-01", "2023-01-01"]
                ),
                "weight_kg": [80.0, 64.25, 60.1, 76.0, 70.0],
            }
        ),
        "gp_services": pd.DataFrame(
            {
                "person_key": ["p1", "p2", "p1", "p1"],
                "service_date": pd.to_datetime(["2024-02-01", "2024-01-01", "2023-10-01", "2024-03-01"]),
                "services": [2, 1, None, 3],
            }
        ),
        "home_nursing_visits": pd.DataFrame(
            {"person_key": ["p2", "p2"], "visit_date": pd.to_datetime(["2024-02-01", "2023-01-01"])}
        ),
    }


def test_facts_built_for_several_citizens_at_once_are_each_ones_own_facts_built_alone():
    rows = pd.DataFrame(
        {
            "person_key": ["p1", "p2", "p3"],
            "age_years": [84.6, 71.0, None],
            "sex_female": [1.0, 0.0, 1.0],
            "living_alone": [1.0, 0.0, None],
            "heart_failure_diagnoses_count_0_to_1825d": [1.0, 0.0, 2.0],
            "hfrs_score_0_to_730d": [7.25, None, 3.0],
        }
    )
    history = several_citizens_history()
    risks = {"p1": {"admission": 0.31}, "p2": {"admission": 0.2}, "p3": {"admission": 0.05}}
    together = build_facts_table(rows, history, AS_OF, risks)
    for person in ("p1", "p2", "p3"):
        own = {
            table: frame.loc[frame["person_key"] == person].drop(columns="person_key").reset_index(drop=True)
            for table, frame in history.items()
        }
        own = {table: frame for table, frame in own.items() if not frame.empty}
        row = rows.loc[rows["person_key"] == person].iloc[0].to_dict()
        assert together[person] == build_facts(row, own, AS_OF, risks[person])
    assert together["p1"]["admissions_count_12m"] == 2
    assert together["p2"]["fsiii_mean_score"] == 4.0  # score 9 (not assessed) is left out
    assert together["p3"] == build_facts(rows.iloc[2].to_dict(), {}, AS_OF, risks["p3"])
