"""One evaluation harness for the scheduled retrain and for notebooks: the model and every baseline on
the same temporal test rows, with bootstrap CIs, capacity metrics, decision curves and subgroups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.baselines import baseline_risks
from models.capacity import capacity_metrics
from models.config import TrainingConfig
from models.dataset import row_weights
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
    # Calibration in the large on the test rows: the model's mean risk against the observed event rate,
    # that rate weighted for censoring (the rows' sample_weight, D151; equal to the plain rate without it).
    mean_risk: float = float("nan")
    observed_rate: float = float("nan")
    observed_rate_weighted: float = float("nan")

    def flat_metrics(self) -> dict[str, float]:
        """``<risk>_<metric>`` plus ``_ci_low``/``_ci_high`` and ``<risk>_at_capacity_<metric>``."""
        flat: dict[str, float] = {
            "test_rows": float(self.test_rows),
            "test_persons": float(self.test_persons),
            "test_event_rows": float(self.test_events),
            "model_mean_risk": self.mean_risk,
            "test_observed_rate": self.observed_rate,
            "test_observed_rate_weighted": self.observed_rate_weighted,
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
        mean_risk=float(np.mean(risks[MODEL])) if len(y) else float("nan"),
        observed_rate=float(np.mean(y)) if len(y) else float("nan"),
        observed_rate_weighted=(
            float(np.average(y, weights=row_weights(test_rows))) if len(y) else float("nan")
        ),
    )
    return evaluation, risks


@dataclass(frozen=True)
class PredictionReport:
    """Aggregates of risks against outcomes on any rows (no person rows inside).

    ``metrics[name]``: the CI estimates of each risk; ``capacity[name]``: top-k numbers (when a capacity
    was given); ``groups``: one row per (group, level) with counts, observed and mean predicted risk and
    AUROC per risk, cells under ``min_cell_persons`` persons (or events, or non-events) suppressed.
    """

    metrics: dict[str, dict[str, Estimate]]
    capacity: dict[str, dict[str, float]]
    groups: pd.DataFrame
    rows: int
    events: int


def evaluate_predictions(
    y: np.ndarray,
    risks: np.ndarray | dict[str, np.ndarray],
    *,
    persons: np.ndarray | None = None,
    groups: pd.DataFrame | dict[str, np.ndarray] | None = None,
    capacity: int | None = None,
    lists: np.ndarray | None = None,
    samples: int = 200,
    seed: int = 20240601,
    min_cell_persons: int = 5,
) -> PredictionReport:
    """Metrics with bootstrap CIs, optional capacity numbers and optional group table for any ``y, p``.

    ``risks`` is one array or several by name. ``persons`` (default: each row its own person) makes the
    bootstrap resample persons and the cell counts count persons. ``groups`` holds one column per
    grouping (e.g. sex, region). ``capacity`` flags the top k per ``lists`` value (default one list).
    """
    y = np.asarray(y, dtype=float)
    named = {MODEL: risks} if not isinstance(risks, dict) else risks
    named = {name: np.asarray(risk, dtype=float) for name, risk in named.items()}
    for name, risk in named.items():
        if risk.shape != y.shape:
            raise ValueError(f"Risk '{name}' has {risk.shape[0]} values for {y.shape[0]} outcomes.")
    if not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError("y must hold 0/1 outcomes (drop censored rows first).")
    persons = np.arange(len(y)) if persons is None else np.asarray(persons)
    metrics = {
        name: evaluate_with_ci(y, risk, persons, samples=samples, seed=seed) for name, risk in named.items()
    }
    capacity_numbers: dict[str, dict[str, float]] = {}
    if capacity is not None:
        rows = pd.DataFrame({"label": y, "person_key": persons})
        if lists is not None:
            rows["district"] = np.asarray(lists)
        capacity_numbers = {name: capacity_metrics(rows, risk, capacity) for name, risk in named.items()}
    table = group_table(y, named, groups, persons, min_cell_persons) if groups is not None else pd.DataFrame()
    return PredictionReport(metrics, capacity_numbers, table, len(y), int(y.sum()))


def group_table(
    y: np.ndarray,
    risks: dict[str, np.ndarray],
    groups: pd.DataFrame | dict[str, np.ndarray],
    persons: np.ndarray,
    min_cell_persons: int = 5,
) -> pd.DataFrame:
    """Per (group, level): persons, rows, event rows, observed risk, and per risk mean predicted risk and
    AUROC; a cell with fewer than ``min_cell_persons`` persons, persons with or persons without the
    outcome is suppressed (every number blanked), the rule of ``models.subgroups``."""
    from models.metrics import auroc

    frame = pd.DataFrame(groups).reset_index(drop=True)
    if len(frame) != len(y):
        raise ValueError(f"groups has {len(frame)} rows for {len(y)} outcomes.")
    records = []
    for column in frame.columns:
        levels = frame[column].astype("string").fillna("unknown")
        for level in sorted(levels.unique()):
            mask = (levels == level).to_numpy()
            cell_y, cell_persons = y[mask], persons[mask]
            smallest = min(
                len(set(cell_persons)),
                len(set(cell_persons[cell_y == 1])),
                len(set(cell_persons[cell_y == 0])),
            )
            record: dict[str, object] = {"group": str(column), "level": str(level)}
            record["suppressed"] = smallest < min_cell_persons
            if not record["suppressed"]:
                record |= {
                    "persons": len(set(cell_persons)),
                    "rows": int(mask.sum()),
                    "event_rows": int(cell_y.sum()),
                    "observed_risk": float(cell_y.mean()),
                }
                for name, risk in risks.items():
                    record[f"mean_predicted_risk_{name}"] = float(np.mean(risk[mask]))
                    record[f"auroc_{name}"] = auroc(cell_y, risk[mask])
            records.append(record)
    return pd.DataFrame.from_records(records)
