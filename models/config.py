"""One frozen config describes a training run, so a run can be repeated from its config alone."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Literal

from features.labels import OUTCOMES, Outcome  # the one outcome list (features/labels.py)
from privacy import MIN_CELL_PERSONS

__all__ = ["OUTCOMES", "Outcome", "SearchSpace", "TrainingConfig", "registered_model_name", "target_name"]

Calibration = Literal["auto", "isotonic", "platt"]
# Which rows the calibrator is fitted on (docs/decisions.md D115): the validation fold's raw risks from the
# final booster, or those plus out-of-fold raw risks of the training fold ('cross_fitted'); 'auto' cross-fits
# only when the validation fold holds fewer than ``isotonic_min_events`` events or non-events.
CalibrationRows = Literal["auto", "validation", "cross_fitted"]
# How rows whose follow-up ended before their label was known are handled (docs/decisions.md D151):
# 'exclude' drops them; 'ipcw' drops them and weights the rest (models.censoring); 'auto' weights
# wherever the labels carry follow_up_end (the platform's labels do) and excludes otherwise.
Censoring = Literal["auto", "exclude", "ipcw"]
_OUTCOME_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def target_name(outcome: str, horizon_months: int) -> str:
    """The label column and model key for an outcome and horizon, e.g. ``admission_12m``.

    The platform's own outcomes are ``OUTCOMES``; any other snake_case name is accepted too (a label table
    of one's own, e.g. ``readmission`` -> ``readmission_12m``).
    """
    if not _OUTCOME_NAME.match(outcome):
        raise ValueError(
            f"Outcome '{outcome}' is not a snake_case name. Known outcomes: {', '.join(OUTCOMES)}; "
            "or give a label column of your own."
        )
    if horizon_months not in (6, 12):
        raise ValueError(f"Horizon must be 6 or 12 months, got {horizon_months}.")
    return f"{outcome}_{horizon_months}m"


def registered_model_name(outcome: str, horizon_months: int) -> str:
    """The MLflow registered model name, e.g. ``tidlig-admission-12m`` (docs/interfaces.md section 4)."""
    return f"tidlig-{target_name(outcome, horizon_months).replace('_', '-')}"


@dataclass(frozen=True)
class SearchSpace:
    """Ranges of the random hyperparameter search (uniform on the log scale where marked)."""

    learning_rate: tuple[float, float] = (0.02, 0.1)  # log-uniform
    num_leaves: tuple[int, int] = (7, 63)
    min_child_samples: tuple[int, int] = (20, 400)
    feature_fraction: tuple[float, float] = (0.6, 1.0)
    bagging_fraction: tuple[float, float] = (0.6, 1.0)
    lambda_l2: tuple[float, float] = (0.01, 10.0)  # log-uniform


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that decides a training run.

    Split: test prediction dates are the latest ``test_span_months`` of dates with observed labels; the
    validation fold (early stopping + calibration) is the latest ``validation_span_months`` of dates whose
    outcome window ends on or before the first test date; training dates end their outcome window on or
    before the first validation date. So no training or validation label overlaps the test period.
    Calibration: ``calibration`` is the method, ``calibration_rows`` the rows it is fitted on (see
    ``models.training.calibration_rows_for``); ``cross_fit_folds`` person-grouped folds of the training
    fold give its out-of-fold raw risks. Censoring: ``censoring`` (see ``Censoring``); with 'ipcw' the
    boosters, early stopping and the calibrator all use the rows' censoring weights.
    Search: at most ``search_trials`` random configurations, stopping early once ``search_budget_seconds``
    is spent (the first trial always runs); the default trials with the fixed ``seed`` make runs repeatable.
    """

    horizon_months: int = 12
    outcomes: tuple[Outcome, ...] = OUTCOMES
    seed: int = 20240601
    num_threads: int = 2
    max_boosting_rounds: int = 1000
    early_stopping_rounds: int = 50
    search_trials: int = 8
    search_budget_seconds: float = 600.0
    search_space: SearchSpace = field(default_factory=SearchSpace)
    calibration: Calibration = "auto"
    isotonic_min_events: int = 1000
    calibration_rows: CalibrationRows = "auto"
    cross_fit_folds: int = 5
    censoring: Censoring = "auto"
    test_span_months: int = 6
    validation_span_months: int = 6
    min_labelled_share: float = 0.5
    bootstrap_samples: int = 200
    capacity_per_district: int = 25
    net_benefit_thresholds: tuple[float, ...] = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4)
    min_cell_persons: int = MIN_CELL_PERSONS

    def as_params(self) -> dict[str, str]:
        """Flat string parameters for MLflow (aggregates only, no data)."""
        flat: dict[str, str] = {}
        for key, value in asdict(self).items():
            if isinstance(value, dict):
                flat.update({f"search_{k}": str(v) for k, v in value.items()})
            else:
                flat[key] = str(value)
        return flat
