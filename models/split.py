"""Splits of rows into folds: the temporal split of the scheduled retrain (train / validation / test
prediction dates with horizon-long gaps), and scikit-learn splitters for any table: ``PersonKFold``
(grouped by person) and ``TemporalSplitter`` (rolling origin on a date column with the same gap rule)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class TemporalSplit:
    """Prediction dates of each fold. Every label window ``(d, d + h]`` of a training date ends on or
    before the first validation date, and every validation window ends on or before the first test date.
    """

    train_dates: tuple[pd.Timestamp, ...]
    validation_dates: tuple[pd.Timestamp, ...]
    test_dates: tuple[pd.Timestamp, ...]
    horizon_months: int

    def fold_of(self, prediction_dates: pd.Series) -> pd.Series:
        """'train', 'validation', 'test' or 'unused' (a gap date) for each prediction date."""
        mapping = dict.fromkeys(self.train_dates, "train")
        mapping |= dict.fromkeys(self.validation_dates, "validation")
        mapping |= dict.fromkeys(self.test_dates, "test")
        return pd.to_datetime(prediction_dates).map(mapping).fillna("unused")

    def describe(self) -> dict[str, str]:
        """Fold boundaries as strings, for MLflow parameters and the model card."""

        def span(dates: tuple[pd.Timestamp, ...]) -> str:
            return f"{dates[0].date()}..{dates[-1].date()} ({len(dates)} dates)"

        return {
            "split_train": span(self.train_dates),
            "split_validation": span(self.validation_dates),
            "split_test": span(self.test_dates),
            "split_horizon_months": str(self.horizon_months),
        }


class InsufficientHistoryError(ValueError):
    """Raised when the prediction dates cannot fill train, validation and test folds with the gaps."""


def temporal_split(
    labelled_dates: pd.Series | list[pd.Timestamp],
    horizon_months: int,
    test_span_months: int = 6,
    validation_span_months: int = 6,
) -> TemporalSplit:
    """Choose folds from the prediction dates that have observed labels (censored dates already removed).

    Test: dates within ``test_span_months`` of the latest labelled date. Validation: dates within
    ``validation_span_months`` of the latest date whose label window ends by the first test date.
    Training: every date whose label window ends by the first validation date.
    """
    dates = sorted(pd.to_datetime(pd.Series(labelled_dates)).drop_duplicates())
    if not dates:
        raise InsufficientHistoryError("No prediction dates with observed labels; build features first.")
    horizon = pd.DateOffset(months=horizon_months)
    latest = dates[-1]
    test = [d for d in dates if d > latest - pd.DateOffset(months=test_span_months)]
    validation_pool = [d for d in dates if d + horizon <= test[0]]
    if not validation_pool:
        raise InsufficientHistoryError(_too_short(dates, horizon_months))
    validation_end = validation_pool[-1]
    validation = [
        d for d in validation_pool if d > validation_end - pd.DateOffset(months=validation_span_months)
    ]
    train = [d for d in dates if d + horizon <= validation[0]]
    if not train:
        raise InsufficientHistoryError(_too_short(dates, horizon_months))
    return TemporalSplit(tuple(train), tuple(validation), tuple(test), horizon_months)


def _too_short(dates: list[pd.Timestamp], horizon_months: int) -> str:
    return (
        f"Labelled prediction dates span {dates[0].date()}..{dates[-1].date()}, too short for train, "
        f"validation and test folds separated by {horizon_months}-month gaps. Simulate more years or add "
        "earlier prediction dates when building features."
    )


class PersonKFold:
    """Stratified K-fold that keeps each person's rows in one fold (scikit-learn splitter API).

    Persons come from ``groups`` when given, else from the ``person_column`` of X. A person seen at
    several prediction dates would otherwise sit in both training and test folds, and the test fold would
    reward memorising people.
    """

    def __init__(self, n_splits: int = 5, person_column: str = "person_key", seed: int = 20240601) -> None:
        self.n_splits = n_splits
        self.person_column = person_column
        self.seed = seed

    def get_n_splits(self, X: object = None, y: object = None, groups: object = None) -> int:  # noqa: N803
        return self.n_splits

    def split(
        self,
        X: pd.DataFrame,  # noqa: N803
        y: object = None,
        groups: object = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(train indices, test indices) per fold."""
        from sklearn.model_selection import StratifiedGroupKFold

        if groups is None:
            if self.person_column not in getattr(X, "columns", ()):
                raise ValueError(
                    f"PersonKFold needs groups= or a '{self.person_column}' column in X "
                    "to keep persons apart."
                )
            groups = X[self.person_column].to_numpy()
        labels = np.zeros(len(X)) if y is None else np.asarray(y)
        splitter = StratifiedGroupKFold(n_splits=self.n_splits, shuffle=True, random_state=self.seed)
        yield from splitter.split(np.zeros(len(X)), labels, np.asarray(groups))


class TemporalSplitter:
    """Rolling-origin time split on a date column (scikit-learn splitter API).

    Fold k (k = 1 is the latest) tests on the dates within ``test_span_months`` before the end of the
    previous test span, and trains on the dates whose ``horizon_months`` outcome window ends by the first
    test date: the same gap rule as ``temporal_split``, so no training label overlaps the test period.
    Folds come oldest first, as scikit-learn's TimeSeriesSplit does.
    """

    def __init__(
        self,
        n_splits: int = 1,
        date_column: str = "prediction_date",
        horizon_months: int = 12,
        test_span_months: int = 6,
    ) -> None:
        self.n_splits = n_splits
        self.date_column = date_column
        self.horizon_months = horizon_months
        self.test_span_months = test_span_months

    def get_n_splits(self, X: object = None, y: object = None, groups: object = None) -> int:  # noqa: N803
        return self.n_splits

    def split(
        self,
        X: pd.DataFrame,  # noqa: N803
        y: object = None,
        groups: object = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(train indices, test indices) per fold, oldest test period first."""
        if self.date_column not in getattr(X, "columns", ()):
            raise ValueError(f"TemporalSplitter needs a '{self.date_column}' column in X.")
        dates = pd.to_datetime(X[self.date_column]).to_numpy()
        end = pd.Timestamp(dates.max()) + pd.Timedelta(days=1)
        folds = []
        for _ in range(self.n_splits):
            start = end - pd.DateOffset(months=self.test_span_months)
            test = np.flatnonzero((dates >= start) & (dates < end))
            first_test = pd.Timestamp(dates[test].min()) if len(test) else start
            train = np.flatnonzero(
                pd.to_datetime(dates) + pd.DateOffset(months=self.horizon_months) <= first_test
            )
            if len(test) == 0 or len(train) == 0:
                raise InsufficientHistoryError(
                    f"{self.n_splits} temporal folds of {self.test_span_months} months with a "
                    f"{self.horizon_months}-month gap need more dates; use fewer splits."
                )
            folds.append((train, test))
            end = start
        yield from reversed(folds)
