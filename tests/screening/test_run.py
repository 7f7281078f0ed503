"""The screening run's policy: when a run refuses, and how the published lists are assembled.

``plan_run`` is given in-memory fakes of its inputs (the RunInputs protocol) and of the champion models
(the RiskModelLike protocol); nothing is monkeypatched and nothing is written.
"""

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from screening.config import ScreeningConfig
from screening.run import CitizenHistory, PreviousList, Published, Refused, plan_run, score_frame

AS_OF = dt.date(2024, 3, 4)
FEATURES = ["age_years", "acute_admissions_count_0_to_365d", "distinct_drugs_distinct_count_0_to_90d"]
COEFFICIENTS = np.array([0.04, 0.9, 0.12])
THRESHOLD = 0.25


class FakeRiskModel:
    """A logistic model with exact linear SHAP values."""

    feature_names = FEATURES
    feature_set_version = "fs-test"

    def __init__(self, version="1"):
        self.version = version

    def _matrix(self, features):
        return features[FEATURES].to_numpy(dtype=float)

    def predict_risk(self, features):
        return 1 / (1 + np.exp(-(-8.0 + self._matrix(features) @ COEFFICIENTS)))

    def contributions(self, features):
        centred = self._matrix(features) - np.array([80.0, 0.5, 4.0])
        return pd.DataFrame(centred * COEFFICIENTS, index=features.index, columns=FEATURES)


def population(seed=0, extra_admissions=0, n=300):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "person_key": [f"pk{i:03d}" for i in range(n)],
            "prediction_date": pd.Timestamp(AS_OF),
            "municipality": "101",
            "district": [f"101-0{i % 3 + 1}" for i in range(n)],
            "age_years": rng.integers(66, 95, n).astype(float),
            "sex_female": rng.integers(0, 2, n).astype(float),
            "living_alone": rng.integers(0, 2, n).astype(float),
            "acute_admissions_count_0_to_365d": rng.poisson(0.6, n).astype(float) + extra_admissions,
            "distinct_drugs_distinct_count_0_to_90d": rng.poisson(4, n).astype(float),
        }
    )


def batches(*rows):
    default = [
        ("b-lpr-1", "lpr3_contacts", "2024-02-01", "2024-02-02", "landed"),
        ("b-lmdb-1", "lmdb_prescriptions", "2024-02-01", "2024-02-02", "landed"),
    ]
    return pd.DataFrame(
        default + list(rows), columns=["batch_id", "source", "delivered_at", "ingested_at", "status"]
    )


@dataclass
class FakeInputs:
    """RunInputs in memory; records which reads the run made."""

    ledger: pd.DataFrame = field(default_factory=batches)
    today: pd.DataFrame = field(default_factory=population)
    reference: pd.DataFrame = field(default_factory=lambda: population(seed=1, n=1000))
    previous: dict = field(default_factory=dict)
    decisions: pd.DataFrame | None = None
    reads: list = field(default_factory=list)

    def batches(self):
        self.reads.append("batches")
        return self.ledger

    def features_at(self, feature_set_version, as_of):
        self.reads.append(("features_at", feature_set_version, as_of))
        return self.today

    def reference_features(self, feature_set_version, as_of):
        self.reads.append("reference")
        return self.reference

    def history_for(self, person_keys, as_of):
        self.reads.append("history")
        return CitizenHistory()

    def previous_list(self, district, as_of):
        return self.previous.get(district)

    def review_decisions(self):
        return self.decisions


MODELS = {"admission": FakeRiskModel("7")}
CONFIG = ScreeningConfig(capacity=5)


def plan(inputs, config=CONFIG, models=MODELS, threshold=THRESHOLD):
    return plan_run(AS_OF, config, models, inputs, drift_psi_threshold=threshold)


