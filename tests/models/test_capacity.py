"""Capacity metrics: the top k per district and prediction date, and what they capture."""

import numpy as np
import pandas as pd
import pytest

from models.capacity import capacity_metrics, flag_top_k


def _rows():
    return pd.DataFrame(
        {
            "person_key": ["a", "b", "c", "d", "a", "b", "c", "d"],
            "prediction_date": pd.to_datetime(["2022-01-01"] * 4 + ["2022-04-01"] * 4),
            "district": ["x", "x", "y", "y"] * 2,
            "label": [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0],
            "event_date": pd.to_datetime(
                ["2022-09-01", None, None, "2022-02-01", "2022-09-01", None, None, None]
            ),
        }
    )


def test_flags_the_top_k_in_each_district_and_date():
    risk = np.array([0.9, 0.1, 0.2, 0.8, 0.3, 0.4, 0.7, 0.6])
    assert flag_top_k(_rows(), risk, 1).tolist() == [True, False, False, True, False, True, True, False]


def test_ppv_sensitivity_and_number_needed_to_screen_by_hand():
    risk = np.array([0.9, 0.1, 0.2, 0.8, 0.3, 0.4, 0.7, 0.6])
    result = capacity_metrics(_rows(), risk, 1)
    assert result["ppv"] == pytest.approx(2 / 4)
    assert result["sensitivity"] == pytest.approx(2 / 3)
    assert result["number_needed_to_screen"] == pytest.approx(2.0)


def test_events_captured_and_lead_time_count_persons_flagged_before_their_event():
    risk = np.array([0.9, 0.1, 0.2, 0.8, 0.3, 0.4, 0.7, 0.6])
    result = capacity_metrics(_rows(), risk, 1)
    # a: flagged 2022-01-01, event 2022-09-01 (243 days); d: flagged 2022-01-01, event 2022-02-01 (31 days)
    assert result["events_captured_share"] == pytest.approx(1.0)
    assert result["lead_time_days_median"] == pytest.approx((243 + 31) / 2)


def test_a_person_never_flagged_is_not_captured():
    risk = np.array([0.1, 0.9, 0.2, 0.8, 0.1, 0.9, 0.7, 0.6])
    result = capacity_metrics(_rows(), risk, 1)
    assert result["events_captured_share"] == pytest.approx(0.5)
