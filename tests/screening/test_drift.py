"""Input drift: PSI is zero for the same distribution and large for a shifted one; a feature is compared only
with reference dates that had as much history as today; KS and chi-square tests by feature type."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from screening.drift import (
    chi_square_test_of_values,
    comparable_dates,
    comparable_drift_report,
    distribution_test,
    drift_report,
    effective_lookback_days,
    feature_kind,
    float_values,
    ks_test_of_values,
    lookback_days,
    population_stability_index,
    psi_of_values,
    psi_with_bins,
)


def test_identical_distributions_have_zero_psi():
    values = pd.Series(np.random.default_rng(1).normal(size=2000))
    assert population_stability_index(values, values) == 0.0


def test_a_shifted_continuous_feature_has_psi_over_025():
    rng = np.random.default_rng(2)
    reference = pd.Series(rng.normal(size=5000))
    assert population_stability_index(reference, reference + 1.0) > 0.25


def test_a_small_sampling_difference_stays_under_01():
    rng = np.random.default_rng(3)
    assert (
        population_stability_index(pd.Series(rng.normal(size=5000)), pd.Series(rng.normal(size=5000))) < 0.1
    )


def test_binary_features_use_their_values_as_bins_and_missing_is_its_own_bin():
    reference = pd.Series([0.0] * 900 + [1.0] * 100)
    assert population_stability_index(reference, pd.Series([0.0] * 500 + [1.0] * 500)) > 0.25
    assert population_stability_index(reference, pd.Series([0.0] * 450 + [1.0] * 50 + [np.nan] * 500)) > 0.25


def test_report_trips_on_any_feature_over_the_threshold_and_names_it():
    reference = pd.DataFrame({"stable": [0.0, 1.0] * 500, "moved": [0.0] * 900 + [1.0] * 100})
    current = pd.DataFrame({"stable": [0.0, 1.0] * 500, "moved": [1.0] * 1000})
    report = drift_report(reference, current, ["stable", "moved", "absent"], threshold=0.25)
    assert report.tripped
    assert report.psi.index[0] == "moved"
    assert "moved" in report.summary()
    assert not drift_report(reference, reference, ["stable", "moved"], threshold=0.25).tripped


# ----- comparability of the reference and type-suited tests ----------------------------------------------

HISTORY_START = dt.date(2020, 1, 1)


def test_the_lookback_comes_from_the_self_describing_name():
    assert lookback_days("gp_contacts_count_0_to_1825d") == 1825
    assert lookback_days("falls_count_90_to_180d") == 180
    assert lookback_days("age_years") is None


def test_a_window_longer_than_the_history_covers_only_the_history():
    assert effective_lookback_days("x_count_0_to_1825d", dt.date(2022, 1, 1), HISTORY_START) == 731
    assert effective_lookback_days("x_count_0_to_365d", dt.date(2022, 1, 1), HISTORY_START) == 365


def test_reference_dates_with_less_history_than_the_window_are_not_comparable():
    dates = [dt.date(2021, 1, 1), dt.date(2021, 7, 1), dt.date(2022, 1, 1)]
    current = dt.date(2024, 1, 1)
    assert comparable_dates("x_count_0_to_1825d", dates, current, HISTORY_START) == []
    assert comparable_dates("x_count_0_to_365d", dates, current, HISTORY_START) == dates
    assert comparable_dates("age_years", dates, current, HISTORY_START) == dates
    assert comparable_dates("x_count_0_to_1825d", dates, current, None) == dates


def test_a_reference_date_within_a_month_of_the_same_coverage_is_comparable():
    assert comparable_dates("x_count_0_to_730d", [dt.date(2021, 12, 15)], dt.date(2022, 1, 1), HISTORY_START)


def growing_history_world(persons=3000, seed=4):
    """Counts over a 5-year window grow with the history available, with no change in the population."""
    rng = np.random.default_rng(seed)
    frames = []
    for day in (dt.date(2021, 1, 1), dt.date(2021, 7, 1), dt.date(2024, 1, 1)):
        years = min(5.0, (day - HISTORY_START).days / 365.25)
        frames.append(
            pd.DataFrame(
                {
                    "prediction_date": pd.Timestamp(day),
                    "gp_contacts_count_0_to_1825d": rng.poisson(4.0 * years, persons).astype(float),
                    "gp_contacts_count_0_to_365d": rng.poisson(4.0, persons).astype(float),
                }
            )
        )
    return pd.concat(frames[:2], ignore_index=True), frames[2]


def test_the_growth_of_history_is_not_an_alarm_when_the_reference_is_comparable():
    reference, current = growing_history_world()
    features = ["gp_contacts_count_0_to_1825d", "gp_contacts_count_0_to_365d"]
    naive = drift_report(reference, current, features, threshold=0.25)
    assert naive.tripped  # what the scoring gate saw on the 60k world
    fair = comparable_drift_report(
        reference, current, features, 0.25, current_date=dt.date(2024, 1, 1), history_start=HISTORY_START
    )
    assert not fair.tripped
    assert fair.not_comparable == ("gp_contacts_count_0_to_1825d",)
    assert "not compared" in fair.summary()


def test_a_real_shift_in_a_comparable_feature_still_trips():
    reference, current = growing_history_world()
    current = current.assign(gp_contacts_count_0_to_365d=current["gp_contacts_count_0_to_365d"] + 4)
    report = comparable_drift_report(
        reference,
        current,
        ["gp_contacts_count_0_to_365d"],
        0.25,
        current_date=dt.date(2024, 1, 1),
        history_start=HISTORY_START,
    )
    assert report.tripped


def test_feature_kinds_follow_the_values():
    assert feature_kind(pd.Series([0.0, 1.0, np.nan])) == "binary"
    assert feature_kind(pd.Series([True, False])) == "binary"
    assert feature_kind(pd.Series(["a", "b"])) == "categorical"
    assert feature_kind(pd.Series([0.0, 1.0, 2.0, 3.0])) == "categorical"
    assert feature_kind(pd.Series(np.linspace(0, 1, 50))) == "continuous"


def test_ks_for_continuous_and_chi_square_for_categories_detect_a_shift():
    rng = np.random.default_rng(5)
    reference = pd.Series(rng.normal(size=2000))
    same = distribution_test(reference, pd.Series(rng.normal(size=2000)), "continuous")
    moved = distribution_test(reference, pd.Series(rng.normal(0.5, 1, size=2000)), "continuous")
    assert same.test == "ks"
    assert same.p_value > 0.01
    assert moved.p_value < 1e-6
    binary = pd.Series([0.0] * 800 + [1.0] * 200)
    went_missing = pd.Series([0.0] * 400 + [1.0] * 100 + [np.nan] * 500)
    result = distribution_test(binary, went_missing, "binary")
    assert result.test == "chi_square"
    assert result.p_value < 1e-6
    assert distribution_test(binary, binary, "binary").p_value > 0.5


def test_a_continuous_source_going_missing_is_seen_by_ks():
    rng = np.random.default_rng(6)
    reference = pd.Series(rng.gamma(2, 50, 2000))
    half_missing = pd.Series(np.where(rng.random(2000) < 0.5, np.nan, rng.gamma(2, 50, 2000)))
    assert distribution_test(reference, half_missing, "continuous").p_value < 1e-6
    all_missing = pd.Series([np.nan] * 500)
    assert distribution_test(reference, all_missing, "continuous").p_value < 1e-6


def test_the_psi_noise_bound_matches_what_sampling_alone_gives():
    """Drawn twice from one distribution, the PSI exceeds the bound at alpha about alpha of the time."""
    from screening.drift import psi_bins, psi_noise_bound

    rng = np.random.default_rng(3)
    alpha, over = 0.05, 0
    draws = 400
    for _ in range(draws):
        reference = pd.Series(rng.poisson(3.0, 2000).astype(float))
        current = pd.Series(rng.poisson(3.0, 200).astype(float))
        bound = psi_noise_bound(psi_bins(reference, current), 2000, 200, alpha)
        over += population_stability_index(reference, current) > bound
    assert 0.01 < over / draws < 0.12
    assert psi_noise_bound(10, 350, 90, 1e-6) > 0.5 > psi_noise_bound(10, 2600, 870, 1e-6)
    assert psi_noise_bound(1, 100, 100, 0.01) == 0.0


def test_a_reference_read_one_column_at_a_time_gives_the_same_report(tmp_path):
    """The scoring run hands the drift check a view of the feature file (features.store.FeatureColumns)
    instead of a 2 GB frame: same PSI for every feature, same features not compared."""
    from features.store import FeatureColumns

    reference, current = growing_history_world()
    folder = tmp_path / "v1"
    folder.mkdir()
    reference.to_parquet(folder / "features.parquet", index=False)
    reference[["prediction_date"]].to_parquet(folder / "labels.parquet", index=False)
    features = ["gp_contacts_count_0_to_1825d", "gp_contacts_count_0_to_365d"]
    options = {"current_date": dt.date(2024, 1, 1), "history_start": HISTORY_START}
    framed = comparable_drift_report(reference, current, features, 0.25, **options)
    viewed = comparable_drift_report(FeatureColumns(tmp_path, "v1"), current, features, 0.25, **options)
    pd.testing.assert_series_equal(framed.psi, viewed.psi)
    assert framed.not_comparable == viewed.not_comparable


def test_a_reference_date_at_another_calendar_position_is_not_compared_when_one_at_the_same_is_there():
    """1 April follows 59 days of February and March, 1 July and 1 November follow 61: a monthly care
    record's recency differs by those two days for the same citizens, so November is judged on July."""
    from screening.drift import calendar_span_days, comparable_dates

    assert [calendar_span_days(dt.date(2022, m, 1)) for m in (4, 7, 11)] == [59, 61, 61]
    reference = [dt.date(2021, 4, 1), dt.date(2021, 7, 1)]
    assert comparable_dates("age_years", reference, dt.date(2022, 11, 1), None) == [dt.date(2021, 7, 1)]
    assert comparable_dates("age_years", reference, dt.date(2022, 4, 1), None) == [dt.date(2021, 4, 1)]
    # no reference date in the same position: every comparable date is kept (the rule never empties it)
    assert comparable_dates("age_years", reference, dt.date(2022, 11, 14), None) == reference


