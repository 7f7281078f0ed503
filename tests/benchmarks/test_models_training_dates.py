"""The training-dates comparison changes only the training fold."""

import pandas as pd
import pytest

from benchmarks.models_training_dates import quarterly
from models.split import temporal_split


def test_quarter_starts_only_keeps_the_training_dates_quarterly_features_would_have():
    monthly = temporal_split(list(pd.date_range("2019-07-01", "2022-10-01", freq="MS")), 12)
    kept = quarterly(monthly)
    assert [date.month for date in monthly.train_dates] == [7, 8, 9, 10, 11, 12]
    assert [date.month for date in kept.train_dates] == [7, 10]
    assert set(kept.train_dates) < set(monthly.train_dates)
    assert (kept.validation_dates, kept.test_dates) == (monthly.validation_dates, monthly.test_dates)


def test_a_fold_without_quarter_starts_cannot_be_compared():
    split = temporal_split(list(pd.date_range("2019-08-01", "2022-10-01", freq="3MS")), 12)
    with pytest.raises(SystemExit, match="quarter start"):
        quarterly(split)
