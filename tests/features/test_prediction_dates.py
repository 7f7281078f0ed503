"""Choosing prediction dates."""

from __future__ import annotations

import pandas as pd
import pytest

from features import choose_prediction_dates
from features.prediction_dates import normalise_prediction_dates


def test_monthly_dates_are_first_days_from_start_to_end():
    dates = choose_prediction_dates("2023-01-15", "2023-04-01", "month")
    assert dates == [pd.Timestamp("2023-02-01"), pd.Timestamp("2023-03-01"), pd.Timestamp("2023-04-01")]


def test_quarterly_dates_start_on_quarter_months():
    dates = choose_prediction_dates("2023-02-01", "2024-01-01", "quarter")
    assert [d.month for d in dates] == [4, 7, 10, 1]


def test_start_after_end_is_refused():
    with pytest.raises(ValueError, match="after end"):
        choose_prediction_dates("2024-01-01", "2023-01-01")


def test_dates_are_sorted_and_distinct():
    assert normalise_prediction_dates(["2023-02-01", "2023-01-01", "2023-02-01"]) == [
        pd.Timestamp("2023-01-01"),
        pd.Timestamp("2023-02-01"),
    ]


def test_no_dates_is_refused():
    with pytest.raises(ValueError, match="No prediction dates"):
        normalise_prediction_dates([])
