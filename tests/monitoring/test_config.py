"""Bands and the monitor config are validated when built; the small-cell rule has one home."""

import math

import pytest

from monitoring import disclosure
from monitoring.config import DEFAULT_BANDS, MetricBand, MonitorConfig


def test_a_band_contains_values_between_its_bounds_and_nan():
    band = MetricBand("observed_expected", low=0.8, high=1.25)
    assert band.contains(1.0)
    assert not band.contains(1.3)
    assert not band.contains(0.7)
    assert band.contains(math.nan)
    assert band.describe() == "[0.8, 1.25]"
    assert MetricBand("input_psi", high=0.25).describe() == "<= 0.25"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"metric": "auc"}, "Unknown metric"),
        ({"metric": "input_psi"}, "neither a low nor a high"),
        ({"metric": "input_psi", "low": 2.0, "high": 1.0}, "above high"),
    ],
)
def test_a_band_refuses_what_cannot_be_judged(arguments, message):
    with pytest.raises(ValueError, match=message):
        MetricBand(**arguments)


def test_a_config_has_one_band_per_metric():
    with pytest.raises(ValueError, match="repeat"):
        MonitorConfig(bands=(MetricBand("input_psi", high=0.2), MetricBand("input_psi", high=0.3)))
    config = MonitorConfig()
    assert config.band("input_psi").holds_publication
    assert config.band("visit_yield") is None
    assert [band["metric"] for band in config.as_dict()["bands"]] == [band.metric for band in DEFAULT_BANDS]


def test_the_small_cell_rule_is_the_platforms():
    from screening.analytics import MIN_CELL

    assert disclosure.min_cell() == MIN_CELL
    assert disclosure.disclosable_count(0) == 0
    assert disclosure.disclosable_count(MIN_CELL - 1) is None
    assert disclosure.disclosable_count(MIN_CELL) == MIN_CELL
    assert not disclosure.cell_is_disclosable(MIN_CELL - 1)
