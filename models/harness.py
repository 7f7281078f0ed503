"""Train and evaluate one target end to end, in memory: what the flow and the notebooks both call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.baselines import oracle_risk
from models.config import TrainingConfig, target_name
from models.dataset import OutcomeFrame, build_outcome_frame, labelled_share_by_date, usable_dates
from models.evaluation import Evaluation, evaluate
from models.fitting import BoosterFitter
from models.split import TemporalSplit, temporal_split
from models.training import TrainedModel, fold_frames, train_outcome_model


@dataclass(frozen=True)
class HarnessResult:
    """A trained, calibrated model with its split, its evaluation and the test rows' risks.

    ``test_rows`` and ``risks`` are person-level and stay in memory: they are for the promotion gate and
    for plots, never for logging.
    """

    target: str
    outcome: OutcomeFrame
    split: TemporalSplit
    trained: TrainedModel
    evaluation: Evaluation
    test_rows: pd.DataFrame
    risks: dict[str, np.ndarray]


def prediction_dates_needed(
    labels: pd.DataFrame, outcomes: Sequence[str], config: TrainingConfig
) -> list[pd.Timestamp]:
    """The prediction dates ``fit_and_evaluate`` uses for these outcomes: their folds' dates, in order.

    The split depends on the labels only, so a caller can read just these dates' features; dates in
    the gaps and after the test period (mostly censored) are never read. Computing the split again on
    the reduced frame gives the same folds.
    """
    needed: set[pd.Timestamp] = set()
    for outcome in outcomes:
        split = configured_split(
            labelled_share_by_date(labels, resolve_target(labels, outcome, config)), config
        )
        needed.update(split.train_dates + split.validation_dates + split.test_dates)
    return sorted(needed)


def resolve_target(labels: pd.DataFrame, outcome: str, config: TrainingConfig) -> str:
    """The label column of ``outcome``: the column itself when ``labels`` has one of that name (any binary
    outcome of one's own), else the platform's ``<outcome>_<horizon>m`` (e.g. ``admission_12m``)."""
    if outcome in labels.columns:
        return outcome
    return target_name(outcome, config.horizon_months)


def configured_split(labelled_share_by_date: pd.Series, config: TrainingConfig) -> TemporalSplit:
    """The temporal split of the dates with enough observed labels, with the config's spans and horizon."""
    return temporal_split(
        usable_dates(labelled_share_by_date, config.min_labelled_share),
        config.horizon_months,
        config.test_span_months,
        config.validation_span_months,
    )


def fit_and_evaluate(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    outcome: str,
    config: TrainingConfig,
    feature_set_version: str,
    *,
    truth: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
    fitter: BoosterFitter | None = None,
) -> HarnessResult:
    """Build the outcome frame, split in time, train with search and calibration, evaluate on test rows.

    ``outcome`` is a platform outcome ('admission' -> ``admission_12m``) or any binary label column.
    The features need only the keys (person_key, prediction_date) and numeric columns: cohort columns
    (district, age, sex) add capacity lists per district, the age + sex baseline and subgroups when
    present. ``truth`` (pseudonymised, with ``person_key`` and ``month``) adds the oracle baseline when
    given. ``fitter`` says where boosters are fitted (``models.fitting``; default: this process).
    Inputs are not modified.
    """
    target = resolve_target(labels, outcome, config)
    frame = build_outcome_frame(features, labels, target, config.censoring)
    split = configured_split(frame.labelled_share_by_date, config)
    trained = train_outcome_model(frame, split, config, feature_set_version, progress=progress, fitter=fitter)
    folds = fold_frames(frame, split)
    test_rows = folds["test"].reset_index(drop=True)
    fit_rows = pd.concat([folds["train"], folds["validation"]], ignore_index=True)
    oracle = oracle_risk(test_rows, truth, target) if truth is not None else None
    evaluation, risks = evaluate(trained.model, test_rows, fit_rows, config, oracle=oracle)
    return HarnessResult(
        target=target,
        outcome=frame,
        split=split,
        trained=trained,
        evaluation=evaluation,
        test_rows=test_rows,
        risks=risks,
    )
