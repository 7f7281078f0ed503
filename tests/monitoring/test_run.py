"""A monitor run on the synthetic monitoring world: planted faults are flagged, a clean world is quiet."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from monitoring.config import MetricBand, MonitorConfig
from monitoring.run import maturity_of, run_monitor
from tests.monitoring.world import World

CONFIG = MonitorConfig(simulations=40)
AFTER_LAST_LIST = dt.date(2024, 2, 1)


def test_a_district_whose_home_care_source_stops_is_flagged_and_holds_publication():
    report = run_monitor(World(home_care_stops_in="d2"), CONFIG, AFTER_LAST_LIST)
    flagged = {
        (item.scope["district"], item.scope["feature"]) for item in report.items if item.metric == "input_psi"
    }
    assert ("d2", "home_care_minutes_mean_0_to_90d") in flagged
    assert not {district for district, _ in flagged} & {"d1", "d3"}
    assert all(item.holds_publication for item in report.items if item.metric == "input_psi")
    assert report.holds


def test_a_diagnosis_code_coded_differently_is_flagged_with_a_chi_square_test():
    report = run_monitor(World(i50_recoded_after=dt.date(2023, 12, 1)), CONFIG, AFTER_LAST_LIST)
    item = next(item for item in report.items if item.scope.get("feature") == "diagnosis_i50_count_0_to_365d")
    assert item.evidence["test"] == "chi_square"
    assert item.evidence["p_value"] < 1e-6


def test_a_five_year_window_growing_with_the_history_is_not_an_alarm():
    report = run_monitor(World(), CONFIG, AFTER_LAST_LIST)
    long_window = report.drift.loc[report.drift["feature"] == "gp_contacts_count_0_to_1825d"]
    assert not long_window["comparable"].any()
    assert long_window["psi"].isna().all()
    assert not [item for item in report.items if item.metric == "input_psi"]


def test_a_clean_world_opens_no_review_item():
    world = World(persons=6000, districts=("d1", "d2"), seed=11)
    report = run_monitor(world, CONFIG, AFTER_LAST_LIST)
    assert [item.message for item in report.items] == []


def test_a_calibration_decay_is_flagged_once_outcomes_mature_and_not_before():
    world = World(persons=6000, districts=("d1", "d2"), risk_multiplier=1.6, seed=11)
    before = run_monitor(world, CONFIG, dt.date(2023, 3, 1))
    assert before.realised.empty
    assert not [item for item in before.items if item.metric == "observed_expected"]
    after = run_monitor(world, CONFIG, dt.date(2024, 1, 15))
    decayed = [item for item in after.items if item.metric in ("observed_expected", "calibration_intercept")]
    assert {item.scope["list_id"] for item in decayed} == {"d1-2023-01-02", "d2-2023-01-02"}
    assert all(item.scope["stage"] == "mature" for item in decayed)
    assert all(item.value > 1.25 for item in decayed if item.metric == "observed_expected")


def test_lists_are_evaluated_halfway_as_partial_and_at_the_horizon_as_mature():
    assert maturity_of(dt.date(2023, 1, 2), dt.date(2023, 6, 1), 12) is None
    assert maturity_of(dt.date(2023, 1, 2), dt.date(2023, 7, 2), 12) == ("partial", dt.date(2023, 7, 2))
    assert maturity_of(dt.date(2023, 1, 2), dt.date(2024, 1, 2), 12) == ("mature", dt.date(2024, 1, 2))
    report = run_monitor(World(), CONFIG, AFTER_LAST_LIST)
    stages = report.realised.drop_duplicates(["list_id", "maturity"]).set_index("list_id")["maturity"]
    assert stages.to_dict() == {
        "d1-2023-01-02": "mature",
        "d2-2023-01-02": "mature",
        "d3-2023-01-02": "mature",
        "d1-2023-07-03": "partial",
        "d2-2023-07-03": "partial",
        "d3-2023-07-03": "partial",
    }
    partial = report.realised.loc[report.realised["maturity"] == "partial"]
    assert partial["observed_expected"].isna().all()  # calibration is judged on mature lists only
    assert partial["auroc"].notna().any()


def test_already_evaluated_stages_are_not_computed_again():
    world = World()
    first = run_monitor(world, CONFIG, AFTER_LAST_LIST)
    done = frozenset(
        {(list_id, "expected") for list_id in first.expected["list_id"]}
        | {(row.list_id, row.maturity) for row in first.realised.itertuples()}
    )
    second = run_monitor(world, CONFIG, AFTER_LAST_LIST, evaluated=done)
    assert second.expected.empty
    assert second.realised.empty
    assert second.run_id == first.run_id  # same date, config and lists: the same run


def test_lists_dated_after_the_monitor_date_are_ignored():
    report = run_monitor(World(), CONFIG, dt.date(2023, 2, 1))
    assert set(report.expected["as_of_date"]) == {dt.date(2023, 1, 2)}


def test_the_expected_auroc_tracks_the_realised_one_without_concept_drift():
    world = World(persons=20000, districts=("d1",), list_dates=(dt.date(2023, 1, 2),), capacity=400, seed=3)
    report = run_monitor(world, CONFIG, dt.date(2024, 2, 1))
    expected = report.expected.set_index("list_id")
    realised = report.realised.query("dimension == 'overall'").set_index("list_id")
    gap = float(expected.loc["d1-2023-01-02", "expected_auroc"] - realised.loc["d1-2023-01-02", "auroc"])
    assert abs(gap) < 0.02
    assert realised.loc["d1-2023-01-02", "observed_expected"] == pytest.approx(1.0, abs=0.08)


def test_a_realised_auroc_short_of_the_expected_one_opens_an_item():
    world = World(persons=6000, districts=("d1",), list_dates=(dt.date(2023, 1, 2),), seed=5)
    shuffled = world._outcomes  # the test world caches drawn outcomes per list
    outcomes = world.outcomes("d1-2023-01-02", dt.date(2024, 1, 2))
    rng = np.random.default_rng(0)
    shuffled["d1-2023-01-02"] = outcomes.assign(
        event=rng.permutation(outcomes["event"].to_numpy()), event_date=pd.NaT
    )  # concept drift: outcomes no longer follow the inputs
    config = MonitorConfig(simulations=20, bands=(MetricBand("auroc_shortfall", high=0.05),))
    report = run_monitor(world, config, dt.date(2024, 2, 1))
    assert [item.metric for item in report.items] == ["auroc_shortfall"]
    assert report.items[0].evidence["expected_auroc"] > report.items[0].evidence["realised_auroc"] + 0.05


def test_the_report_summary_names_the_method_and_the_worst_drift():
    report = run_monitor(World(home_care_stops_in="d2"), CONFIG, AFTER_LAST_LIST)
    text = report.summary()
    assert "CBPE" in text
    assert "home_care_minutes_mean_0_to_90d in d2" in text


@pytest.mark.parametrize("seed", [1, 2])
def test_small_districts_noise_outside_a_band_opens_no_item_without_evidence(seed):
    world = World(persons=900, districts=("d1", "d2", "d3"), capacity=10, seed=seed)
    naive = run_monitor(world, MonitorConfig(simulations=100, require_evidence=False), AFTER_LAST_LIST)
    assert naive.items  # the bands alone alarm on a small district's noise
    judged = run_monitor(world, MonitorConfig(simulations=100), AFTER_LAST_LIST)
    assert [item.message for item in judged.items] == []


def test_a_half_matured_list_alarms_only_when_configured():
    world = World(
        persons=6000, districts=("d1",), list_dates=(dt.date(2023, 7, 3),), risk_multiplier=0.3, seed=2
    )
    shown = run_monitor(world, CONFIG, AFTER_LAST_LIST)
    assert set(shown.realised["maturity"]) == {"partial"}
    assert shown.items == ()
    bands = (MetricBand("realised_auroc", low=0.99),)
    strict = MonitorConfig(simulations=40, bands=bands, alert_on_partial=True, require_evidence=False)
    assert [item.metric for item in run_monitor(world, strict, AFTER_LAST_LIST).items] == ["realised_auroc"]
