"""Training: deterministic, better than age and sex, explanations that add up, test fold untouched."""

import numpy as np
import pytest

from models.config import TrainingConfig
from models.dataset import build_outcome_frame
from models.harness import fit_and_evaluate, prediction_dates_needed
from models.split import temporal_split
from models.training import fold_frames, train_outcome_model
from tests.models.synthetic_feature_set import make_feature_set

CONFIG = TrainingConfig(
    search_trials=4, max_boosting_rounds=80, early_stopping_rounds=10, bootstrap_samples=10
)


@pytest.fixture(scope="module")
def feature_set():
    return make_feature_set(persons=800)


@pytest.fixture(scope="module")
def result(feature_set):
    features, labels, truth = feature_set
    return fit_and_evaluate(features, labels, "admission", CONFIG, "v1", truth=truth)


def test_same_seed_gives_the_same_model(feature_set, result):
    features, labels, _ = feature_set
    again = fit_and_evaluate(features, labels, "admission", CONFIG, "v1")
    np.testing.assert_array_equal(again.risks["model"], result.risks["model"])


def test_model_beats_age_and_sex_and_stays_below_the_oracle(result):
    metrics = result.evaluation.metrics
    assert metrics["model"]["auroc"].value > metrics["age_sex"]["auroc"].value
    assert metrics["oracle"]["auroc"].value > metrics["model"]["auroc"].value - 0.05
    assert result.evaluation.oracle_coverage == 1.0


def test_baselines_are_scored_on_exactly_the_test_rows(result):
    assert set(result.risks) == {"model", "age_sex", "hfrs", "charlson", "oracle"}
    assert all(len(risk) == len(result.test_rows) for risk in result.risks.values())
    assert set(result.test_rows["prediction_date"]) == set(result.split.test_dates)


def test_contributions_add_up_to_the_raw_log_odds(result):
    model = result.trained.model
    rows = result.test_rows.head(20)
    contributions = model.contributions(rows)
    assert list(contributions.columns) == model.feature_names
    assert contributions.index.equals(rows.index)
    raw = model.predict_raw(rows)
    np.testing.assert_allclose(contributions.sum(axis=1) + model.expected_log_odds(), np.log(raw / (1 - raw)))


def test_global_importance_is_a_share_of_gain(result):
    importance = result.trained.model.global_importance
    assert sum(importance.values()) == pytest.approx(1.0)
    assert set(importance) == set(result.trained.model.feature_names)


def test_changing_test_labels_does_not_change_the_model(feature_set, result):
    features, labels, _ = feature_set
    frame = build_outcome_frame(features, labels, "admission_12m")
    split = temporal_split(frame.usable_dates(0.5), 12, 6, 6)
    test_mask = frame.frame["prediction_date"].isin(split.test_dates)
    flipped = frame.frame.assign(label=np.where(test_mask, 1 - frame.frame["label"], frame.frame["label"]))
    tampered = type(frame)(
        frame.target, flipped, frame.feature_names, frame.censored_rows, frame.labelled_share_by_date
    )
    model = train_outcome_model(tampered, split, CONFIG, "v1").model
    test_rows = fold_frames(frame, split)["test"]
    np.testing.assert_array_equal(model.predict_risk(test_rows), result.trained.model.predict_risk(test_rows))


def test_six_month_variant_is_chosen_by_configuration(feature_set):
    from dataclasses import replace

    features, labels, _ = feature_set
    result = fit_and_evaluate(
        features, labels, "death", replace(CONFIG, horizon_months=6, search_trials=1), "v1"
    )
    assert result.target == "death_6m"
    assert result.split.horizon_months == 6
    assert result.trained.model.target == "death_6m"


def test_reading_only_the_needed_dates_gives_the_same_model(feature_set, result):
    features, labels, truth = feature_set
    needed = prediction_dates_needed(labels, ("admission", "death"), CONFIG)
    split = result.split
    assert set(split.train_dates + split.validation_dates + split.test_dates) <= set(needed)
    assert len(needed) < features["prediction_date"].nunique(), "gap and censored dates are skipped"

    part = features[features["prediction_date"].isin(needed)]
    again = fit_and_evaluate(part, labels, "admission", CONFIG, "v1", truth=truth)

    assert again.split == split
    assert again.trained.model.booster.model_to_string() == result.trained.model.booster.model_to_string()
    assert again.evaluation.flat_metrics() == result.evaluation.flat_metrics()


def test_auto_calibration_with_enough_events_is_the_isotonic_of_before(feature_set):
    """'auto' changes nothing where the validation fold has the events isotonic needs (the synthetic
    worlds of docs/models.md); with fewer it is Platt."""
    from dataclasses import replace

    features, labels, _ = feature_set
    frame = build_outcome_frame(features, labels, "admission_12m")
    split = temporal_split(frame.usable_dates(0.5), 12, 6, 6)
    one = replace(CONFIG, search_trials=1)
    events = train_outcome_model(frame, split, one, "v1").fold_events["validation"]
    enough = train_outcome_model(frame, split, replace(one, isotonic_min_events=events // 2), "v1")
    isotonic = train_outcome_model(frame, split, replace(one, calibration="isotonic"), "v1")
    assert enough.model.calibrator.method_ == "isotonic"
    assert enough.model.calibrator.to_dict()["knots_y"] == isotonic.model.calibrator.to_dict()["knots_y"]
    too_few = train_outcome_model(frame, split, replace(one, isotonic_min_events=events + 1), "v1")
    assert too_few.model.calibrator.method_ == "platt"
