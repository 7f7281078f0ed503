"""fit_and_evaluate and evaluate_predictions on tables that are not the synthetic world's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.capacity import capacity_metrics
from models.config import TrainingConfig
from models.dataset import build_outcome_frame
from models.evaluation import evaluate_predictions
from models.harness import fit_and_evaluate
from tests.models.synthetic_feature_set import make_feature_set

CONFIG = TrainingConfig(
    search_trials=1, max_boosting_rounds=60, early_stopping_rounds=10, bootstrap_samples=5
)


@pytest.fixture(scope="module")
def plain_tables():
    """Features with keys and numbers only (no municipality, district, age or sex) and a label column
    named by its owner, not by the platform."""
    features, labels, _ = make_feature_set(persons=500)
    plain = features.drop(columns=["municipality", "district", "age_years", "sex_female", "living_alone"])
    own = labels[["person_key", "prediction_date"]].assign(
        readmission=labels["admission_12m"], readmission_censored=labels["admission_12m_censored"]
    )
    return plain, own


def test_fit_and_evaluate_runs_on_a_table_without_cohort_columns_and_any_outcome_name(plain_tables):
    features, labels = plain_tables
    result = fit_and_evaluate(features, labels, "readmission", CONFIG, "own-table")
    assert result.target == "readmission"
    assert "age_sex" not in result.risks
    slope = result.evaluation.metrics["model"]["calibration_slope"]
    assert not np.isnan(slope.lower), "the calibration slope comes with its CI"
    assert result.evaluation.capacity["model"]["flagged_rows"] > 0  # one list per date without districts


def test_a_text_column_in_the_features_is_refused_by_name(plain_tables):
    features, labels = plain_tables
    with pytest.raises(ValueError, match="'care_team'"):
        build_outcome_frame(features.assign(care_team="north"), labels, "readmission")


def test_a_label_that_is_not_binary_is_refused(plain_tables):
    features, labels = plain_tables
    with pytest.raises(ValueError, match="0/1"):
        build_outcome_frame(features, labels.assign(readmission=labels["readmission"] * 2), "readmission")


def test_evaluate_predictions_takes_any_outcomes_risks_and_groups():
    rng = np.random.default_rng(4)
    risk = rng.uniform(0.01, 0.5, 2000)
    y = (rng.random(2000) < risk).astype(float)
    region = np.where(rng.random(2000) < 0.5, "north", "south")
    tiny = np.where(np.arange(2000) < 3, "three people", "everyone else")
    report = evaluate_predictions(
        y,
        {"model": risk, "flat": np.full(2000, y.mean())},
        groups={"region": region, "tiny": tiny},
        capacity=100,
        samples=20,
    )
    assert report.metrics["model"]["auroc"].value > 0.7
    assert (
        report.metrics["model"]["calibration_slope"].lower
        < 1
        < report.metrics["model"]["calibration_slope"].upper
    )
    assert report.capacity["model"]["flagged_rows"] == 100
    cells = report.groups.set_index(["group", "level"])
    assert not cells.loc[("region", "north"), "suppressed"]
    assert cells.loc[("tiny", "three people"), "suppressed"]
    assert np.isnan(cells.loc[("tiny", "three people"), "persons"])


def test_capacity_without_districts_or_dates_is_one_list():
    rows = pd.DataFrame({"label": [1.0, 0, 1, 0, 0]})
    numbers = capacity_metrics(rows, np.array([0.9, 0.8, 0.7, 0.1, 0.2]), 2)
    assert numbers["flagged_rows"] == 2
    assert numbers["ppv"] == 0.5
