"""A scikit-learn classifier for any table: the platform's LightGBM search, early stopping and calibration.

``RiskClassifier`` works wherever a scikit-learn classifier does (``Pipeline``, ``cross_val_score``,
``CalibrationDisplay``, ``clone``). ``fit`` cross-fits: the rows are cut into ``cross_fit_folds`` folds
(stratified by the outcome, and grouped by person when ``groups`` is given, so a person's rows stay in
one fold); the random search runs on the first fold pair; with the best hyperparameters one booster per
fold is trained on the other folds and early-stopped on its own fold, which yields an out-of-fold raw
probability for every row; the calibrator is fitted on all of them (every event of the table, not one
fold's share); the final booster is trained on every row for the median of the folds' best iterations.

Columns are used explicitly: numeric and boolean columns as they are, pandas ``category`` columns as
LightGBM categorical features (levels fixed at fit; an unseen level at predict is missing), columns
named in ``id_columns`` ignored (keys that splitters read). Any other column (text, dates) is an error
naming it: nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from models.calibration import ISOTONIC_MIN_EVENTS, Calibrator
from models.config import Calibration, SearchSpace, TrainingConfig
from models.fitting import BoosterFitter, InProcessFitter, PreparedFit
from models.training import lightgbm_parameters, search_booster


class ColumnTypeError(TypeError):
    """A column the model cannot use as it is; the message names it and says what to do."""


def model_columns(frame: pd.DataFrame, id_columns: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(feature columns, categorical ones among them) of ``frame``; raises naming any unusable column."""
    names, categorical, unusable = [], [], []
    for column in frame.columns:
        if column in id_columns:
            continue
        dtype = frame[column].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            categorical.append(str(column))
        elif not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            unusable.append(f"'{column}' ({dtype})")
            continue
        names.append(str(column))
    if unusable:
        raise ColumnTypeError(
            f"Column(s) {', '.join(unusable)} are neither numeric, boolean nor categorical. Convert a "
            "column of categories with X[name].astype('category'), encode text yourself, or name key "
            "columns in id_columns; nothing is dropped silently."
        )
    if not names:
        raise ColumnTypeError("The table has no feature column left after id_columns.")
    return names, categorical


def _as_frame(X: object) -> pd.DataFrame:  # noqa: N803 (scikit-learn's name)
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(f"X must be 2-dimensional (rows x columns); got shape {array.shape}.")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


