"""Censoring weights: the Kaplan-Meier estimate by hand, and heavy leaving that exclusion alone gets wrong.

Every world here is drawn with a known event probability ``p`` per row, an event time with
``P(T <= horizon) = p``, and a follow-up end that comes before the horizon for many rows (people moving
away). Dropping the censored rows keeps too many events; the weights must give back ``p``.
"""

import numpy as np
import pandas as pd
import pytest

from models.censoring import (
    MIN_FOLLOWED,
    censoring_weights,
    followed_before,
    horizon_months_of,
    known_times,
)
from models.config import TrainingConfig
from models.dataset import WEIGHT_COLUMN, build_outcome_frame
from models.harness import fit_and_evaluate
from models.registry import censoring_text

TARGET = "admission_12m"
YEAR = pd.Timedelta(days=365)


def leaving_world(
    persons: int,
    *,
    dates: int = 1,
    leaving_within_year: float = 0.5,
    leaving_depends_on_sex: bool = False,
    seed: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(features, labels, true p) with follow-up ending by exponential leaving times.

    Risk rises with ``x`` and is higher for men. With ``leaving_depends_on_sex`` only men leave (at the
    given yearly share), so leaving and risk go together through sex.
    """
    rng = np.random.default_rng(seed)
    keys = np.array([f"p{i:06d}" for i in range(persons)])
    female = rng.random(persons) < 0.5
    age = rng.uniform(65, 95, persons)
    feature_rows, label_rows, truths = [], [], []
    for date in pd.date_range("2019-01-01", periods=dates, freq="3MS"):
        x = rng.normal(size=persons)
        p = 1 / (1 + np.exp(-(-1.2 + 0.9 * x + np.where(female, -0.4, 0.4))))
        horizon_end = date + pd.DateOffset(months=12)
        horizon_days = (horizon_end - date).days
        event_days = rng.exponential(horizon_days / -np.log1p(-p))
        rate = -np.log1p(-leaving_within_year) / horizon_days
        leaving_rate = np.where(female, 0.0, 2 * rate) if leaving_depends_on_sex else np.full(persons, rate)
        leave_days = rng.exponential(1 / np.maximum(leaving_rate, 1e-12))
        leave_days = np.where(leaving_rate > 0, leave_days, np.inf)
        event = event_days <= horizon_days
        observed_event = event & (event_days <= leave_days)
        censored = ~observed_event & (leave_days < horizon_days)
        follow_up_end = date + pd.to_timedelta(np.minimum(leave_days, horizon_days + 400), unit="D")
        event_date = date + pd.to_timedelta(np.where(observed_event, event_days, 0), unit="D")
        feature_rows.append(
            pd.DataFrame(
                {"person_key": keys, "prediction_date": date, "x": x, "age_years": age, "sex_female": female}
            )
        )
        label_rows.append(
            pd.DataFrame(
                {
                    "person_key": keys,
                    "prediction_date": date,
                    "follow_up_end": follow_up_end,
                    TARGET: np.where(censored, np.nan, observed_event.astype(float)),
                    f"{TARGET}_censored": censored,
                    f"{TARGET}_event_date": pd.Series(event_date).where(observed_event),
                }
            )
        )
        truths.append(p)
    return (
        pd.concat(feature_rows, ignore_index=True),
        pd.concat(label_rows, ignore_index=True),
        np.concatenate(truths),
    )


def weighted_event_rate(outcome) -> float:
    frame = outcome.frame
    return float(np.average(frame["label"], weights=frame[WEIGHT_COLUMN]))


def test_the_share_still_followed_is_the_kaplan_meier_product_worked_by_hand():
    # Six rows: follow-up ends at days 2 and 5 (two rows); labels become known at days 3, 5 and 8.
    times = np.array([2.0, 3.0, 5.0, 5.0, 5.0, 8.0])
    ended = np.array([True, False, True, True, False, False])
    # Day 2: 6 at risk, one ends -> 5/6. Day 5: 4 at risk (the known label at day 5 is still in), 2 end.
    expected = {1.0: 1.0, 2.0: 1.0, 3.0: 5 / 6, 5.0: 5 / 6, 6.0: 5 / 6 * 2 / 4, 8.0: 5 / 6 * 2 / 4}
    query = np.array(list(expected))
    np.testing.assert_allclose(followed_before(times, ended, query), list(expected.values()))


def test_without_any_end_of_follow_up_everyone_is_still_followed():
    times = np.array([1.0, 4.0, 9.0])
    np.testing.assert_array_equal(followed_before(times, np.zeros(3, bool), times), np.ones(3))


def test_excluding_censored_rows_overstates_the_event_rate_and_the_weights_give_it_back():
    features, labels, p = leaving_world(60_000, leaving_within_year=0.5)
    excluded = build_outcome_frame(features, labels, TARGET, "exclude")
    weighted = build_outcome_frame(features, labels, TARGET, "ipcw")
    true_rate = float(p.mean())
    assert excluded.frame["label"].mean() > true_rate + 0.03  # the bias this module exists for
    assert weighted_event_rate(weighted) == pytest.approx(true_rate, abs=0.006)
    assert excluded.frame[WEIGHT_COLUMN].eq(1.0).all()
    assert (weighted.censoring, excluded.censoring) == ("ipcw", "exclude")
    # Weights stand in for the censored rows: at each date they sum to about every row there.
    assert weighted.frame[WEIGHT_COLUMN].sum() == pytest.approx(len(features), rel=0.02)


def test_strata_carry_leaving_that_goes_with_risk():
    features, labels, p = leaving_world(60_000, leaving_within_year=0.6, leaving_depends_on_sex=True, seed=2)
    true_rate = float(p.mean())
    pooled = build_outcome_frame(features, labels, TARGET, "ipcw")
    assert "sex_female" in pooled.weighting.strata_columns
    assert weighted_event_rate(pooled) == pytest.approx(true_rate, abs=0.006)
    joined = features.merge(labels, on=["person_key", "prediction_date"])
    unstratified = censoring_weights(joined, TARGET, 12, stratum_columns=())
    kept = ~joined[f"{TARGET}_censored"].to_numpy()
    wrong = np.average(joined.loc[kept, TARGET], weights=unstratified.weights[kept])
    # Without sex in the strata, men's leaving is spread over women too: too few men's events come back.
    assert abs(wrong - true_rate) > 3 * abs(weighted_event_rate(pooled) - true_rate)


def test_no_row_weighs_more_than_the_cap():
    features, labels, _ = leaving_world(5_000, leaving_within_year=0.97, seed=3)
    weights = build_outcome_frame(features, labels, TARGET, "ipcw")
    assert weights.frame[WEIGHT_COLUMN].max() <= 1 / MIN_FOLLOWED
    assert weights.weighting.capped_rows > 0


def test_a_competing_death_makes_the_label_known_on_the_day_of_death():
    frame = pd.DataFrame(
        {
            "prediction_date": pd.to_datetime(["2020-01-01"] * 3),
            f"{TARGET}_event_date": pd.to_datetime(["2020-03-01", None, None]),
            f"{TARGET}_competing_death": [False, True, False],
            "death_12m_event_date": pd.to_datetime([None, "2020-05-10", None]),
        }
    )
    known = known_times(frame, TARGET, 12)
    assert list(known) == list(pd.to_datetime(["2020-03-01", "2020-05-10", "2021-01-01"]))


def test_competing_deaths_without_their_dates_are_refused():
    frame = pd.DataFrame(
        {"prediction_date": pd.to_datetime(["2020-01-01"]), f"{TARGET}_competing_death": [True]}
    )
    with pytest.raises(ValueError, match="death_12m_event_date"):
        known_times(frame, TARGET, 12)


def test_ipcw_on_labels_without_follow_up_end_names_the_column_and_the_fix():
    features, labels, _ = leaving_world(200)
    with pytest.raises(ValueError, match=r"follow_up_end.*tidlig features"):
        build_outcome_frame(features, labels.drop(columns=["follow_up_end"]), TARGET, "ipcw")


def test_auto_weights_platform_labels_and_excludes_for_labels_without_follow_up():
    features, labels, _ = leaving_world(200)
    assert build_outcome_frame(features, labels, TARGET).censoring == "ipcw"
    plain = build_outcome_frame(features, labels.drop(columns=["follow_up_end"]), TARGET)
    assert plain.censoring == "exclude"
    assert plain.weighting is None


def test_a_target_without_a_horizon_is_weighted_only_on_request():
    features, labels, _ = leaving_world(200)
    own = labels.rename(columns={TARGET: "readmission", f"{TARGET}_censored": "readmission_censored"})
    assert build_outcome_frame(features, own, "readmission").censoring == "exclude"
    with pytest.raises(ValueError, match="horizon"):
        build_outcome_frame(features, own, "readmission", "ipcw")
    assert horizon_months_of("frailty_6m") == 6
    assert horizon_months_of("readmission") is None


def test_a_feature_named_like_the_weight_column_is_refused():
    features, labels, _ = leaving_world(50)
    with pytest.raises(ValueError, match=WEIGHT_COLUMN):
        build_outcome_frame(features.assign(**{WEIGHT_COLUMN: 1.0}), labels, TARGET)


@pytest.fixture(scope="module", params=["exclude", "ipcw"])
def trained(request):
    features, labels, p = leaving_world(4_000, dates=13, leaving_within_year=0.5, seed=5)
    config = TrainingConfig(
        search_trials=2,
        max_boosting_rounds=80,
        early_stopping_rounds=10,
        bootstrap_samples=5,
        calibration="platt",
        censoring=request.param,
    )
    result = fit_and_evaluate(features, labels, "admission", config, "v1")
    return request.param, result, labels[["person_key", "prediction_date"]].assign(p=p)


def test_a_model_trained_with_weights_predicts_the_true_risk_where_exclusion_overstates_it(trained):
    method, result, truth = trained
    test = result.test_rows[["person_key", "prediction_date"]].merge(truth, how="left")
    gap = float(result.risks["model"].mean() - test["p"].mean())
    if method == "exclude":
        assert gap > 0.03
    else:
        assert abs(gap) < 0.015


def test_the_model_card_says_how_censored_rows_were_handled(trained):
    method, result, _ = trained
    text = censoring_text(result)
    if method == "exclude":
        assert "not reweighted" in text
    else:
        assert "Kaplan-Meier within prediction date x age third x sex, 78 strata" in text


def test_the_weights_change_nothing_when_nobody_leaves():
    features, labels, _ = leaving_world(2_000, leaving_within_year=0.0)
    outcome = build_outcome_frame(features, labels, TARGET, "ipcw")
    assert outcome.frame[WEIGHT_COLUMN].eq(1.0).all()


def test_the_evaluation_reports_the_event_rate_weighted_for_censoring(trained):
    method, result, truth = trained
    evaluation = result.evaluation
    every_test_row = truth.loc[truth["prediction_date"].isin(result.split.test_dates), "p"]
    if method == "exclude":
        assert evaluation.observed_rate_weighted == evaluation.observed_rate
    else:
        assert evaluation.observed_rate > every_test_row.mean() + 0.03  # the kept rows hold too many events
        assert evaluation.observed_rate_weighted == pytest.approx(every_test_row.mean(), abs=0.02)
    assert evaluation.flat_metrics()["test_observed_rate_weighted"] == evaluation.observed_rate_weighted
