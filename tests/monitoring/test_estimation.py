"""CBPE: expected metrics from calibrated risks equal what outcomes drawn from those risks give on average."""

import numpy as np
import pytest

from models.metrics import auroc
from monitoring.estimation import METHOD, expected_auroc, expected_performance


def test_expected_auroc_is_the_mean_auroc_of_outcomes_drawn_from_the_risks():
    rng = np.random.default_rng(0)
    risk = rng.beta(1, 8, 3000)
    draws = [auroc((rng.random(len(risk)) < risk).astype(float), risk) for _ in range(200)]
    assert expected_auroc(risk) == pytest.approx(np.mean(draws), abs=0.003)


def test_equal_risks_cannot_discriminate():
    assert expected_auroc(np.full(100, 0.2)) == pytest.approx(0.5)
    assert np.isnan(expected_auroc(np.array([0.3])))


def test_expected_ppv_and_capture_come_from_the_listed_risks():
    risk = np.array([0.9, 0.5, 0.1, 0.1, 0.1, 0.1])
    listed = np.array([True, True, False, False, False, False])
    result = expected_performance(risk, listed, simulations=50)
    assert result.expected_ppv == pytest.approx(0.7)
    assert result.expected_events_captured == pytest.approx(1.4)
    assert result.expected_share_captured == pytest.approx(1.4 / 1.8)
    assert result.expected_ppv_low <= result.expected_ppv <= result.expected_ppv_high
    assert result.method == METHOD
    assert "CBPE" in METHOD


def test_the_interval_holds_the_realised_auroc_of_most_draws():
    rng = np.random.default_rng(1)
    risk = rng.beta(1, 6, 2000)
    result = expected_performance(risk, risk > np.quantile(risk, 0.95), simulations=200, seed=2)
    realised = [auroc((rng.random(len(risk)) < risk).astype(float), risk) for _ in range(100)]
    inside = np.mean([result.expected_auroc_low <= value <= result.expected_auroc_high for value in realised])
    assert inside > 0.85


def test_risk_and_listed_must_match():
    with pytest.raises(ValueError, match="one value per scored person"):
        expected_performance(np.array([0.1, 0.2]), np.array([True]))


def test_the_simulated_auroc_equals_the_platforms_auroc_with_ties():
    from scipy import stats

    from monitoring.estimation import _auroc_from_ranks

    rng = np.random.default_rng(4)
    risk = np.round(rng.beta(1, 5, 500), 2)  # many ties
    y = rng.random(500) < risk
    assert _auroc_from_ranks(stats.rankdata(risk), y) == pytest.approx(auroc(y.astype(float), risk))
