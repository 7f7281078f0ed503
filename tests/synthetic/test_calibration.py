"""The world matches Danish rates by age band within the stated tolerances (on >= 50,000 citizens)."""

from __future__ import annotations

import pytest

from synthetic.calibration import (
    MALE_MORTALITY_TOLERANCE,
    TARGETS,
    calibration_checks,
    calibration_report,
    format_report,
    male_mortality_ratio,
)
from synthetic.config import WorldConfig
from synthetic.world import generate_world

CALIBRATION_WORLD = WorldConfig(citizens=50_000, years=2, seed=2024, history_years=2)


@pytest.fixture(scope="module")
def calibration_counts(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("calibration-world")
    manifest = generate_world(CALIBRATION_WORLD, out, workers=2)
    return manifest["calibration"]["counts"]


@pytest.mark.slow
@pytest.mark.parametrize("measure", sorted(TARGETS))
def test_each_rate_is_within_tolerance_in_every_age_band(calibration_counts, measure):
    for check in calibration_checks(calibration_counts):
        if check.measure == measure:
            assert check.persons > 2_000
            assert check.passed, (
                f"{measure} {check.band}: {check.generated:.3%} vs {check.target:.1%} ± {check.tolerance:.1%}"
            )


@pytest.mark.slow
def test_men_die_more_often_than_women_of_the_same_age(calibration_counts):
    low, high = MALE_MORTALITY_TOLERANCE
    assert low <= male_mortality_ratio(calibration_counts) <= high


def test_the_report_states_target_tolerance_and_verdict_per_rate(small_world):
    text = format_report(calibration_report(small_world))
    assert text.count("PASS") + text.count("FAIL") == len(TARGETS) * 3 + 1
    assert "±" in text
    assert "within tolerance" in text


def test_a_rate_outside_its_tolerance_fails():
    counts = {name: [[0, 1000]] * 3 for name in TARGETS}
    assert not any(check.passed for check in calibration_checks(counts) if check.target > 0.004)
