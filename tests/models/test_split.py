"""The temporal split keeps every training and validation label window out of the test period."""

import numpy as np
import pandas as pd
import pytest

from models.split import InsufficientHistoryError, PersonKFold, TemporalSplitter, temporal_split

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


def test_person_k_fold_keeps_each_persons_rows_in_one_fold():
    rows = pd.DataFrame({"person_key": [f"p{i % 30}" for i in range(120)]})
    y = np.array([i % 30 < 6 for i in range(120)], dtype=int)
    for train, test in PersonKFold(n_splits=5).split(rows, y):
        assert not set(rows["person_key"].iloc[train]) & set(rows["person_key"].iloc[test])
    with pytest.raises(ValueError, match="groups= or a 'person_key' column"):
        next(PersonKFold().split(pd.DataFrame({"x": [1, 2]})))


def test_temporal_splitter_leaves_a_horizon_long_gap_before_each_test_period():
    dates = pd.date_range("2019-01-01", periods=20, freq="QS")
    rows = pd.DataFrame({"prediction_date": dates.repeat(2)})
    folds = list(TemporalSplitter(n_splits=2, horizon_months=12, test_span_months=6).split(rows))
    assert len(folds) == 2
    first_tests = []
    for train, test in folds:
        train_dates = rows["prediction_date"].iloc[train]
        test_dates = rows["prediction_date"].iloc[test]
        assert (train_dates + pd.DateOffset(months=12)).max() <= test_dates.min()
        first_tests.append(test_dates.min())
    assert first_tests[0] < first_tests[1], "oldest test period first"
    assert folds[1][1].max() == len(rows) - 1, "the last fold tests on the latest dates"


def test_temporal_splitter_with_too_little_history_says_so():
    rows = pd.DataFrame({"prediction_date": pd.date_range("2022-01-01", periods=4, freq="QS")})
    with pytest.raises(InsufficientHistoryError, match="fewer splits"):
        list(TemporalSplitter(n_splits=1, horizon_months=12).split(rows))
