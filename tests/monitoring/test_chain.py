"""The monitor flow's building blocks over the chain's labels and a champion."""

import numpy as np
import pandas as pd
import pytest

from monitoring.chain import label_months, outcomes_from_labels, with_risk

LABELS = pd.DataFrame(
    {
        "person_key": ["a", "b", "c"],
        "prediction_date": pd.Timestamp("2023-01-02"),
        "admission_6m": [1.0, 0.0, np.nan],
        "admission_6m_event_date": [pd.Timestamp("2023-03-01"), pd.NaT, pd.NaT],
        "admission_12m": [1.0, 1.0, np.nan],
        "admission_12m_event_date": [pd.Timestamp("2023-03-01"), pd.Timestamp("2023-11-01"), pd.NaT],
    }
)


def test_a_partial_list_is_observed_over_half_the_horizon():
    assert label_months("mature", 12) == 12
    assert label_months("partial", 12) == 6
    with pytest.raises(ValueError, match="even horizon"):
        label_months("partial", 9)


def test_labels_become_outcomes_with_censoring_kept():
    half = outcomes_from_labels(LABELS, "admission", 6)
    assert half["event"].tolist()[:2] == [1.0, 0.0]
    assert np.isnan(half["event"].iloc[2])
    whole = outcomes_from_labels(LABELS, "admission", 12)
    assert whole["event_date"].iloc[1] == pd.Timestamp("2023-11-01")


def test_missing_horizons_or_several_dates_are_refused():
    with pytest.raises(ValueError, match="horizons including 3 months"):
        outcomes_from_labels(LABELS, "admission", 3)
    two_dates = pd.concat([LABELS, LABELS.assign(prediction_date=pd.Timestamp("2023-02-01"))])
    with pytest.raises(ValueError, match="one list date"):
        outcomes_from_labels(two_dates, "admission", 12)


class HalfModel:
    feature_names = ("x",)

    def predict_risk(self, features):
        return features["x"].to_numpy() / 2


def test_the_champion_scores_the_rows_without_changing_them():
    features = pd.DataFrame({"x": [0.2, 0.4]})
    scored = with_risk(features, HalfModel())
    assert scored["risk"].tolist() == [0.1, 0.2]
    assert "risk" not in features
