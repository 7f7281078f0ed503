"""Fit one LightGBM model per target: random search with early stopping, then calibration.

The calibrator maps the final booster's raw probability to a risk. It is fitted on the validation fold's
raw risks (later dates than training: it corrects drift over time as well as the booster's shape) and,
where that fold has too few events for a stable fit, also on out-of-fold raw risks of the training fold
(``cross_fitted``, docs/decisions.md D115): the training persons are cut into ``cross_fit_folds`` groups; a
booster with the chosen hyperparameters and rounds is trained on the training rows of the other groups
and predicts the rows of its own, so every training row gets a raw risk from a booster that never saw
that person, as the test rows do from the final booster.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.calibration import Calibrator
from models.config import CalibrationRows, SearchSpace, TrainingConfig
from models.dataset import OutcomeFrame, as_model_matrix, row_weights
from models.fitting import BoosterFitter, InProcessFitter
from models.metrics import auroc
from models.risk_model import RiskModel, gain_importance
from models.split import TemporalSplit


def sample_hyperparameters(space: SearchSpace, rng: np.random.Generator) -> dict[str, float | int]:
    """One random draw from the search space (log-uniform for learning rate and L2)."""

    def log_uniform(bounds: tuple[float, float]) -> float:
        return float(math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1]))))

    return {
        "learning_rate": log_uniform(space.learning_rate),
        "num_leaves": int(rng.integers(space.num_leaves[0], space.num_leaves[1] + 1)),
        "min_child_samples": int(rng.integers(space.min_child_samples[0], space.min_child_samples[1] + 1)),
        "feature_fraction": float(rng.uniform(*space.feature_fraction)),
        "bagging_fraction": float(rng.uniform(*space.bagging_fraction)),
        "lambda_l2": log_uniform(space.lambda_l2),
    }


def lightgbm_parameters(hyperparameters: dict[str, float | int], config: TrainingConfig) -> dict[str, object]:
    """Full LightGBM parameters: binary objective, deterministic, row-wise, explicit threads and seeds."""
    return {
        "objective": "binary",
        "metric": "binary_logloss",
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": config.num_threads,
        "seed": config.seed,
        "bagging_seed": config.seed,
        "feature_fraction_seed": config.seed,
        "data_random_seed": config.seed,
        "bagging_freq": 1,
        "verbosity": -1,
        **hyperparameters,
    }


@dataclass(frozen=True)
class Trial:
    """One search trial: its hyperparameters, rounds kept by early stopping, and validation scores."""

    hyperparameters: dict[str, float | int]
    best_iteration: int
    validation_logloss: float
    validation_auroc: float


@dataclass(frozen=True)
class TrainedModel:
    """The calibrated model, the trials of its search, and the row counts of each fold."""

    model: RiskModel
    trials: list[Trial]
    best_trial: Trial
    fold_rows: dict[str, int]
    fold_events: dict[str, int]
    calibration_rows: str = "validation"


def fold_frames(outcome: OutcomeFrame, split: TemporalSplit) -> dict[str, pd.DataFrame]:
    """The outcome frame cut into 'train', 'validation' and 'test' rows (gap dates dropped)."""
    folds = split.fold_of(outcome.frame["prediction_date"])
    return {name: outcome.frame.loc[folds == name] for name in ("train", "validation", "test")}


@dataclass(frozen=True)
class SearchResult:
    """The best trial of a search, its booster trimmed to the best iteration, and every trial."""

    booster: lgb.Booster
    best_trial: Trial
    trials: list[Trial]


def search_booster(
    train_matrix: np.ndarray,
    train_labels: np.ndarray,
    validation_matrix: np.ndarray,
    validation_labels: np.ndarray,
    *,
    feature_names: list[str],
    config: TrainingConfig,
    categorical_features: list[str] | None = None,
    label: str = "model",
    progress: Callable[[str], None] | None = None,
    fitter: BoosterFitter | None = None,
    train_weights: np.ndarray | None = None,
    validation_weights: np.ndarray | None = None,
) -> SearchResult:
    """Random search: each trial trains on the train rows and early-stops on validation log loss; the
    trial with the lowest validation log loss is kept, trimmed to its best iteration.

    The one search both ``train_outcome_model`` (temporal folds) and ``models.estimator`` (any table)
    use. ``categorical_features`` name columns holding category codes (LightGBM's categorical splits).
    ``fitter`` says where each trial's booster is fitted (``models.fitting``; default: this process).
    Row weights, when given, weigh training and the validation log loss (the trial's AUROC is unweighted).
    """
    prepared = (fitter or InProcessFitter()).prepare(
        train_matrix,
        train_labels,
        validation_matrix,
        validation_labels,
        feature_names=feature_names,
        categorical_features=list(categorical_features or []),
        train_weights=train_weights,
        validation_weights=validation_weights,
    )
    rng = np.random.default_rng(config.seed)
    started = time.monotonic()  # a compute budget, not a data time
    trials: list[tuple[Trial, lgb.Booster]] = []
    for number in range(config.search_trials):
        if number > 0 and time.monotonic() - started > config.search_budget_seconds:
            break
        hyperparameters = sample_hyperparameters(config.search_space, rng)
        fitted = prepared.fit(
            lightgbm_parameters(hyperparameters, config),
            rounds=config.max_boosting_rounds,
            early_stopping_rounds=config.early_stopping_rounds,
        )
        booster = fitted.booster
        raw = np.asarray(booster.predict(validation_matrix, num_iteration=fitted.best_iteration))
        trial = Trial(
            hyperparameters=hyperparameters,
            best_iteration=fitted.best_iteration,
            validation_logloss=fitted.validation_logloss,
            validation_auroc=auroc(validation_labels, raw),
        )
        trials.append((trial, booster))
        if progress is not None:
            progress(
                f"{label}: trial {number + 1}/{config.search_trials} "
                f"validation AUROC {trial.validation_auroc:.3f}, {trial.best_iteration} rounds"
            )
    best_trial, best_booster = min(trials, key=lambda pair: pair[0].validation_logloss)
    return SearchResult(
        booster=_trimmed(best_booster, best_trial.best_iteration),
        best_trial=best_trial,
        trials=[trial for trial, _ in trials],
    )


def train_outcome_model(
    outcome: OutcomeFrame,
    split: TemporalSplit,
    config: TrainingConfig,
    feature_set_version: str,
    progress: Callable[[str], None] | None = None,
    *,
    fitter: BoosterFitter | None = None,
) -> TrainedModel:
    """Search hyperparameters on the validation fold, keep the best by validation log loss, calibrate.

    Early stopping uses the validation fold; the calibrator the validation fold, plus out-of-fold raw
    risks of the training fold where ``config.calibration_rows`` says so ('auto': when the validation fold
    has fewer than ``isotonic_min_events`` events or non-events). The test fold is not touched. The
    calibration method follows ``config.calibration`` ('auto': by the events of the calibration rows).
    ``progress``, when given, receives a one-line message per trial (aggregates only). ``fitter`` says
    where the boosters are fitted (``models.fitting``; default: this process); nothing else changes.
    """
    folds = fold_frames(outcome, split)
    for name, frame in folds.items():
        if frame["label"].nunique() < 2:
            raise ValueError(
                f"The {name} fold of {outcome.target} has {len(frame)} rows and only one outcome class; "
                "use a larger world or more prediction dates."
            )
    names = outcome.feature_names
    validation_matrix = as_model_matrix(folds["validation"], names)
    validation_labels = folds["validation"]["label"].to_numpy()
    train_weights, validation_weights = (row_weights(folds[name]) for name in ("train", "validation"))
    search = search_booster(
        as_model_matrix(folds["train"], names),
        folds["train"]["label"].to_numpy(),
        validation_matrix,
        validation_labels,
        feature_names=list(names),
        config=config,
        label=outcome.target,
        progress=progress,
        fitter=fitter,
        train_weights=train_weights,
        validation_weights=validation_weights,
    )
    validation_raw = np.asarray(search.booster.predict(validation_matrix))
    rows = calibration_rows_for(config.calibration_rows, validation_labels, config.isotonic_min_events)
    raw, labels, weights = validation_raw, validation_labels, validation_weights
    if rows == "cross_fitted":
        train_raw = out_of_fold_raw(folds["train"], names, search.best_trial, config)
        raw = np.concatenate([validation_raw, train_raw])
        labels = np.concatenate([validation_labels, folds["train"]["label"].to_numpy()])
        if weights is not None or train_weights is not None:
            weights = np.concatenate(
                [
                    np.ones(len(validation_raw)) if weights is None else weights,
                    np.ones(len(train_raw)) if train_weights is None else train_weights,
                ]
            )
    calibrator = Calibrator(config.calibration, config.isotonic_min_events).fit(raw, labels, weights)
    if progress is not None:
        where = "validation + out-of-fold training rows" if rows == "cross_fitted" else "validation rows"
        events = calibrator.events_
        progress(f"{outcome.target}: {calibrator.method_} calibration on {where} ({events} events)")
    model = RiskModel(
        booster=search.booster,
        calibrator=calibrator,
        feature_names=list(names),
        feature_set_version=feature_set_version,
        target=outcome.target,
        global_importance=gain_importance(search.booster, list(names)),
    )
    return TrainedModel(
        model=model,
        trials=search.trials,
        best_trial=search.best_trial,
        fold_rows={name: len(frame) for name, frame in folds.items()},
        fold_events={name: int(frame["label"].sum()) for name, frame in folds.items()},
        calibration_rows=rows,
    )


def calibration_rows_for(rows: CalibrationRows, validation_labels: np.ndarray, min_events: int) -> str:
    """'validation' or 'cross_fitted' for the requested ``rows``: 'auto' cross-fits only when the
    validation fold holds fewer than ``min_events`` events or non-events (where one fold's calibrator
    is noisy); with enough of both it calibrates on the validation fold alone, as before."""
    if rows not in ("auto", "validation", "cross_fitted"):
        raise ValueError(f"Unknown calibration rows {rows!r}; use 'auto', 'validation' or 'cross_fitted'.")
    if rows != "auto":
        return rows
    events = int(np.sum(validation_labels == 1))
    return "validation" if min(events, len(validation_labels) - events) >= min_events else "cross_fitted"


def person_groups(persons: pd.Series, folds: int, seed: int) -> np.ndarray:
    """A group number in ``0..folds-1`` per row, the same for every row of a person (seeded shuffle)."""
    codes, unique = pd.factorize(persons, sort=True)
    order = np.random.default_rng(seed).permutation(len(unique))
    groups: np.ndarray = (order % folds)[codes]
    return groups


def out_of_fold_raw(
    train: pd.DataFrame, names: list[str], trial: Trial, config: TrainingConfig
) -> np.ndarray:
    """Raw probability of every training row from a booster fitted without that row's person.

    One booster per person group, with ``trial``'s hyperparameters and rounds, on the other groups'
    training rows. Falls back to fewer groups when there are fewer persons than ``cross_fit_folds``.
    """
    persons = train["person_key"] if "person_key" in train.columns else pd.Series(np.arange(len(train)))
    folds = max(2, min(config.cross_fit_folds, int(persons.nunique())))
    groups = person_groups(persons.reset_index(drop=True), folds, config.seed)
    matrix = as_model_matrix(train, names)
    labels = train["label"].to_numpy()
    weights = row_weights(train)
    parameters = lightgbm_parameters(trial.hyperparameters, config)
    raw = np.empty(len(train))
    for group in range(folds):
        held = groups == group
        fitted = (
            InProcessFitter()
            .prepare(
                matrix[~held],
                labels[~held],
                feature_names=names,
                train_weights=None if weights is None else weights[~held],
            )
            .fit(parameters, rounds=trial.best_iteration, early_stopping_rounds=None)
        )
        raw[held] = fitted.booster.predict(matrix[held])
    return raw


def _trimmed(booster: lgb.Booster, rounds: int) -> lgb.Booster:
    """A booster holding only the first ``rounds`` trees, so every later predict uses the best iteration."""
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=rounds))
