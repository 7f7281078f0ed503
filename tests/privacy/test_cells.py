"""The minimum cell size and how a withheld cell looks in data and in text."""

import math

import pandas as pd

from privacy import MIN_CELL_PERSONS, cell_text, is_small, is_withheld, shown_count


def test_one_to_four_persons_is_small_and_zero_and_five_are_not():
    assert MIN_CELL_PERSONS == 5
    assert [is_small(n) for n in (0, 1, 4, 5, 100)] == [False, True, True, False, False]


def test_a_missing_count_is_not_small():
    assert not is_small(None)
    assert not is_small(math.nan)


def test_a_small_count_is_withheld_as_none_in_data():
    assert [shown_count(n) for n in (0, 3, 5)] == [0, None, 5]


def test_withheld_cells_are_none_nan_or_na():
    assert all(is_withheld(value) for value in (None, math.nan, pd.NA))
    assert not any(is_withheld(value) for value in (0, 5, "x"))


def test_text_shows_small_and_complementary_cells_apart():
    assert cell_text(None) == "<5"
    assert cell_text(None, complementary=True) == "*"
    assert cell_text(12) == "12"
    assert cell_text(0.1234, number=lambda value: f"{value:.2f}") == "0.12"