def test_a_short_window_is_judged_on_reference_dates_whose_window_holds_as_many_month_starts():
    """A 90-day window holds three monthly records at 1 May and at 1 April (February to April, January to
    March) but two at 1 July: a slope over it has a second point at the first two and is missing at the
    third, so 1 May is judged on 1 April although 1 May and 1 July follow equally long months."""
    from screening.drift import comparable_dates, month_starts_in_window

    assert [month_starts_in_window(dt.date(2021, m, 1), 90) for m in (4, 5, 7)] == [3, 3, 2]
    assert month_starts_in_window(dt.date(2023, 5, 15), 30) == 1  # 1 May, in [15 April, 15 May)
    assert month_starts_in_window(dt.date(2023, 3, 1), 30) == 1  # 1 February, in [30 January, 1 March)
    reference = [dt.date(2021, 4, 1), dt.date(2021, 7, 1)]
    slope = "home_care_minutes_slope_0_to_90d"
    assert comparable_dates(slope, reference, dt.date(2023, 5, 1), None) == [dt.date(2021, 4, 1)]
    assert comparable_dates(slope, reference, dt.date(2023, 8, 1), None) == [dt.date(2021, 7, 1)]
    # a long window is left to the calendar-span rule: 1 May follows 61 days, as 1 July does
    recency = "home_care_months_days_since_last_0_to_1825d"
    assert comparable_dates(recency, reference, dt.date(2023, 5, 1), None) == [dt.date(2021, 7, 1)]