def test_clean_inputs_publish_one_list_per_district_sized_to_capacity():
    result = plan(FakeInputs())
    assert isinstance(result, Published)
    assert result.listed_per_district == {"101-01": 5, "101-02": 5, "101-03": 5}
    assert all(item.header["run_id"] == result.identity.run_id for item in result.lists)


def test_the_run_identity_names_models_feature_set_and_batches_delivered_by_the_date():
    inputs = FakeInputs(ledger=batches(("b-late", "lpr3_contacts", "2024-04-01", "2024-04-02", "landed")))
    identity = plan(inputs).identity
    assert identity.model_versions == {"admission": "7"}
    assert identity.feature_set_version == "fs-test"
    assert identity.data_batches == ("b-lmdb-1", "b-lpr-1")  # b-late was delivered after the date
    assert identity.as_of == AS_OF


def test_the_same_inputs_plan_the_same_run_and_list_ids():
    first, second = plan(FakeInputs()), plan(FakeInputs())
    assert first.identity.run_id == second.identity.run_id
    assert [i.header["list_id"] for i in first.lists] == [i.header["list_id"] for i in second.lists]


def test_a_quarantined_latest_delivery_refuses_before_reading_any_features():
    quarantined = ("b-lpr-2", "lpr3_contacts", "2024-03-01", "2024-03-02", "quarantined")
    inputs = FakeInputs(ledger=batches(quarantined))
    result = plan(inputs)
    assert isinstance(result, Refused)
    assert "lpr3_contacts was quarantined" in result.reason
    assert "previous lists stay current" in result.reason
    assert inputs.reads == ["batches"]


def test_a_corrected_redelivery_after_the_quarantine_lifts_the_refusal():
    quarantined = ("b-lpr-2", "lpr3_contacts", "2024-03-01", "2024-03-02", "quarantined")
    fixed = ("b-lpr-3", "lpr3_contacts", "2024-03-01", "2024-03-03", "landed")
    assert isinstance(plan(FakeInputs(ledger=batches(quarantined, fixed))), Published)


def test_an_empty_cohort_refuses_with_the_date():
    result = plan(FakeInputs(today=population().iloc[0:0]))
    assert isinstance(result, Refused)
    assert result.reason == f"Not published: no citizen is in the scoring cohort at {AS_OF}."


def test_input_drift_over_the_threshold_refuses_naming_the_feature():
    result = plan(FakeInputs(today=population(extra_admissions=3)))
    assert isinstance(result, Refused)
    assert "input drift" in result.reason
    assert "acute_admissions_count_0_to_365d" in result.reason
    assert "tidlig train" in result.reason


def test_a_lower_drift_threshold_is_stricter():
    assert isinstance(plan(FakeInputs(), threshold=0.0), Refused)


def test_the_features_are_read_with_the_ranking_champions_feature_set_at_the_date():
    inputs = FakeInputs()
    plan(inputs)
    assert ("features_at", "fs-test", AS_OF) in inputs.reads


def test_lists_rank_by_risk_highest_first_within_each_district():
    result = plan(FakeInputs())
    for item in result.lists:
        risks = [entry["risk"] for entry in item.entries]
        assert risks == sorted(risks, reverse=True)
        assert [entry["rank"] for entry in item.entries] == list(range(1, len(risks) + 1))


def test_capacity_by_district_sizes_each_list():
    config = ScreeningConfig(capacity=4, capacity_by_district={"101-01": 2, "101-02": 7})
    assert plan(FakeInputs(), config=config).listed_per_district == {"101-01": 2, "101-02": 7, "101-03": 4}


def test_without_a_previous_list_everyone_is_new_and_has_no_previous_risk():
    result = plan(FakeInputs())
    entries = [entry for item in result.lists for entry in item.entries]
    assert all(entry["new_on_list"] for entry in entries)
    assert all(entry["risk_previous"] is None for entry in entries)


