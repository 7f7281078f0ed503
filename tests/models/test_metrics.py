"""Metrics agree with scikit-learn and with values computed by hand."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.metrics import (
    auprc,
    auroc,
    brier,
    calibration_intercept,
    calibration_slope,
    evaluate_with_ci,
    integrated_calibration_index,
    net_benefit,
    net_benefit_treat_all,
    person_bootstrap_indices,
)


@pytest.fixture(scope="module")
def calibrated_sample():
    rng = np.random.default_rng(1)
    p = 1 / (1 + np.exp(-rng.normal(-2, 1, 40_000)))
    y = (rng.random(len(p)) < p).astype(float)
    return y, p


def test_discrimination_and_brier_match_scikit_learn(calibrated_sample):
    y, p = calibrated_sample
    assert auroc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert auprc(y, p) == pytest.approx(average_precision_score(y, p))
    assert brier(y, p) == pytest.approx(brier_score_loss(y, p))


def test_brier_by_hand():
    assert brier(np.array([1, 0, 1]), np.array([0.5, 0.5, 1.0])) == pytest.approx((0.25 + 0.25 + 0) / 3)


def test_auroc_with_one_class_is_not_defined():
    assert np.isnan(auroc(np.zeros(5), np.linspace(0, 1, 5)))


def test_calibrated_predictions_have_slope_one_intercept_zero_and_small_ici(calibrated_sample):
    y, p = calibrated_sample
    assert calibration_slope(y, p) == pytest.approx(1.0, abs=0.06)
    assert calibration_intercept(y, p) == pytest.approx(0.0, abs=0.05)
    assert integrated_calibration_index(y, p) < 0.01


def test_too_extreme_predictions_have_slope_below_one(calibrated_sample):
    y, p = calibrated_sample
    logit = np.log(p / (1 - p))
    extreme = 1 / (1 + np.exp(-(2 * logit + 2)))  # twice the spread around the same centre
    assert calibration_slope(y, extreme) == pytest.approx(0.5, abs=0.05)
    assert integrated_calibration_index(y, extreme) > 0.02


def test_underpredicting_gives_positive_intercept(calibrated_sample):
    y, p = calibrated_sample
    assert calibration_intercept(y, p / 2) > 0.5


def test_net_benefit_by_hand():
    y = np.array([1, 1, 0, 0, 0])
    p = np.array([0.9, 0.2, 0.6, 0.1, 0.05])
    # threshold 0.5 flags rows 0 and 2: one true and one false positive
    assert net_benefit(y, p, 0.5) == pytest.approx(1 / 5 - 1 / 5 * 1.0)
    assert net_benefit_treat_all(y, 0.2) == pytest.approx(0.4 - 0.6 * 0.25)


def test_person_bootstrap_moves_all_rows_of_a_person_together():
    clusters = np.array(["a", "a", "a", "b", "c", "c"])
    for rows in person_bootstrap_indices(clusters, 50, np.random.default_rng(0)):
        drawn = clusters[rows]
        for person, size in (("a", 3), ("b", 1), ("c", 2)):
            assert (drawn == person).sum() % size == 0


def test_bootstrap_interval_brackets_the_estimate_and_repeats_with_the_seed(calibrated_sample):
    y, p = calibrated_sample
    persons = np.arange(len(y)) // 4
    first = evaluate_with_ci(y[:4000], p[:4000], persons[:4000], samples=30, seed=5)
    second = evaluate_with_ci(y[:4000], p[:4000], persons[:4000], samples=30, seed=5)
    for name, estimate in first.items():
        assert estimate.lower <= estimate.value <= estimate.upper, name
        assert second[name] == estimate