def test_a_weekly_date_off_the_reference_days_is_judged_on_the_same_day_of_months_as_long_before_it():
    """D148: features are built for month starts, lists weekly. On 24 November a record of October is 54
    days old (October has 31 days) and at 1 November not registered yet; so the reference is built on the
    24th of the latest months that follow a 31-day month after a 30-day one, as November does."""
    from screening.drift import reference_dates_moved_to

    quarters = [dt.date(2022, m, 1) for m in (1, 4, 7, 10)] + [dt.date(2023, m, 1) for m in (1, 4, 7, 10)]
    assert reference_dates_moved_to(quarters, dt.date(2023, 11, 24)) == [
        dt.date(2022, 11, 24),  # after September (30) and October (31)
        dt.date(2023, 1, 24),  # after November (30) and December (31)
        dt.date(2023, 6, 24),  # after April (30) and May (31)
        dt.date(2023, 8, 24),  # after June (30) and July (31)
    ]
    assert reference_dates_moved_to(quarters, dt.date(2023, 11, 24), count=2) == [
        dt.date(2023, 6, 24),
        dt.date(2023, 8, 24),
    ]


def test_a_date_in_the_position_of_a_reference_date_or_at_a_month_start_needs_no_moved_reference():
    from screening.drift import reference_dates_moved_to

    quarters = [dt.date(2023, m, 1) for m in (1, 4, 7, 10)]
    assert reference_dates_moved_to(quarters, dt.date(2023, 11, 1)) == []  # month starts: D125's rule
    assert reference_dates_moved_to([dt.date(2023, 8, 15)], dt.date(2023, 11, 15)) == []
    assert reference_dates_moved_to([], dt.date(2023, 11, 15)) == []


