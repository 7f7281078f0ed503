"""The promotion gate on constructed cases: promote, and reject for each rule."""

import numpy as np
import pandas as pd
import pytest

from models.gate import CandidateScores, decide_promotion, judge_challenger

CHAMPION = CandidateScores(
    auroc=0.75, calibration_slope=1.0, ici=0.01, subgroup_auroc={("sex", "male"): 0.74}
)


def test_a_challenger_as_good_as_the_champion_is_promoted():
    challenger = CandidateScores(0.747, 1.05, 0.01, {("sex", "male"): 0.70})
    decision = decide_promotion(challenger, CHAMPION)
    assert decision.promote
    assert all(reason.startswith("PASS") for reason in decision.reasons)


def test_an_auroc_drop_beyond_the_tolerance_is_rejected():
    decision = decide_promotion(CandidateScores(0.744, 1.0, 0.01, {("sex", "male"): 0.74}), CHAMPION)
    assert not decision.promote
    assert any(reason.startswith("FAIL AUROC") for reason in decision.reasons)


@pytest.mark.parametrize("slope", [0.79, 1.21])
def test_a_slope_outside_the_range_is_rejected(slope):
    decision = decide_promotion(CandidateScores(0.80, slope, 0.01, {("sex", "male"): 0.8}), CHAMPION)
    assert not decision.promote
    assert any(reason.startswith("FAIL calibration slope") for reason in decision.reasons)


def test_a_subgroup_auroc_drop_beyond_the_tolerance_is_rejected():
    decision = decide_promotion(CandidateScores(0.80, 1.0, 0.01, {("sex", "male"): 0.68}), CHAMPION)
    assert not decision.promote
    assert any("FAIL subgroup sex=male" in reason for reason in decision.reasons)


def test_the_first_model_must_pass_the_absolute_gates():
    assert decide_promotion(CandidateScores(0.70, 1.0, 0.01), None, age_sex_auroc=0.62).promote
    assert not decide_promotion(CandidateScores(0.58, 1.0, 0.01), None).promote
    assert not decide_promotion(CandidateScores(0.70, 1.0, 0.01), None, age_sex_auroc=0.72).promote
    assert not decide_promotion(CandidateScores(0.70, 1.0, 0.08), None).promote


class _FixedModel:
    """Stands in for a champion RiskModel: fixed risks, fixed features."""

    def __init__(self, risk, feature_names):
        self._risk = risk
        self.feature_names = feature_names
        self.version = "1"

    def predict_risk(self, rows):
        return self._risk


def _test_rows(n=2000, seed=3):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    truth = 1 / (1 + np.exp(-(signal - 1.5)))
    rows = pd.DataFrame(
        {
            "person_key": [f"p{i}" for i in range(n)],
            "sex_female": rng.random(n) < 0.5,
            "signal": signal,
            "label": (rng.random(n) < truth).astype(float),
        }
    )
    return rows, truth


def test_judging_scores_champion_and_challenger_on_the_same_rows():
    rows, truth = _test_rows()
    champion = _FixedModel(truth, ["signal"])
    noisy = 1 / (
        1 + np.exp(-(np.log(truth / (1 - truth)) + np.random.default_rng(9).normal(0, 2, len(truth))))
    )
    assert judge_challenger(rows, truth, champion).promote
    worse = judge_challenger(rows, noisy, champion)
    assert not worse.promote
    assert "champion version 1" in worse.reasons[0]


def test_a_champion_with_absent_features_falls_back_to_the_absolute_gates():
    rows, truth = _test_rows()
    decision = judge_challenger(rows, truth, _FixedModel(truth, ["a_removed_feature"]), age_sex_auroc=0.5)
    assert "absolute gates" in decision.reasons[0]
    assert decision.promote