def test_a_previous_list_gives_change_since_then_and_who_is_new():
    first = plan(FakeInputs())
    district = first.lists[0]
    listed = [entry["person_key"] for entry in district.entries]
    previous = PreviousList(
        list_id=district.header["list_id"],
        scores={entry["person_key"]: entry["risk"] - 0.01 for entry in district.entries},
        members=frozenset(listed[:2]),
    )
    result = plan(FakeInputs(previous={district.header["district"]: previous}))
    entries = {entry["person_key"]: entry for entry in result.lists[0].entries}
    assert all(abs(entries[p]["risk_change"] - 0.01) < 1e-6 for p in listed if p in entries)
    assert [p for p in listed if p in entries and not entries[p]["new_on_list"]] == listed[:2]
    assert result.lists[0].header["list_id"] != district.header["list_id"]  # the previous list is an input


def test_a_recently_dismissed_citizen_is_not_listed():
    top = plan(FakeInputs()).lists[0].entries[0]["person_key"]
    decisions = pd.DataFrame(
        {"person_key": [top], "decided_on": [AS_OF - dt.timedelta(days=10)], "kind": ["dismissed"]}
    )
    listed = {e["person_key"] for item in plan(FakeInputs(decisions=decisions)).lists for e in item.entries}
    assert top not in listed


def test_every_entry_has_reasons_and_an_action_and_its_facts_are_published():
    result = plan(FakeInputs())
    for item in result.lists:
        assert {fact["person_key"] for fact in item.facts} == {e["person_key"] for e in item.entries}
        for entry in item.entries:
            assert 1 <= len(entry["reasons_en"]) == len(entry["reasons_da"])
            assert entry["suggested_action_en"]


def test_the_exported_aggregates_come_with_the_plan():
    result = plan(FakeInputs())
    assert {"dimension", "group", "listed"} <= set(result.capacity_analytics.columns)
    assert result.exclusions["rule"].iloc[0] == "scored"


def test_a_run_without_the_ranking_outcomes_champion_is_a_programming_error():
    with pytest.raises(ValueError, match="admission"):
        plan(FakeInputs(), models={"death": FakeRiskModel()})


def test_an_open_review_item_that_holds_publication_refuses_with_its_reason_before_any_read():
    inputs = FakeInputs()
    hold = "Held by monitoring item abc: score PSI 0.41 in 101-02 outside <= 0.25. Acknowledge it."
    result = plan_run(AS_OF, CONFIG, MODELS, inputs, drift_psi_threshold=THRESHOLD, holds=[hold])
    assert isinstance(result, Refused)
    assert hold in result.reason
    assert "1 open review item(s) hold publication" in result.reason
    assert "previous lists stay current" in result.reason
    assert inputs.reads == ["batches"]  # the identity only: no features read


def test_many_holds_refuse_with_a_few_lines_a_count_and_the_next_step_once():
    from monitoring.store import ACKNOWLEDGE_HINT

    holds = [
        f"item {n:02d}: input_psi 0.3{n:02d} is outside its band for feature_{n} in all districts"
        for n in range(12)
    ]
    result = plan_run(AS_OF, CONFIG, MODELS, FakeInputs(), drift_psi_threshold=THRESHOLD, holds=holds)
    assert isinstance(result, Refused)
    lines = result.reason.splitlines()
    assert lines[0] == (
        "Not published: 12 open review item(s) hold publication until an analyst acknowledges them:"
    )
    assert lines[1:6] == [f"- {hold}" for hold in holds[:5]]
    assert lines[6] == "- ... and 7 more (all on the Monitoring page)"
    assert len(lines) == 8
    assert lines[7].startswith("The previous lists stay current. Next: ")
    assert ACKNOWLEDGE_HINT.format(item_id="ITEM_ID") in lines[7]


def test_input_drift_refuses_with_one_line_per_drifted_input_and_the_next_step():
    result = plan(FakeInputs(today=population(extra_admissions=3)))
    assert isinstance(result, Refused)
    lines = result.reason.splitlines()
    assert lines[0].startswith("Not published: input drift in ")
    drifted = [line for line in lines if line.startswith("- ")]
    assert drifted
    assert all(": PSI " in line for line in drifted)
    assert lines[-1].startswith("The previous lists stay current. Next: check the latest deliveries")


