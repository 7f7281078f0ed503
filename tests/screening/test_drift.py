"""Population stability index: zero for the same distribution, large for a shifted one."""

import numpy as np
import pandas as pd

from screening.drift import drift_report, population_stability_index


def test_identical_distributions_have_zero_psi():
    values = pd.Series(np.random.default_rng(1).normal(size=2000))
    assert population_stability_index(values, values) == 0.0


def test_a_shifted_continuous_feature_has_psi_over_025():
    rng = np.random.default_rng(2)
    reference = pd.Series(rng.normal(size=5000))
    assert population_stability_index(reference, reference + 1.0) > 0.25


def test_a_small_sampling_difference_stays_under_01():
    rng = np.random.default_rng(3)
    assert (
        population_stability_index(pd.Series(rng.normal(size=5000)), pd.Series(rng.normal(size=5000))) < 0.1
    )


def test_binary_features_use_their_values_as_bins_and_missing_is_its_own_bin():
    reference = pd.Series([0.0] * 900 + [1.0] * 100)
    assert population_stability_index(reference, pd.Series([0.0] * 500 + [1.0] * 500)) > 0.25
    assert population_stability_index(reference, pd.Series([0.0] * 450 + [1.0] * 50 + [np.nan] * 500)) > 0.25


def test_report_trips_on_any_feature_over_the_threshold_and_names_it():
    reference = pd.DataFrame({"stable": [0.0, 1.0] * 500, "moved": [0.0] * 900 + [1.0] * 100})
    current = pd.DataFrame({"stable": [0.0, 1.0] * 500, "moved": [1.0] * 1000})
    report = drift_report(reference, current, ["stable", "moved", "absent"], threshold=0.25)
    assert report.tripped
    assert report.psi.index[0] == "moved"
    assert "moved" in report.summary()
    assert not drift_report(reference, reference, ["stable", "moved"], threshold=0.25).tripped
