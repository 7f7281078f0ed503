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
