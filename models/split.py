"""Temporal split: train on earlier prediction dates, test on later ones, with a horizon-long gap."""

from __future__ import annotations

from dataclasses import dataclass

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
