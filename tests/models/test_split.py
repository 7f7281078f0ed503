"""The temporal split keeps every training and validation label window out of the test period."""

import pandas as pd
import pytest

from models.split import InsufficientHistoryError, temporal_split

QUARTERS = list(pd.date_range("2019-01-01", "2023-01-01", freq="3MS"))


@pytest.mark.parametrize("horizon", [6, 12])
def test_no_label_window_overlaps_a_later_fold(horizon):
    split = temporal_split(QUARTERS, horizon, test_span_months=6, validation_span_months=6)
    gap = pd.DateOffset(months=horizon)
    assert all(d + gap <= split.validation_dates[0] for d in split.train_dates)
    assert all(d + gap <= split.test_dates[0] for d in split.validation_dates)
    assert all(d + gap <= split.test_dates[0] for d in split.train_dates)


def test_test_fold_is_the_latest_dates():
    split = temporal_split(QUARTERS, 12, test_span_months=6)
    assert split.test_dates == (pd.Timestamp("2022-10-01"), pd.Timestamp("2023-01-01"))


def test_gap_dates_are_unused():
    split = temporal_split(QUARTERS, 12)
    folds = split.fold_of(pd.Series(QUARTERS))
    assert set(folds) == {"train", "validation", "test", "unused"}
    assert (folds[pd.Series(QUARTERS).isin(split.train_dates)] == "train").all()


def test_too_short_history_is_refused_with_advice():
    with pytest.raises(InsufficientHistoryError, match="Simulate more years"):
        temporal_split(QUARTERS[:5], 12)