def test_moved_reference_dates_stay_before_the_scoring_date_and_after_the_earliest_reference_month():
    """A 30 March follows a 28-day February once a year (not in leap years), so there are fewer such
    dates; none is before the month of the earliest reference date, and the feature table's dates after
    the scoring date are never a reference."""
    from screening.drift import reference_dates_moved_to

    assert reference_dates_moved_to([dt.date(2019, 1, 1)], dt.date(2023, 3, 30)) == [
        dt.date(2019, 3, 30),
        dt.date(2021, 3, 30),
        dt.date(2022, 3, 30),
    ]
    # 8 December follows November (30) after October (31), as 8 October does; not 8 November
    assert reference_dates_moved_to([dt.date(2023, 10, 1), dt.date(2023, 11, 1)], dt.date(2023, 12, 8)) == [
        dt.date(2023, 10, 8)
    ]
    assert reference_dates_moved_to([dt.date(2024, 1, 1)], dt.date(2023, 12, 8)) == []


def test_the_chi_square_test_is_pearsons_as_scipy_computes_it():
    rng = np.random.default_rng(8)
    reference = pd.Series(rng.choice([0.0, 1.0, 2.0, np.nan], 3000, p=[0.5, 0.3, 0.1, 0.1]))
    current = pd.Series(rng.choice([0.0, 1.0, 2.0, 3.0], 700, p=[0.4, 0.3, 0.2, 0.1]))
    result = distribution_test(reference, current, "categorical")
    table = pd.concat([reference.value_counts(dropna=False), current.value_counts(dropna=False)], axis=1)
    expected = stats.chi2_contingency(table.fillna(0).to_numpy().T, correction=False)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_the_array_forms_give_what_the_series_forms_give():
    """The monitor bins and tests numeric features as arrays (once per feature, then per district); the
    values are those of the Series functions the scoring gate uses."""
    rng = np.random.default_rng(9)
    reference = pd.Series(np.where(rng.random(4000) < 0.2, np.nan, rng.gamma(2, 50, 4000)))
    current = pd.Series(np.where(rng.random(900) < 0.3, np.nan, rng.gamma(2, 60, 900)))
    assert psi_of_values(float_values(reference), float_values(current)) == psi_with_bins(reference, current)
    assert ks_test_of_values(float_values(reference), float_values(current)) == distribution_test(
        reference, current, "continuous"
    )
    few = pd.Series(rng.choice([0.0, 1.0, np.nan], 4000)), pd.Series(rng.choice([0.0, 1.0, 2.0], 900))
    by_arrays = chi_square_test_of_values(float_values(few[0]), float_values(few[1]))
    by_series = distribution_test(*few, "categorical")
    assert by_arrays.statistic == pytest.approx(by_series.statistic, rel=1e-12)
    assert by_arrays.p_value == pytest.approx(by_series.p_value, rel=1e-9)
    assert psi_of_values(float_values(few[0]), float_values(few[1])) == psi_with_bins(*few)
