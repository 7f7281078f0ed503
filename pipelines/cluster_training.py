"""Training on a Dask cluster: a ``models.fitting.BoosterFitter`` that fits with ``lightgbm.dask``.

The search, early stopping, choice of the best trial and calibration stay in ``models/`` (one code path);
this module only says *where* one booster is fitted (docs/decisions.md D85). :class:`DaskBoosterFitter`
ships the rows to the workers once per search (``prepare``) and fits every trial there with
``lightgbm.dask.DaskLGBMClassifier`` (LightGBM's data-parallel learner: each worker holds a share of the
training rows; histograms are summed over the network, so every worker grows the same trees).

How the rows are laid out, and why:

* Worker *i* of *n* gets training rows *i, i + n, i + 2n, ...*: a representative share of every
  prediction date and of both classes, so the bin boundaries LightGBM finds on each worker's share are
  those of the whole table (a block of consecutive rows would be a block of dates).
* Every worker gets a whole copy of the validation rows. ``lightgbm.dask`` evaluates the eval set on each
  worker's local part; with the same trees and the same rows every worker computes the same validation
  log loss and early stopping stops every worker on the same round (with different parts, workers would
  stop on different rounds and the network would hang). The validation fold is the smaller part of a
  training table (six months of prediction dates), so the copy costs little memory.

Below ``min_rows`` training rows the fitter trains in this process (:class:`models.fitting.InProcessFitter`):
shipping a small table to a cluster costs more than it saves. The result on the cluster is not the
in-process booster bit for bit (the learner sums histograms in another order and bins on a share), but the
same search and early stopping on the same rows; tests hold its AUROC within 0.005 of the in-process one.
Tidlig's data in a task is pseudonymised feature values; no key, no CPR, and task names carry no data.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from models.fitting import VALIDATION_NAME, BoosterFit, BoosterFitter, InProcessFitter, PreparedFit
from pipelines.cluster import ClusterUnavailableError, client, quiet_dask_logging
from pipelines.progress import say

if TYPE_CHECKING:
    import distributed

    from pipelines.settings import Settings

# Parameters a Dask fit must not pass: lightgbm.dask sets the threads from each worker's own.
_SET_BY_WORKERS = ("num_threads",)


class DaskBoosterFitter:
    """Fits boosters with ``lightgbm.dask`` on the cluster of ``dask_client`` (see the module docstring).

    ``min_rows``: fewer training rows than this train in this process. Copying the fitter (scikit-learn's
    ``clone`` deep-copies estimator parameters) gives the same fitter: a cluster connection is shared,
    never duplicated.
    """

    def __init__(self, dask_client: distributed.Client, *, min_rows: int = 0) -> None:
        self.dask_client = dask_client
        self.min_rows = min_rows

    def __deepcopy__(self, memo: dict[int, object]) -> DaskBoosterFitter:
        return self

    def __repr__(self) -> str:
        return f"DaskBoosterFitter(min_rows={self.min_rows})"

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
        arguments: dict[str, Any] = {
            "feature_names": feature_names,
            "categorical_features": categorical_features,
            "train_weights": train_weights,
            "validation_weights": validation_weights,
        }
        if len(train_labels) < self.min_rows:
            say(
                f"{len(train_labels):,} training rows, fewer than cluster_training_min_rows "
                f"({self.min_rows:,}): fitting in this process"
            )
            return InProcessFitter().prepare(
                train_matrix, train_labels, validation_matrix, validation_labels, **arguments
            )
        workers = sorted(self.dask_client.scheduler_info(n_workers=-1).get("workers", {}))
        if not workers:
            raise ClusterUnavailableError(
                "The Dask cluster has no workers to train on; start at least one (`dask worker ADDRESS`)."
            )
        say(
            f"{len(train_labels):,} training rows: fitting with lightgbm.dask on {len(workers)} Dask "
            "worker(s)"
        )
        return _prepared_on_workers(
            self.dask_client,
            workers,
            np.asarray(train_matrix),
            np.asarray(train_labels).astype(np.int64),
            validation_matrix=None if validation_matrix is None else np.asarray(validation_matrix),
            validation_labels=(
                None if validation_labels is None else np.asarray(validation_labels).astype(np.int64)
            ),
            feature_names=list(feature_names),
            categorical_features=list(categorical_features),
            train_weights=None if train_weights is None else np.asarray(train_weights, dtype=np.float64),
            validation_weights=(
                None if validation_weights is None else np.asarray(validation_weights, dtype=np.float64)
            ),
        )


def _prepared_on_workers(
    dask_client: distributed.Client,
    workers: list[str],
    train_matrix: np.ndarray,
    train_labels: np.ndarray,
    *,
    validation_matrix: np.ndarray | None,
    validation_labels: np.ndarray | None,
    feature_names: list[str],
    categorical_features: list[str],
    train_weights: np.ndarray | None = None,
    validation_weights: np.ndarray | None = None,
) -> _DaskPrepared:
    """Scatter each worker's share of the training rows (and a copy of the validation rows) to it,
    with their row weights when given."""
    import dask.array as da
    from dask import delayed

    def on_worker(value: np.ndarray, worker: str) -> Any:
        future = dask_client.scatter(value, workers=[worker], broadcast=False, hash=False)
        return da.from_delayed(delayed(future), shape=value.shape, dtype=value.dtype)

    count = len(workers)
    for index in range(count):
        share = train_labels[index::count]
        if len(np.unique(share)) < 2:
            raise ValueError(
                f"A worker's share of the training rows ({len(share)} rows) holds one outcome class only; "
                "train a table this small in process (raise cluster_training_min_rows) or use fewer workers."
            )
    train_x = da.concatenate([on_worker(train_matrix[i::count], w) for i, w in enumerate(workers)])
    train_y = da.concatenate([on_worker(train_labels[i::count], w) for i, w in enumerate(workers)])
    train_w = None
    if train_weights is not None:
        train_w = da.concatenate([on_worker(train_weights[i::count], w) for i, w in enumerate(workers)])
    eval_set = None
    eval_w = None
    if validation_matrix is not None and validation_labels is not None:
        eval_set = [
            (
                da.concatenate([on_worker(validation_matrix, w) for w in workers]),
                da.concatenate([on_worker(validation_labels, w) for w in workers]),
            )
        ]
        if validation_weights is not None:
            eval_w = da.concatenate([on_worker(validation_weights, w) for w in workers])
    return _DaskPrepared(
        dask_client,
        train_x,
        train_y,
        eval_set,
        feature_names,
        categorical_features,
        len(workers),
        train_w=train_w,
        eval_w=eval_w,
    )


@dataclass(frozen=True)
class _DaskPrepared:
    """Rows already on the workers; each ``fit`` is one ``DaskLGBMClassifier`` fit."""

    dask_client: distributed.Client
    train_x: Any
    train_y: Any
    eval_set: list[tuple[Any, Any]] | None
    feature_names: list[str]
    categorical_features: list[str]
    workers: int
    train_w: Any = None  # row weights beside train_y, or None (every row weighs 1)
    eval_w: Any = None

    def fit(
        self, parameters: Mapping[str, object], *, rounds: int, early_stopping_rounds: int | None
    ) -> BoosterFit:
        from lightgbm.dask import DaskLGBMClassifier

        chosen = {k: v for k, v in parameters.items() if k not in _SET_BY_WORKERS}
        stopping = self.eval_set is not None and early_stopping_rounds is not None
        if stopping:
            chosen["early_stopping_round"] = early_stopping_rounds
        model = DaskLGBMClassifier(client=self.dask_client, n_estimators=rounds, **chosen)
        fit_arguments: dict[str, Any] = {
            "feature_name": self.feature_names,
            "categorical_feature": self.categorical_features or "auto",
        }
        if self.train_w is not None:
            fit_arguments["sample_weight"] = self.train_w
        if stopping:
            eval_x, eval_y = self.eval_set[0]  # type: ignore[index]
            fit_arguments |= {"eval_X": (eval_x,), "eval_y": (eval_y,), "eval_names": [VALIDATION_NAME]}
            if self.eval_w is not None:
                fit_arguments["eval_sample_weight"] = [self.eval_w]
        quiet_dask_logging()
        with warnings.catch_warnings():
            # lightgbm.dask warns that n_jobs is ignored on every fit (it is a constructor parameter it sets
            # from each worker's threads itself): not something a caller can act on.
            warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored", UserWarning)
            model.fit(self.train_x, self.train_y, **fit_arguments)
        booster = model.booster_
        if not stopping:
            return BoosterFit(booster, rounds, float("nan"))
        return BoosterFit(
            booster=booster,
            best_iteration=int(booster.best_iteration or rounds),
            validation_logloss=float(model.best_score_[VALIDATION_NAME]["binary_logloss"]),
        )


@contextmanager
def booster_fitter(settings: Settings) -> Iterator[BoosterFitter | None]:
    """The fitter the train step uses: on the settings' Dask cluster for tables of at least
    ``settings.cluster_training_min_rows`` training rows, else None (in process, as without a cluster).

    Connects once for the whole step and closes the connection on exit.
    """
    if settings.cluster is None:
        yield None
        return
    with client(settings.cluster) as connected:
        yield DaskBoosterFitter(connected, min_rows=settings.cluster_training_min_rows)
