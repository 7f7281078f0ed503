"""Drift history rows: per district against the district's own reference, suppressed when small."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from monitoring.drift import drift_rows


def frames(persons=600, seed=0):
    rng = np.random.default_rng(seed)

    def one(day):
        return pd.DataFrame(
            {
                "prediction_date": pd.Timestamp(day),
                "district": rng.choice(["d1", "d2"], persons),
                "minutes_mean_0_to_90d": rng.gamma(2, 50, persons),
                "living_alone": (rng.random(persons) < 0.4).astype(float),
                "risk": rng.beta(1, 6, persons),
            }
        )

    return one(dt.date(2023, 1, 1)), one(dt.date(2024, 1, 1))


def test_every_feature_and_the_score_get_a_row_per_district_and_overall():
    reference, current = frames()
    rows = drift_rows(
        reference,
        current,
        ["minutes_mean_0_to_90d", "living_alone", "absent"],
        current_date=dt.date(2024, 1, 1),
        history_start=None,
    )
    assert set(rows["district"]) == {"all", "d1", "d2"}
    assert set(rows["feature"]) == {"risk", "minutes_mean_0_to_90d", "living_alone"}
    tests = rows.drop_duplicates("feature").set_index("feature")["test"].to_dict()
    assert tests == {"risk": "ks", "minutes_mean_0_to_90d": "ks", "living_alone": "chi_square"}
    assert (rows["psi"] < 0.1).all()


def test_a_new_district_is_compared_with_the_whole_reference():
    reference, current = frames()
    current.loc[:99, "district"] = "merged"
    rows = drift_rows(
        reference, current, ["living_alone"], current_date=dt.date(2024, 1, 1), history_start=None
    )
    merged = rows.loc[rows["district"] == "merged"].iloc[0]
    assert merged["reference_scope"] == "all districts"
    assert merged["psi"] < 0.25


def test_a_district_too_small_to_show_is_suppressed():
    reference, current = frames()
    current.loc[:3, "district"] = "tiny"
    current = current.loc[(current["district"] != "tiny") | (current.index < 3)]
    rows = drift_rows(
        reference, current, ["living_alone"], current_date=dt.date(2024, 1, 1), history_start=None
    )
    tiny = rows.loc[rows["district"] == "tiny"].iloc[0]
    assert tiny["suppressed"]
    assert pd.isna(tiny["psi"])
    assert pd.isna(tiny["n_current"])


def test_the_input_frames_are_not_changed():
    reference, current = frames()
    before = (reference.copy(), current.copy())
    drift_rows(reference, current, ["living_alone"], current_date=dt.date(2024, 1, 1), history_start=None)
    pd.testing.assert_frame_equal(reference, before[0])
    pd.testing.assert_frame_equal(current, before[1])


def test_each_districts_row_is_the_test_and_psi_of_its_own_rows_whatever_the_columns_type():
    """Numbers are binned and tested as arrays, text as a Series: either way a district's row is what the
    scoring gate's functions give on that district's rows."""
    from screening.drift import distribution_test, psi_with_bins

    reference, current = frames()
    for frame in (reference, current):
        frame["housing"] = np.where(frame["living_alone"] > 0, "alone", "together")
        frame.loc[frame.index % 7 == 0, "minutes_mean_0_to_90d"] = np.nan
    rows = drift_rows(
        reference,
        current,
        ["minutes_mean_0_to_90d", "housing"],
        current_date=dt.date(2024, 1, 1),
        history_start=None,
    ).set_index(["district", "feature"])
    for feature, kind in (("minutes_mean_0_to_90d", "continuous"), ("housing", "categorical")):
        own_reference = reference.loc[reference["district"] == "d2", feature]
        own_current = current.loc[current["district"] == "d2", feature]
        test = distribution_test(own_reference, own_current, kind)
        row = rows.loc[("d2", feature)]
        assert row["statistic"] == pytest.approx(test.statistic, rel=1e-12)
        assert row["p_value"] == pytest.approx(test.p_value, rel=1e-9)
        assert row["psi"] == round(psi_with_bins(own_reference, own_current)[0], 6)