def test_without_holds_the_same_inputs_publish():
    assert isinstance(
        plan_run(AS_OF, CONFIG, MODELS, FakeInputs(), drift_psi_threshold=THRESHOLD, holds=[]), Published
    )


def windowed_population(seed, date, five_year_visits, n=400):
    rng = np.random.default_rng(seed)
    frame = population(seed=seed, n=n).assign(prediction_date=pd.Timestamp(date))
    return frame.assign(gp_contacts_count_0_to_1825d=rng.poisson(five_year_visits, n).astype(float))


class WindowedModel(FakeRiskModel):
    feature_names = (*FEATURES, "gp_contacts_count_0_to_1825d")


def test_a_five_year_window_longer_than_the_training_history_is_not_a_drift_alarm():
    """Training dates 1 and 2 years after the history starts see 1-2 years of GP contacts; today sees 5.
    The counts differ only because history grew; with the history start known, no reference date is
    comparable for that window, so it cannot block the list. Without it the same data refuse."""
    start = dt.date(2019, 3, 1)
    reference = pd.concat(
        [windowed_population(1, dt.date(2020, 3, 4), 4), windowed_population(2, dt.date(2021, 3, 4), 8)]
    )
    inputs = FakeInputs(today=windowed_population(3, AS_OF, 20), reference=reference)
    models = {"admission": WindowedModel("7")}
    judged = plan_run(AS_OF, CONFIG, models, inputs, drift_psi_threshold=THRESHOLD, history_start=start)
    assert isinstance(judged, Published)
    naive = plan_run(AS_OF, CONFIG, models, inputs, drift_psi_threshold=THRESHOLD)
    assert isinstance(naive, Refused)
    assert "gp_contacts_count_0_to_1825d" in naive.reason


def test_objectors_are_neither_scored_nor_listed_and_only_counted_among_the_exclusions():
    inputs = FakeInputs()
    everyone = plan(inputs)
    top = [item.entries[0]["person_key"] for item in everyone.lists]
    result = plan_run(AS_OF, CONFIG, MODELS, FakeInputs(), drift_psi_threshold=THRESHOLD, objections=top)
    listed = {entry["person_key"] for item in result.lists for entry in item.entries}
    scored = {row["person_key"] for item in result.lists for row in item.scores}
    facts = {row["person_key"] for item in result.lists for row in item.facts}
    assert not set(top) & (listed | scored | facts)
    rules = result.exclusions.set_index("rule")
    assert rules.loc["objection_registered", "removed"] == len(top)
    assert result.exclusions["rule"].iloc[:2].tolist() == ["objection_registered", "scored"]
    assert rules.loc["scored", "remaining"] == len(population()) - len(top)
    assert not any(key in str(result.exclusions.to_dict()) for key in top)  # counted, never named


def test_with_an_empty_register_the_objection_rule_is_reported_with_nobody_removed():
    result = plan_run(AS_OF, CONFIG, MODELS, FakeInputs(), drift_psi_threshold=THRESHOLD, objections=())
    assert result.exclusions.set_index("rule").loc["objection_registered", "removed"] == 0


def test_scoring_adds_the_risk_columns_and_leaves_the_feature_frame_as_it_was():
    features = pd.DataFrame({"person_key": ["a", "b"], "age": [81.0, 90.0]})
    before = features.copy()

    class Model:
        def predict_risk(self, frame):
            return frame["age"].to_numpy() / 100

    scored = score_frame(features, {"admission": Model()}, "admission")
    scored.loc[0, "age"] = 0.0  # a later step changing the scored frame does not reach the features
    pd.testing.assert_frame_equal(features, before)
    assert scored["risk"].tolist() == scored["risk_admission"].tolist() == [0.81, 0.9]
