"""Calibrators fix miscalibrated probabilities and survive a JSON round trip."""

import numpy as np
import pytest

from models.calibration import Calibrator
from models.metrics import integrated_calibration_index


@pytest.fixture(scope="module")
def overconfident():
    rng = np.random.default_rng(2)
    truth = 1 / (1 + np.exp(-rng.normal(-2, 1, 30_000)))
    y = (rng.random(len(truth)) < truth).astype(float)
    logit = np.log(truth / (1 - truth))
    raw = 1 / (1 + np.exp(-(2 * logit + 1)))
    return raw, y


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibration_reduces_ici(overconfident, method):
    raw, y = overconfident
    calibrator = Calibrator(method).fit(raw[:15_000], y[:15_000])
    before = integrated_calibration_index(y[15_000:], raw[15_000:])
    after = integrated_calibration_index(y[15_000:], calibrator.transform(raw[15_000:]))
    assert after < before / 3


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_round_trip_gives_identical_predictions(overconfident, method):
    raw, y = overconfident
    calibrator = Calibrator(method).fit(raw, y)
    again = Calibrator.from_dict(calibrator.to_dict())
    np.testing.assert_array_equal(calibrator.transform(raw), again.transform(raw))


def test_one_outcome_class_is_refused():
    with pytest.raises(ValueError, match="both outcomes"):
        Calibrator().fit(np.array([0.1, 0.2]), np.array([0.0, 0.0]))


@pytest.mark.parametrize("method", ["isotonic", "platt", "auto"])
def test_an_unfitted_calibrator_raises_instead_of_returning_its_input(method):
    with pytest.raises(RuntimeError, match="not fitted"):
        Calibrator(method).transform(np.array([0.1, 0.2]))


def test_auto_uses_isotonic_only_with_enough_events_and_non_events(overconfident):
    raw, y = overconfident
    assert Calibrator("auto").fit(raw, y).method_ == "isotonic"  # thousands of events
    few = np.r_[np.flatnonzero(y == 1)[:40], np.flatnonzero(y == 0)[:660]]
    small = Calibrator("auto").fit(raw[few], y[few])
    assert small.method_ == "platt"
    assert small.events_ == 40


def test_no_calibrated_risk_is_exactly_zero_or_one(overconfident):
    raw, y = overconfident
    # the lowest raw risks have no events: isotonic would give them exactly 0
    order = np.argsort(raw)
    y = y.copy()
    y[order[:2000]] = 0
    y[order[-200:]] = 1
    for method in ("isotonic", "platt"):
        risk = Calibrator(method).fit(raw, y).transform(np.r_[raw, 0.0, 1.0])
        assert risk.min() > 0, method
        assert risk.max() < 1, method


def test_a_calibrator_file_written_before_auto_still_loads(overconfident):
    raw, y = overconfident
    fitted = Calibrator("isotonic").fit(raw, y)
    old = {"method": "isotonic", "knots_x": fitted.knots_x_, "knots_y": fitted.knots_y_, "platt": [0.0, 1.0]}
    np.testing.assert_array_equal(Calibrator.from_dict(old).transform(raw), fitted.transform(raw))
    platt = Calibrator("platt").fit(raw, y)
    old_platt = {"method": "platt", "knots_x": [], "knots_y": [], "platt": list(platt.platt_)}
    np.testing.assert_array_equal(Calibrator.from_dict(old_platt).transform(raw), platt.transform(raw))
