"""Do the trajectory features help, and how far is the learnable ceiling? (issue 18 item 4)

`python -m benchmarks.models_trajectories --home H [--ceiling BIG_HOME] [--outcome admission]` builds, with
the features engine from H's warehouse, the `trajectories` feature set (the default set plus slopes, rate
changes and recency-weighted counts, `features.catalogue.trajectory_feature_set`) for the cohort rows and
prediction dates the temporal folds of H's latest feature set use, in that set's mode. It then trains the
same model (`tidlig train`'s search and calibration, `--trials` trials) twice on the same rows and split —
once on the default columns, once on all of them — and reports test AUROC with the person-clustered
bootstrap CI of the paired difference, calibration slope and the oracle on the same rows.

``--ceiling BIG_HOME`` adds the learnable ceiling: the same model trained on the folds of a larger world
(same generator, a feature set of the same spec built with the same commands) and scored on H's test rows.
Oracle − ceiling is what these sources cannot tell; ceiling − model is what more data would still teach.
Prints Markdown; docs/models.md quotes it with this command.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from features import build_feature_table
from features.catalogue import default_feature_set, trajectory_feature_set
from features.cohort import COHORT_FEATURE_COLUMNS
from models.baselines import oracle_risk
from models.config import TrainingConfig, target_name
from models.dataset import OutcomeFrame, build_outcome_frame
from models.harness import configured_split, prediction_dates_needed
from models.metrics import auroc, calibration_slope, person_bootstrap_indices
from models.split import TemporalSplit
from models.store import read_feature_set, read_truth
from models.training import fold_frames, train_outcome_model
from pipelines.settings import DEMO_PSEUDONYM_KEY
from warehouse import Warehouse

MEMBER_COLUMNS = ["person_key", "prediction_date", "municipality", "district", *COHORT_FEATURE_COLUMNS]


def trajectory_table(home: Path, outcome: str, config: TrainingConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(features of the trajectory set for the fold dates of home's latest feature set, its labels)."""
    feature_set = read_feature_set(
        home / "features", dates_from_labels=lambda labels: prediction_dates_needed(labels, [outcome], config)
    )
    members = feature_set.features[MEMBER_COLUMNS].copy()
    for column in COHORT_FEATURE_COLUMNS:
        members[column] = members[column].astype("float64")
    dates = sorted(members["prediction_date"].unique())
    connection = Warehouse(home / "warehouse").connect(read_only=True)
    try:
        table = build_feature_table(
            connection, trajectory_feature_set(), dates, feature_set.manifest.mode, cohort=members
        )
    finally:
        connection.close()
    return table, feature_set.labels


def only(outcome: OutcomeFrame, columns: list[str]) -> OutcomeFrame:
    return replace(outcome, feature_names=[name for name in outcome.feature_names if name in columns])


def paired_difference(
    y: np.ndarray, first: np.ndarray, second: np.ndarray, persons: np.ndarray, samples: int = 200
) -> str:
    """AUROC(second) - AUROC(first) with its 95 % person-clustered bootstrap interval."""
    rng = np.random.default_rng(7)
    differences = []
    for rows in person_bootstrap_indices(persons, samples, rng):
        if 0 < y[rows].sum() < len(rows):
            differences.append(auroc(y[rows], second[rows]) - auroc(y[rows], first[rows]))
    low, high = np.percentile(differences, [2.5, 97.5])
    return f"{auroc(y, second) - auroc(y, first):+.4f} ({low:+.4f} to {high:+.4f})"


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--home`` and the model's ``--outcome``, ``--horizon`` and ``--trials`` (the models benchmarks')."""
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--outcome", default="admission")
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--trials", type=int, default=2)


def model_config(args: argparse.Namespace) -> tuple[TrainingConfig, str]:
    """(`tidlig train`'s configuration with the arguments' trials and horizon, the label column)."""
    config = replace(TrainingConfig(), search_trials=args.trials, horizon_months=args.horizon)
    return config, target_name(args.outcome, args.horizon)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--ceiling", type=Path, default=None, help="A larger world's home.")
    args = parser.parse_args()

    config, target = model_config(args)
    table, labels = trajectory_table(args.home, args.outcome, config)
    outcome = build_outcome_frame(table, labels, target)
    split = configured_split(outcome.labelled_share_by_date, config)
    default_columns = [*COHORT_FEATURE_COLUMNS, *default_feature_set().column_names()]
    test_rows = fold_frames(outcome, split)["test"]
    y = test_rows["label"].to_numpy(dtype=float)
    persons = test_rows["person_key"].to_numpy()
    truth = read_truth(args.home / "world", DEMO_PSEUDONYM_KEY, list(split.test_dates))
    oracle = oracle_risk(test_rows, truth, target)

    def fit(frame: OutcomeFrame, chosen: TemporalSplit = split) -> np.ndarray:
        trained = train_outcome_model(frame, chosen, config, "benchmark")
        return np.asarray(trained.model.predict_risk(test_rows))

    risks = {
        "default set": fit(only(outcome, default_columns)),
        "trajectories set": fit(outcome),
    }
    if args.ceiling is not None:
        big_table, big_labels = trajectory_table(args.ceiling, args.outcome, config)
        big = build_outcome_frame(big_table, big_labels, target)
        big_split = configured_split(big.labelled_share_by_date, config)
        ceiling = "trained on the larger world (ceiling)"
        risks[f"default set, {ceiling}"] = fit(only(big, default_columns), big_split)
        risks[f"trajectories set, {ceiling}"] = fit(big, big_split)
    known = ~np.isnan(oracle)
    print(
        f"{len(test_rows):,} test rows ({int(y.sum()):,} events, {len(set(persons)):,} persons), "
        f"split {split.describe()}"
    )
    print("| model | test AUROC | vs default set (95 % CI) | calibration slope |")
    print("|---|---|---|---|")
    for name, risk in risks.items():
        versus = paired_difference(y, risks["default set"], risk, persons) if name != "default set" else "–"
        print(f"| {name} | {auroc(y, risk):.4f} | {versus} | {calibration_slope(y, risk):.3f} |", flush=True)
    oracle_vs = paired_difference(y[known], risks["default set"][known], oracle[known], persons[known])
    print(f"| oracle (rows with truth) | {auroc(y[known], oracle[known]):.4f} | {oracle_vs} | – |")


if __name__ == "__main__":
    main()
