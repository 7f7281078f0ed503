"""The model card states use, data, outcome, performance vs baselines, subgroups and limitations."""

import numpy as np
import pandas as pd

from models.evaluation import Evaluation
from models.metrics import Estimate
from models.model_card import CardContext, render_model_card, render_model_card_html


def _evaluation():
    estimate = {
        m: Estimate(0.7, 0.68, 0.72)
        for m in ("auroc", "auprc", "brier", "calibration_slope", "calibration_intercept", "ici")
    }
    subgroups = pd.DataFrame(
        [
            {
                "subgroup": "district",
                "level": "101-01",
                "suppressed": False,
                "persons": 500.0,
                "rows": 900.0,
                "event_rows": 80.0,
                "observed_risk": 0.09,
                "mean_predicted_risk_model": 0.1,
                "auroc_model": 0.71,
            },
            {
                "subgroup": "district",
                "level": "101-09",
                "suppressed": True,
                "persons": np.nan,
                "rows": np.nan,
                "event_rows": np.nan,
                "observed_risk": np.nan,
                "mean_predicted_risk_model": np.nan,
                "auroc_model": np.nan,
            },
        ]
    )
    return Evaluation(
        metrics={"model": estimate, "age_sex": estimate},
        capacity={"model": {"ppv": 0.3}, "age_sex": {"ppv": 0.2}},
        decision_curve=pd.DataFrame(),
        subgroups=subgroups,
        test_rows=900,
        test_persons=500,
        test_events=80,
        oracle_coverage=float("nan"),
    )


def test_card_has_the_tripod_essentials_and_suppresses_small_cells():
    context = CardContext(
        registered_name="tidlig-admission-12m",
        version="3",
        target="admission_12m",
        feature_set_version="abc",
        spec_hash="abcdef",
        split={"split_test": "2023-01-01..2023-01-01 (1 dates)"},
        fold_rows={"test": 900},
        fold_events={"test": 80},
        censored_rows=12,
        gate_text="PROMOTE\n- PASS x",
        importance={"age_years": 0.4},
        hyperparameters={"learning_rate": 0.05},
    )
    card = render_model_card(context, _evaluation())
    for heading in (
        "Intended use",
        "Data, population and dates",
        "Outcome definition",
        "Performance by subgroup",
        "Calibration",
        "Limitations",
        "Promotion decision",
    ):
        assert f"## {heading}" in card or f"### {heading}" in card
    assert "| district | 101-09 | <5 |" in card
    assert "0.700 (0.680–0.720)" in card
    html = render_model_card_html(card)
    assert html.startswith("<!doctype html>")
    assert "<table>" in html


def test_a_complementary_cell_is_marked_apart_from_a_small_one():
    evaluation = _evaluation()
    subgroups = evaluation.subgroups.assign(complementary=[False, False])
    extra = subgroups.iloc[[1]].assign(level="101-10", complementary=True)
    evaluation = Evaluation(**{**evaluation.__dict__, "subgroups": pd.concat([subgroups, extra])})
    context = CardContext(
        registered_name="tidlig-admission-12m",
        version="3",
        target="admission_12m",
        feature_set_version="abc",
        spec_hash="abcdef",
        split={},
        fold_rows={},
        fold_events={},
        censored_rows=0,
        gate_text="",
        importance={},
        hyperparameters={},
    )
    card = render_model_card(context, evaluation)
    assert "| district | 101-09 | <5 |" in card
    assert "| district | 101-10 | * |" in card
