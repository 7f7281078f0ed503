"""The hidden truth is the simulation's own hazards integrated forward, and it predicts what happens."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from synthetic import model
from synthetic.model import LatentState
from synthetic.truth import TRUTH_COLUMNS, outcome_probabilities
from synthetic.world import read_truth
from tests.synthetic.reading import read_source


def _random_state(n: int, seed: int = 0) -> tuple[LatentState, np.ndarray]:
    rng = np.random.default_rng(seed)
    state = LatentState(
        age=rng.uniform(60, 100, n),
        male=rng.random(n) < 0.5,
        frailty=rng.normal(0, 0.8, n),
        recent=rng.random(n) * (rng.random(n) < 0.3),
        conditions=rng.random((n, 6)) < 0.15,
        nursing_home=rng.random(n) < 0.1,
        home_care_level=rng.integers(0, 5, n),
        living_alone=rng.random(n) < 0.4,
        fall_risk_drugs=rng.integers(0, 3, n),
    )
    return state, (rng.random(n) < 0.1).astype(float)


def _month_by_month(state: LatentState, decline: np.ndarray) -> dict[str, np.ndarray]:
    """Reference: evaluate every hazard at every future month of the projection."""
    p_decline = decline.copy()
    onset = model.probability(model.decline_onset_hazard(state))
    admitted, no_admission_alive = np.zeros(state.age.size), np.ones(state.age.size)
    alive, no_event, result = np.ones(state.age.size), np.ones(state.age.size), {}
    for k in range(12):
        s = replace(
            state,
            age=state.age + k / 12,
            frailty=state.frailty + k * model.FRAILTY_PER_YEAR / 12,
            recent=state.recent * model.RECENT_DECAY**k,
        )
        death_rate = model.death_hazard(s).at(p_decline)
        admission = model.probability(
            model.admission_hazard(s).at(p_decline) + model.fall_admission_hazard(s).at(p_decline)
        )
        death = model.probability(death_rate)
        event = model.probability(
            death_rate
            + model.injurious_fall_hazard(s).at(p_decline)
            + model.home_care_increase_hazard(s).at(p_decline)
            + model.nursing_home_hazard(s).at(p_decline)
        )
        admitted += no_admission_alive * admission
        no_admission_alive *= (1 - admission) * (1 - death)
        alive *= 1 - death
        no_event *= 1 - event
        p_decline = p_decline * (1 - model.DECLINE_END_PER_MONTH) + (1 - p_decline) * onset
        if k + 1 in (6, 12):
            result[f"p_admission_{k + 1}m"] = admitted.copy()
            result[f"p_death_{k + 1}m"] = 1 - alive
            result[f"p_frailty_{k + 1}m"] = 1 - no_event
    return result


def test_truth_equals_the_hazards_evaluated_month_by_month():
    state, decline = _random_state(3_000)
    fast = outcome_probabilities(state, decline)
    slow = _month_by_month(state, decline)
    for name in TRUTH_COLUMNS:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-9, atol=1e-12)


def test_probabilities_are_within_zero_and_one_and_grow_with_the_horizon(small_world):
    truth = read_truth(small_world).to_pandas()
    for name in TRUTH_COLUMNS:
        assert truth[name].between(0, 1).all()
    for outcome in ("admission", "death", "frailty"):
        assert (truth[f"p_{outcome}_12m"] >= truth[f"p_{outcome}_6m"]).all()


def test_truth_rows_are_one_per_citizen_and_month(small_world):
    truth = read_truth(small_world).to_pandas()
    assert not truth.duplicated(["cpr", "month"]).any()
    assert (pd.to_datetime(truth["month"]).dt.day == 1).all()


def _admitted_within_a_year(world, month: pd.Timestamp) -> set[str]:
    contacts = read_source(world, "lpr3_contacts").drop_duplicates("DW_EK_KONTAKT", keep="last")
    start = pd.to_datetime(contacts["KONT_STARTTIDSPUNKT"])
    hours = (pd.to_datetime(contacts["KONT_SLUTTIDSPUNKT"]) - start).dt.total_seconds() / 3600
    unplanned = (contacts["PRIORITET"] == "ATA1") & (contacts["KONT_TYPE"] == "ALCA00") & (hours >= 12)
    window = (start > month) & (start <= month + pd.DateOffset(months=12))
    return set(contacts.loc[unplanned & window, "PNR"])


def test_the_top_decile_of_true_risk_is_admitted_several_times_as_often_as_the_bottom_half(small_world):
    month = pd.Timestamp("2019-01-01")
    truth = read_truth(small_world).to_pandas()
    truth = truth[pd.to_datetime(truth["month"]) == month].copy()
    truth["admitted"] = truth["cpr"].isin(_admitted_within_a_year(small_world, month))
    top = truth["p_admission_12m"] >= truth["p_admission_12m"].quantile(0.9)
    bottom = truth["p_admission_12m"] <= truth["p_admission_12m"].median()
    assert truth.loc[top, "admitted"].mean() > 3 * truth.loc[bottom, "admitted"].mean()


def test_the_mean_true_risk_matches_the_observed_rate(small_world):
    month = pd.Timestamp("2019-01-01")
    truth = read_truth(small_world).to_pandas()
    truth = truth[pd.to_datetime(truth["month"]) == month]
    observed = truth["cpr"].isin(_admitted_within_a_year(small_world, month)).mean()
    assert abs(truth["p_admission_12m"].mean() - observed) < 0.2 * observed


def test_truth_carries_the_latent_state_the_probabilities_come_from(small_world):
    truth = read_truth(small_world).to_pandas()
    assert set(truth["latent_decline"].unique()) <= {0.0, 1.0}
    assert truth["latent_decline"].mean() < 0.1, "decline episodes are short and rare"
    # frailer citizens carry more risk: the latent score orders the true admission probability
    by_frailty = truth.groupby(pd.qcut(truth["latent_frailty"], 4), observed=True)["p_admission_12m"].mean()
    assert by_frailty.is_monotonic_increasing
