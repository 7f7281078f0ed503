"""RiskClassifier: a scikit-learn classifier for any table, calibrated on small data out of fold."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibrationDisplay
from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from models.estimator import ColumnTypeError, RiskClassifier
from models.metrics import auroc, calibration_slope
from tests.models.small_table import make_small_table

FAST = {"search_trials": 2, "max_boosting_rounds": 200, "early_stopping_rounds": 20, "cross_fit_folds": 3}


@pytest.fixture(scope="module")
def table():
    return make_small_table(rows=3500, seed=0)


@pytest.fixture(scope="module")
def fitted(table):
    X, y, _ = table
    return RiskClassifier(**FAST).fit(X, y)


def test_small_table_is_a_few_thousand_rows_with_about_six_percent_events(table):
    X, y, _ = table
    assert len(X) == 3500
    assert 0.05 < y.mean() < 0.07


def test_out_of_fold_calibration_slope_is_near_one_on_small_data(table):
    X, y, _ = table
    outer = StratifiedKFold(5, shuffle=True, random_state=0)
    risk = cross_val_predict(RiskClassifier(search_trials=4), X, y, cv=outer, method="predict_proba")[:, 1]
    assert 0.9 <= calibration_slope(y, risk) <= 1.1
    assert risk.min() > 0, "no calibrated risk of exactly 0"
    assert risk.max() < 1, "no calibrated risk of exactly 1"


def test_few_events_choose_platt_and_many_choose_isotonic(table, fitted):
    X, y, _ = table
    assert fitted.calibrator_.method_ == "platt"
    assert fitted.calibrator_.events_ == y.sum(), "cross-fitted: every event of the table calibrates"
    lenient = RiskClassifier(**FAST, isotonic_min_events=50).fit(X, y)
    assert lenient.calibrator_.method_ == "isotonic"


def test_parameters_round_trip_and_clone(fitted):
    params = fitted.get_params()
    assert params["search_trials"] == 2
    copy = clone(fitted)
    assert not hasattr(copy, "booster_")
    assert copy.set_params(calibration="platt").get_params()["calibration"] == "platt"


def test_predict_proba_has_a_column_per_class_and_sums_to_one(table, fitted):
    X, _, _ = table
    probabilities = fitted.predict_proba(X.head(50))
    assert probabilities.shape == (50, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert list(fitted.classes_) == [0, 1]
    assert set(fitted.predict(X.head(50))) <= {0, 1}


def test_same_seed_gives_the_same_risks(table, fitted):
    X, y, _ = table
    again = RiskClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(again.predict_risk(X), fitted.predict_risk(X))


def test_works_in_a_pipeline_and_cross_val_score():
    X, y, _ = make_small_table(rows=2000, seed=1)
    numeric = X.drop(columns=["care_level"]).astype(float)
    pipeline = Pipeline([("scale", StandardScaler()), ("model", RiskClassifier(**FAST))])
    scores = cross_val_score(pipeline, numeric, y, cv=3, scoring="roc_auc")
    assert len(scores) == 3
    assert scores.mean() > 0.65


def test_calibration_display_draws_from_the_estimator(table, fitted):
    X, y, _ = table
    display = CalibrationDisplay.from_estimator(fitted, X, y, n_bins=5)
    assert len(display.prob_pred) > 0


def test_category_columns_are_used_and_unseen_levels_are_missing(table, fitted):
    X, _, _ = table
    assert fitted.categorical_features_ == ["care_level"]
    assert "care_level" in fitted.feature_names_in_
    unseen = X.head(5).assign(care_level=pd.Categorical(["unknown level"] * 5))
    assert np.all(np.isfinite(fitted.predict_risk(unseen)))


def test_text_columns_are_refused_by_name(table):
    X, y, _ = table
    with pytest.raises(ColumnTypeError, match="'municipality_name'"):
        RiskClassifier(**FAST).fit(X.assign(municipality_name="Aarhus"), y)


def test_id_columns_are_left_out_of_the_model(table):
    X, y, _ = table
    keyed = X.assign(person_key=[f"p{i}" for i in range(len(X))])
    model = RiskClassifier(**FAST, id_columns=("person_key",)).fit(keyed, y, groups=keyed["person_key"])
    assert "person_key" not in model.feature_names_in_
    assert auroc(y, model.predict_risk(keyed)) > 0.6


def test_any_two_labels_are_classes(table):
    X, y, _ = table
    words = np.where(y == 1, "admitted", "not admitted")
    model = RiskClassifier(**FAST).fit(X, words)
    assert list(model.classes_) == ["admitted", "not admitted"]
    # the risk is of classes_[1], as scikit-learn's predict_proba column order says
    assert auroc(y == 0, model.predict_proba(X)[:, 1]) > 0.6


def test_one_class_or_missing_labels_are_refused(table):
    X, y, _ = table
    with pytest.raises(ValueError, match="two classes"):
        RiskClassifier(**FAST).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="missing"):
        RiskClassifier(**FAST).fit(X, np.where(np.arange(len(X)) == 0, np.nan, y))


def test_predicting_before_fitting_raises(table):
    X, _, _ = table
    with pytest.raises(RuntimeError, match="not fitted"):
        RiskClassifier().predict_proba(X)


def test_row_weights_move_the_calibrated_risk_to_the_weighted_event_rate(table, fitted):
    X, y, _ = table
    weights = np.where(np.asarray(y) == 1, 2.0, 1.0)
    weighted = RiskClassifier(**FAST).fit(X, y, sample_weight=weights)
    target = np.average(y, weights=weights)
    assert weighted.predict_risk(X).mean() == pytest.approx(target, abs=0.01)
    assert fitted.predict_risk(X).mean() == pytest.approx(np.mean(y), abs=0.01)


def test_weights_of_the_wrong_length_or_sign_are_refused(table):
    X, y, _ = table
    with pytest.raises(ValueError, match="one per row"):
        RiskClassifier(**FAST).fit(X, y, sample_weight=np.ones(len(X) - 1))
    with pytest.raises(ValueError, match="negative"):
        RiskClassifier(**FAST).fit(X, y, sample_weight=-np.ones(len(X)))
