"""Capacity per district, deterministic order and IDs, change since the previous list."""

import datetime as dt

import pandas as pd

from screening.config import ScreeningConfig
from screening.lists import assemble_list, build_entries, run_id_for, select_for_lists

AS_OF = dt.date(2024, 3, 4)


def eligible() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_key": ["a", "b", "c", "d", "e", "f", "g"],
            "district": ["d1", "d1", "d1", "d1", "d2", "d2", "d2"],
            "risk": [0.10, 0.40, 0.40, 0.30, 0.05, None, 0.20],
            "age_years": [80.0] * 7,
            "living_alone": [1.0] * 7,
        }
    )


def test_each_district_gets_at_most_its_capacity_highest_risk_first():
    listed = select_for_lists(eligible(), ScreeningConfig(capacity=2))
    assert listed.groupby("district")["person_key"].apply(list).to_dict() == {
        "d1": ["b", "c"],
        "d2": ["g", "e"],
    }
    assert list(listed["rank"]) == [1, 2, 1, 2]


def test_per_district_capacity_overrides_the_default():
    listed = select_for_lists(eligible(), ScreeningConfig(capacity=1, capacity_by_district={"d1": 3}))
    assert listed.groupby("district").size().to_dict() == {"d1": 3, "d2": 1}


def test_zero_capacity_lists_nobody_and_missing_risk_is_never_listed():
    assert select_for_lists(eligible(), ScreeningConfig(capacity=0)).empty
    assert "f" not in set(select_for_lists(eligible(), ScreeningConfig(capacity=10))["person_key"])


def test_order_does_not_depend_on_input_row_order():
    config = ScreeningConfig(capacity=3)
    shuffled = eligible().sample(frac=1, random_state=3)
    pd.testing.assert_frame_equal(select_for_lists(eligible(), config), select_for_lists(shuffled, config))


def minimal_facts() -> dict:
    return {
        "age_years": 80,
        "living_alone": True,
        "admissions_count_12m": 2,
        "home_care_minutes_per_week_now": 0,
        "home_care_minutes_per_week_3m_ago": 0,
        "medicines_count": 0,
        "falls_count_12m": 0,
        "falls_with_injury_12m": 0,
        "weight_change_pct_6m": None,
        "fsiii_mean_score": None,
        "fsiii_previous_mean_score": None,
        "home_nursing_visits_3m": 0,
        "gp_contacts_3m": 0,
        "gp_contacts_previous_3m": 0,
        "hfrs_score": None,
        "charlson_index": None,
        "conditions": [],
    }


def entries_for(previous_scores, previous_members):
    config = ScreeningConfig(capacity=2)
    listed = select_for_lists(eligible(), config)
    d1 = listed.loc[listed["district"] == "d1"]
    contributions = pd.DataFrame({"acute_admissions_count_0_to_365d": [0.5, 0.4]}, index=["b", "c"])
    return build_entries(
        d1,
        contributions,
        facts_by_person={"b": minimal_facts(), "c": minimal_facts()},
        previous_scores=previous_scores,
        previous_members=previous_members,
        as_of=AS_OF,
        config=config,
    )


def test_change_since_previous_list_and_new_on_list_marker():
    entries = entries_for({"b": 0.25, "z": 0.9}, {"b"})
    b, c = entries
    assert (b["risk_previous"], b["risk_change"], b["new_on_list"]) == (0.25, 0.15, False)
    assert (c["risk_previous"], c["risk_change"], c["new_on_list"]) == (None, None, True)


def test_everyone_is_new_on_a_first_list():
    assert all(entry["new_on_list"] for entry in entries_for({}, None))


def test_entries_carry_reasons_action_flags_and_outcome():
    entry = entries_for({}, None)[0]
    assert entry["reasons_en"][0] == "2 acute admissions in the past 12 months"
    assert entry["suggested_action_en"] == "GP contact"
    assert entry["flags"] == ["age_80"]
    assert entry["outcome"] == "admission"


def assemble(entries, **changes):
    arguments = {
        "district": "d1",
        "municipality": "101",
        "as_of": AS_OF,
        "model_versions": {"admission": "3"},
        "feature_set_version": "abc123",
        "data_batches": ["b2", "b1"],
        "run_id": "run-x",
        "config": ScreeningConfig(capacity=2),
        "previous_list_id": None,
        "entries": entries,
        "facts_by_person": {"b": minimal_facts(), "c": minimal_facts()},
        "scores": {"b": 0.4, "c": 0.4, "a": 0.1},
    }
    arguments.update(changes)
    return assemble_list(**arguments)


def test_the_same_inputs_give_the_same_list_id_and_any_change_gives_another():
    entries = entries_for({}, None)
    first = assemble(entries)
    assert first.header["list_id"] == assemble(entries_for({}, None)).header["list_id"]
    assert first.header["list_id"].startswith("20240304-d1-")
    assert assemble(entries, model_versions={"admission": "4"}).header["list_id"] != first.header["list_id"]
    assert assemble(entries, data_batches=["b1"]).header["list_id"] != first.header["list_id"]
    assert assemble(entries, previous_list_id="old").header["list_id"] != first.header["list_id"]
    assert assemble(entries, config=ScreeningConfig(capacity=3)).header["list_id"] != first.header["list_id"]


def test_run_id_is_derived_from_the_run_inputs():
    config = ScreeningConfig()
    first = run_id_for(AS_OF, {"admission": "1"}, "fs", ["b1", "b2"], config)
    assert first == run_id_for(AS_OF, {"admission": "1"}, "fs", ["b2", "b1"], config)
    assert first != run_id_for(AS_OF, {"admission": "2"}, "fs", ["b1", "b2"], config)
