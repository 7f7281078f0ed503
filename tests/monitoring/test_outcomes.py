"""Realised performance of a list: censored persons left out, small cells suppressed, partial lists not
judged on calibration."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from monitoring.outcomes import realised_rows

AS_OF = dt.date(2023, 1, 2)


def scored_list(persons=2000, seed=0, multiplier=1.0):
    rng = np.random.default_rng(seed)
    risk = rng.beta(1, 6, persons)
    event = (rng.random(persons) < np.clip(risk * multiplier, 0, 1)).astype(float)
    order = pd.Series(risk).rank(ascending=False, method="first")
    days = rng.integers(1, 366, persons)
    return pd.DataFrame(
        {
            "person_key": [f"k{i}" for i in range(persons)],
            "risk": risk,
            "listed": (order <= 100).to_numpy(),
            "event": event,
            "event_date": [
                pd.Timestamp(AS_OF) + pd.Timedelta(days=int(d)) if e else pd.NaT
                for d, e in zip(days, event, strict=True)
            ],
            "district": "d1",
            "age_years": rng.uniform(65, 95, persons),
            "sex_female": (rng.random(persons) < 0.5).astype(float),
        }
    )


def overall(rows):
    return rows.loc[rows["dimension"] == "overall"].iloc[0]


def test_a_calibrated_list_has_slope_near_one_and_observed_near_expected():
    row = overall(realised_rows(scored_list(persons=8000), as_of=AS_OF, maturity="mature"))
    assert row["calibration_slope"] == pytest.approx(1.0, abs=0.15)
    assert row["observed_expected"] == pytest.approx(1.0, abs=0.08)
    assert row["calibration_intercept"] == pytest.approx(0.0, abs=0.1)
    assert 0 < row["lead_time_median_days"] < 366


def test_outcomes_more_frequent_than_predicted_show_in_observed_over_expected():
    row = overall(realised_rows(scored_list(multiplier=1.6), as_of=AS_OF, maturity="mature"))
    assert row["observed_expected"] > 1.3
    assert row["calibration_intercept"] > 0.3


def test_capture_and_ppv_count_events_among_the_listed():
    frame = scored_list()
    row = overall(realised_rows(frame, as_of=AS_OF, maturity="mature"))
    listed_events = int(frame.loc[frame["listed"], "event"].sum())
    assert row["listed_events"] == listed_events
    assert row["ppv_at_capacity"] == pytest.approx(listed_events / 100)
    assert row["share_of_events_captured"] == pytest.approx(listed_events / frame["event"].sum())


def test_censored_persons_are_left_out():
    frame = scored_list()
    frame.loc[:99, "event"] = np.nan
    row = overall(realised_rows(frame, as_of=AS_OF, maturity="mature"))
    assert row["persons"] == len(frame) - 100


def test_a_partial_list_is_not_judged_on_calibration():
    row = overall(realised_rows(scored_list(), as_of=AS_OF, maturity="partial"))
    assert row["auroc"] > 0.5
    assert pd.isna(row["calibration_slope"])
    assert pd.isna(row["observed_expected"])


def test_cells_that_could_single_out_a_person_are_suppressed():
    frame = scored_list(persons=400)
    frame.loc[:2, "district"] = "tiny"
    frame.loc[:3, "age_years"] = 60.0  # four persons under 65
    rows = realised_rows(frame, as_of=AS_OF, maturity="mature")
    young = rows.loc[(rows["dimension"] == "age_band") & (rows["group"] == "under 65")].iloc[0]
    assert young["suppressed"]
    assert pd.isna(young["persons"])
    assert pd.isna(young["auroc"])
    tiny = rows.loc[(rows["dimension"] == "district") & (rows["group"] == "tiny")].iloc[0]
    assert tiny["suppressed"]