class RiskClassifier(ClassifierMixin, BaseEstimator):
    """Calibrated LightGBM for a binary outcome on any table (see the module docstring).

    Parameters are those of ``TrainingConfig`` that matter for one model, plus ``cross_fit_folds``,
    ``id_columns`` and ``fitter`` (where boosters are fitted, ``models.fitting``; None: this process).
    Learned attributes: ``classes_``, ``feature_names_in_``, ``n_features_in_``,
    ``categorical_features_``, ``categories_``, ``booster_``, ``calibrator_`` (its ``method_`` says
    which method 'auto' chose), ``best_hyperparameters_``, ``best_iteration_``, ``trials_``.
    """

    def __init__(
        self,
        *,
        search_trials: int = 8,
        max_boosting_rounds: int = 1000,
        early_stopping_rounds: int = 50,
        calibration: Calibration = "auto",
        isotonic_min_events: int = ISOTONIC_MIN_EVENTS,
        cross_fit_folds: int = 5,
        search_space: SearchSpace | None = None,
        search_budget_seconds: float = 600.0,
        id_columns: tuple[str, ...] = (),
        seed: int = 20240601,
        num_threads: int = 2,
        fitter: BoosterFitter | None = None,
    ) -> None:
        self.search_trials = search_trials
        self.max_boosting_rounds = max_boosting_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.isotonic_min_events = isotonic_min_events
        self.cross_fit_folds = cross_fit_folds
        self.search_space = search_space
        self.search_budget_seconds = search_budget_seconds
        self.id_columns = id_columns
        self.seed = seed
        self.num_threads = num_threads
        self.fitter = fitter

    def training_config(self) -> TrainingConfig:
        """The ``TrainingConfig`` the search and calibration run with (same defaults as ``tidlig train``)."""
        return replace(
            TrainingConfig(),
            seed=self.seed,
            num_threads=self.num_threads,
            max_boosting_rounds=self.max_boosting_rounds,
            early_stopping_rounds=self.early_stopping_rounds,
            search_trials=self.search_trials,
            search_budget_seconds=self.search_budget_seconds,
            search_space=self.search_space or SearchSpace(),
            calibration=self.calibration,
            isotonic_min_events=self.isotonic_min_events,
        )

    def fit(
        self,
        X: object,  # noqa: N803
        y: object,
        groups: object | None = None,
        sample_weight: object | None = None,
    ) -> RiskClassifier:
        """Search, cross-fit, calibrate and train the final booster; ``groups`` (e.g. person keys) keep
        a group's rows in one inner fold; ``sample_weight`` (e.g. censoring weights from
        ``models.censoring``) weighs each row in every booster, early stopping and the calibrator.
        Returns self."""
        frame = _as_frame(X)
        names, categorical = model_columns(frame, self.id_columns)
        labels = np.asarray(y).ravel()
        if len(labels) != len(frame):
            raise ValueError(f"X has {len(frame)} rows but y has {len(labels)}.")
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float).ravel()
        if weights is not None and (len(weights) != len(frame) or not np.all(np.isfinite(weights))):
            raise ValueError(f"sample_weight must hold {len(frame)} finite weights, one per row of X.")
        if weights is not None and (weights < 0).any():
            raise ValueError("sample_weight must not be negative.")

        def part(rows: np.ndarray) -> np.ndarray | None:
            return None if weights is None else weights[rows]

        if pd.isna(labels).any():
            raise ValueError("y has missing values; drop censored rows before fitting.")
        self.classes_ = np.unique(labels)
        if len(self.classes_) != 2:
            raise ValueError(f"y must have exactly two classes; found {len(self.classes_)}.")
        target = (labels == self.classes_[1]).astype(float)
        self.feature_names_in_ = np.array(names, dtype=object)
        self.n_features_in_ = len(names)
        self.categorical_features_ = categorical
        self.categories_ = {name: list(frame[name].cat.categories) for name in categorical}
        matrix = self._matrix(frame)
        config = self.training_config()
        folds = list(self._inner_folds(target, groups))
        first_train, first_held = folds[0]
        search = search_booster(
            matrix[first_train],
            target[first_train],
            matrix[first_held],
            target[first_held],
            feature_names=names,
            config=config,
            categorical_features=categorical,
            fitter=self.fitter,
            train_weights=part(first_train),
            validation_weights=part(first_held),
        )
        parameters = lightgbm_parameters(search.best_trial.hyperparameters, config)
        out_of_fold = np.empty(len(target))
        iterations = []
        for number, (train, held) in enumerate(folds):
            if number == 0:
                booster, best_iteration = search.booster, search.best_trial.best_iteration
            else:
                fitted = self._prepared(
                    matrix[train],
                    target[train],
                    matrix[held],
                    target[held],
                    train_weights=part(train),
                    held_weights=part(held),
                ).fit(
                    parameters,
                    rounds=self.max_boosting_rounds,
                    early_stopping_rounds=self.early_stopping_rounds,
                )
                booster, best_iteration = fitted.booster, fitted.best_iteration
            iterations.append(best_iteration)
            out_of_fold[held] = booster.predict(matrix[held], num_iteration=best_iteration)
        self.best_hyperparameters_ = dict(search.best_trial.hyperparameters)
        self.best_iteration_ = max(1, int(np.median(iterations)))
        self.trials_ = search.trials
        self.booster_ = (
            self._prepared(matrix, target, train_weights=weights)
            .fit(parameters, rounds=self.best_iteration_, early_stopping_rounds=None)
            .booster
        )
        self.calibrator_ = Calibrator(self.calibration, self.isotonic_min_events).fit(
            out_of_fold, target, weights
        )
        return self

    def predict_proba(self, X: object) -> np.ndarray:  # noqa: N803
        """Calibrated probabilities, columns in ``classes_`` order."""
        risk = self.predict_risk(X)
        return np.column_stack([1 - risk, risk])

    def predict_risk(self, X: object) -> np.ndarray:  # noqa: N803
        """Calibrated probability of ``classes_[1]`` per row."""
        raw = self.predict_raw(X)
        return self.calibrator_.transform(raw)

    def predict_raw(self, X: object) -> np.ndarray:  # noqa: N803
        """The final booster's uncalibrated probability per row."""
        if not hasattr(self, "booster_"):
            raise RuntimeError("This RiskClassifier is not fitted; call fit() first.")
        return np.asarray(self.booster_.predict(self._matrix(_as_frame(X)), num_threads=1))

    def predict(self, X: object) -> np.ndarray:  # noqa: N803
        """``classes_[1]`` where the calibrated risk is at least 0.5 (lists rank by risk instead)."""
        predicted: np.ndarray = self.classes_[(self.predict_risk(X) >= 0.5).astype(int)]
        return predicted

    # ----- internals ------------------------------------------------------------------------------------

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        names = list(self.feature_names_in_)
        missing = [name for name in names if name not in frame.columns]
        if missing:
            raise KeyError(
                f"X lacks the feature column(s) the model was fitted on: {', '.join(missing[:10])}."
            )
        columns = {}
        for name in names:
            if name in self.categories_:
                values = frame[name].astype("object").to_numpy()
                codes = pd.Index(self.categories_[name]).get_indexer(values).astype("float32")
                codes[codes < 0] = np.nan  # an unseen level (or missing) is missing
                columns[name] = codes
            else:
                column = frame[name]
                if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
                    raise ColumnTypeError(f"Column '{name}' was numeric at fit but is {column.dtype} now.")
                columns[name] = column.to_numpy(dtype="float32", na_value=np.nan)
        return np.column_stack([columns[name] for name in names]) if names else np.empty((len(frame), 0))

    def _inner_folds(
        self, target: np.ndarray, groups: object | None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        events = int(target.sum())
        folds = min(self.cross_fit_folds, events, len(target) - events)
        if folds < 2:
            raise ValueError(
                f"The table has {events} event(s) and {len(target) - events} non-event(s); cross-fitted "
                "calibration needs at least 2 of each."
            )
        if groups is None:
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.seed % 2**32)
            stratified: Iterator[tuple[np.ndarray, np.ndarray]] = splitter.split(
                np.zeros(len(target)), target
            )
            return stratified
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=self.seed % 2**32)
        grouped_folds: Iterator[tuple[np.ndarray, np.ndarray]] = splitter.split(
            np.zeros(len(target)), target, np.asarray(groups)
        )
        return grouped_folds

    def _prepared(
        self,
        train_matrix: np.ndarray,
        train_target: np.ndarray,
        held_matrix: np.ndarray | None = None,
        held_target: np.ndarray | None = None,
        *,
        train_weights: np.ndarray | None = None,
        held_weights: np.ndarray | None = None,
    ) -> PreparedFit:
        return (self.fitter or InProcessFitter()).prepare(
            train_matrix,
            train_target,
            held_matrix,
            held_target,
            feature_names=list(self.feature_names_in_),
            categorical_features=self.categorical_features_,
            train_weights=train_weights,
            validation_weights=held_weights,
        )
