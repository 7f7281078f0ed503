"""One evaluation harness for the scheduled retrain and for notebooks: the model and every baseline on
the same temporal test rows, with bootstrap CIs, capacity metrics, decision curves and subgroups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.baselines import baseline_risks
from models.capacity import capacity_metrics
from models.config import TrainingConfig
from models.metrics import Estimate, evaluate_with_ci, net_benefit, net_benefit_treat_all
from models.risk_model import RiskModel
from models.subgroups import protect_subgroup_table, subgroup_table

MODEL = "model"


@dataclass(frozen=True)
class Evaluation:
    """Aggregates only (no person rows): safe to log to MLflow and print in a model card.

    ``metrics[name]`` holds the CI estimates of each risk (``model``, ``age_sex``, ``hfrs``, ``charlson``,
    ``oracle``); ``capacity[name]`` the top-k numbers; ``decision_curve`` the net benefit per threshold;
    ``subgroups`` the subgroup table with small and complementary cells withheld;
    ``test_rows``/``test_persons``/``test_events`` counts.
    """

    metrics: dict[str, dict[str, Estimate]]
    capacity: dict[str, dict[str, float]]
    decision_curve: pd.DataFrame
    subgroups: pd.DataFrame
    test_rows: int
    test_persons: int
    test_events: int
    oracle_coverage: float

    def flat_metrics(self) -> dict[str, float]:
        """``<risk>_<metric>`` plus ``_ci_low``/``_ci_high`` and ``<risk>_at_capacity_<metric>``."""
        flat: dict[str, float] = {
            "test_rows": float(self.test_rows),
            "test_persons": float(self.test_persons),
            "test_event_rows": float(self.test_events),
        }
        for name, estimates in self.metrics.items():
            for metric, estimate in estimates.items():
                flat[f"{name}_{metric}"] = estimate.value
                if not np.isnan(estimate.lower):
                    flat[f"{name}_{metric}_ci_low"] = estimate.lower
                    flat[f"{name}_{metric}_ci_high"] = estimate.upper
        for name, numbers in self.capacity.items():
            for metric, value in numbers.items():
                flat[f"{name}_at_capacity_{metric}"] = value
        return {key: value for key, value in flat.items() if not np.isnan(value)}


def evaluate(
    model: RiskModel,
    test_rows: pd.DataFrame,
    fit_rows: pd.DataFrame,
    config: TrainingConfig,
    *,
    oracle: np.ndarray | None = None,
    bootstrap_samples: int | None = None,
) -> tuple[Evaluation, dict[str, np.ndarray]]:
    """Evaluate ``model`` and the baselines on ``test_rows``; baselines are fitted on ``fit_rows``.

    Returns the evaluation and the risks per name (test row order) for plots and the gate. Rows where the
    oracle is missing are left out of the oracle's metrics only (``oracle_coverage`` says how many).
    """
    samples = config.bootstrap_samples if bootstrap_samples is None else bootstrap_samples
    y = test_rows["label"].to_numpy(dtype=float)
    persons = test_rows["person_key"].to_numpy()
    risks: dict[str, np.ndarray] = {MODEL: model.predict_risk(test_rows)}
    risks |= baseline_risks(fit_rows, test_rows)
    coverage = float("nan")
    if oracle is not None:
        oracle = np.asarray(oracle, dtype=float)
        coverage = float(np.mean(~np.isnan(oracle)))
        risks["oracle"] = oracle
    metrics: dict[str, dict[str, Estimate]] = {}
    capacity: dict[str, dict[str, float]] = {}
    curve_rows = []
    for name, risk in risks.items():
        known = ~np.isnan(risk)
        metrics[name] = evaluate_with_ci(
            y[known], risk[known], persons[known], samples=samples, seed=config.seed
        )
        capacity[name] = capacity_metrics(test_rows.loc[known], risk[known], config.capacity_per_district)
        for threshold in config.net_benefit_thresholds:
            curve_rows.append(
                {
                    "risk": name,
                    "threshold": threshold,
                    "net_benefit": net_benefit(y[known], risk[known], threshold),
                }
            )
    for threshold in config.net_benefit_thresholds:
        curve_rows.append(
            {"risk": "treat_all", "threshold": threshold, "net_benefit": net_benefit_treat_all(y, threshold)}
        )
        curve_rows.append({"risk": "treat_none", "threshold": threshold, "net_benefit": 0.0})
    subgroup_risks = {name: risk for name, risk in risks.items() if not np.isnan(risk).any()}
    evaluation = Evaluation(
        metrics=metrics,
        capacity=capacity,
        decision_curve=pd.DataFrame(curve_rows),
        subgroups=protect_subgroup_table(subgroup_table(test_rows, subgroup_risks, config.min_cell_persons)),
        test_rows=len(test_rows),
        test_persons=len(set(persons)),
        test_events=int(y.sum()),
        oracle_coverage=coverage,
    )
    return evaluation, risks
