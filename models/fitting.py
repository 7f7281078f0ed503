"""How one booster is fitted: the small interface the search, the cross-fit and the final fit share.

Everything that decides a model (the random search, early stopping on the validation rows, the choice of
the best trial, calibration) lives in ``models.training`` and ``models.estimator`` and is written once.
What differs between running in this process and running on a cluster is only *where* a booster is
fitted on a given train matrix with given parameters and an optional validation matrix. That is a
:class:`BoosterFitter`: ``prepare`` receives the rows once (a cluster implementation ships them to its
workers there) and returns a :class:`PreparedFit` whose ``fit`` trains one booster per call (one per
search trial). :class:`InProcessFitter` is the default and is exactly LightGBM's ``lgb.train`` as the
platform has always called it; ``pipelines.cluster_training`` holds the Dask one (``models/`` never
imports Dask, docs/decisions.md D85).

Contract of ``fit``: train at most ``rounds`` boosting rounds with ``parameters`` (LightGBM's own names,
as ``models.training.lightgbm_parameters`` builds them). With ``early_stopping_rounds`` and validation
rows, stop when the validation log loss has not improved for that many rounds (LightGBM's
``early_stopping``: first metric, no minimum improvement) and report the best iteration and its log loss;
without, train all rounds (``best_iteration == rounds``, ``validation_logloss`` NaN). Row weights,
when given (censoring weights, ``models.censoring``), weigh each row's loss in training and in the
validation log loss alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import lightgbm as lgb
import numpy as np

# Trials change min_child_samples on the same binned data set, so LightGBM must not pre-filter features.
DATASET_PARAMETERS: dict[str, object] = {"feature_pre_filter": False, "verbosity": -1}
VALIDATION_NAME = "validation"


@dataclass(frozen=True)
class BoosterFit:
    """One fitted booster (every round it trained), the round early stopping kept, and its log loss."""

    booster: lgb.Booster
    best_iteration: int
    validation_logloss: float


class PreparedFit(Protocol):
    """Rows ready for fitting; ``fit`` may be called many times (once per search trial)."""

    def fit(
        self, parameters: Mapping[str, object], *, rounds: int, early_stopping_rounds: int | None
    ) -> BoosterFit: ...


class BoosterFitter(Protocol):
    """Where boosters are fitted (this process, or a cluster); see the module docstring."""

    def prepare(
        self,
        train_matrix: np.ndarray,
        train_labels: np.ndarray,
        validation_matrix: np.ndarray | None = None,
        validation_labels: np.ndarray | None = None,
        *,
        feature_names: Sequence[str],
        categorical_features: Sequence[str] = (),
        train_weights: np.ndarray | None = None,
        validation_weights: np.ndarray | None = None,
    ) -> PreparedFit: ...


class InProcessFitter:
    """``lgb.train`` in this process on one binned ``lgb.Dataset`` reused by every trial."""

    def prepare(
        self,
        train_matrix: np.ndarray,
        train_labels: np.ndarray,
        validation_matrix: np.ndarray | None = None,
        validation_labels: np.ndarray | None = None,
        *,
        feature_names: Sequence[str],
        categorical_features: Sequence[str] = (),
        train_weights: np.ndarray | None = None,
        validation_weights: np.ndarray | None = None,
    ) -> PreparedFit:
        train_set = lgb.Dataset(
            train_matrix,
            label=train_labels,
            weight=train_weights,
            feature_name=list(feature_names),
            categorical_feature=list(categorical_features) or "auto",
            free_raw_data=False,
            params=dict(DATASET_PARAMETERS),
        )
        validation_set = None
        if validation_matrix is not None:
            validation_set = lgb.Dataset(
                validation_matrix,
                label=validation_labels,
                weight=validation_weights,
                reference=train_set,
                params=dict(DATASET_PARAMETERS),
            )
        return _InProcessPrepared(train_set, validation_set)


@dataclass(frozen=True)
class _InProcessPrepared:
    train_set: lgb.Dataset
    validation_set: lgb.Dataset | None

    def fit(
        self, parameters: Mapping[str, object], *, rounds: int, early_stopping_rounds: int | None
    ) -> BoosterFit:
        if self.validation_set is None or early_stopping_rounds is None:
            booster = lgb.train(dict(parameters), self.train_set, num_boost_round=rounds)
            return BoosterFit(booster, rounds, float("nan"))
        booster = lgb.train(
            dict(parameters),
            self.train_set,
            num_boost_round=rounds,
            valid_sets=[self.validation_set],
            valid_names=[VALIDATION_NAME],
            callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
        )
        return BoosterFit(
            booster=booster,
            best_iteration=int(booster.best_iteration or rounds),
            validation_logloss=float(booster.best_score[VALIDATION_NAME]["binary_logloss"]),
        )
