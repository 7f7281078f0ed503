"""The outcome frame: censored rows set apart (never counted as negatives), inputs untouched."""

import numpy as np
import pandas as pd
import pytest

from models.dataset import as_model_matrix, build_outcome_frame, feature_columns


def _frames():
    dates = pd.to_datetime(["2021-01-01"] * 4 + ["2022-01-01"] * 4)
    keys = ["a", "b", "c", "d"] * 2
    features = pd.DataFrame(
        {
            "person_key": keys,
            "prediction_date": dates,
            "municipality": "101",
            "district": "101-01",
            "age_years": [70.0, 80, 90, 75] * 2,
            "sex_female": [True, False, True, False] * 2,
        }
    )
    labels = pd.DataFrame(
        {
            "person_key": keys,
            "prediction_date": dates,
            "admission_12m": [1.0, 0.0, np.nan, 0.0, np.nan, np.nan, np.nan, 1.0],
            "admission_12m_censored": [False, False, True, False, True, True, True, False],
            "admission_12m_event_date": pd.to_datetime(
                ["2021-05-01", None, None, None, None, None, None, "2022-03-01"]
            ),
        }
    )
    return features, labels


def test_censored_rows_are_excluded_not_negative():
    features, labels = _frames()
    outcome = build_outcome_frame(features, labels, "admission_12m")
    assert outcome.censored_rows == 4
    assert len(outcome.frame) == 4
    assert outcome.frame["label"].tolist() == [1.0, 0.0, 0.0, 1.0]


def test_a_censored_flag_wins_over_a_label_value():
    features, labels = _frames()
    labels.loc[1, "admission_12m_censored"] = True
    outcome = build_outcome_frame(features, labels, "admission_12m")
    assert (
        "b" not in outcome.frame.loc[outcome.frame["prediction_date"] == "2021-01-01", "person_key"].tolist()
    )


def test_mostly_censored_dates_are_not_usable():
    features, labels = _frames()
    outcome = build_outcome_frame(features, labels, "admission_12m")
    assert outcome.usable_dates(0.5) == [pd.Timestamp("2021-01-01")]


def test_inputs_are_not_modified():
    features, labels = _frames()
    before = (features.copy(), labels.copy())
    build_outcome_frame(features, labels, "admission_12m")
    pd.testing.assert_frame_equal(features, before[0])
    pd.testing.assert_frame_equal(labels, before[1])


def test_features_exclude_keys_and_descriptive_columns():
    features, _ = _frames()
    assert feature_columns(features) == ["age_years", "sex_female"]


def test_missing_label_and_duplicate_keys_are_refused():
    features, labels = _frames()
    with pytest.raises(ValueError, match="no column 'death_12m'"):
        build_outcome_frame(features, labels, "death_12m")
    with pytest.raises(ValueError, match="duplicate"):
        build_outcome_frame(pd.concat([features, features.head(1)]), labels, "admission_12m")


def test_model_matrix_names_absent_features():
    features, _ = _frames()
    with pytest.raises(KeyError, match="hfrs"):
        as_model_matrix(features, ["age_years", "hfrs_score_0_to_730d"])
