"""The municipality's triage colour follows configurable risk bands."""

from __future__ import annotations

import pytest

from review.triage import TriageBands, TriageConfigError


def test_the_default_bands_colour_risks():
    bands = TriageBands()
    assert [bands.colour(risk) for risk in (0.55, 0.40, 0.25, 0.05)] == ["red", "red", "yellow", "green"]


def test_a_municipality_sets_its_own_bands():
    bands = TriageBands.parse("yellow=0.1, red=0.3")
    assert (bands.red, bands.yellow) == (0.3, 0.1)
    assert bands.colour(0.2) == "yellow"
    assert TriageBands.parse("") == TriageBands()


@pytest.mark.parametrize("text", ["purple=0.2", "red=high", "red=0.1,yellow=0.5", "red=2"])
def test_an_unreadable_mapping_is_refused_with_what_to_write(text):
    with pytest.raises(TriageConfigError, match="red"):
        TriageBands.parse(text)
