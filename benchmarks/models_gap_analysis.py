"""Why the admission model stays short of the oracle: a learning curve and a wider training fold.

`python -m benchmarks.models_gap_analysis --home H [--outcome admission]` trains the model with fixed
hyperparameters (the search found a flat optimum) on the same temporal test rows while varying only the
training data: a share of the training persons (25 %, 50 %, 100 %), and a training fold without the
train-validation gap (all dates before the validation fold). If AUROC barely moves with 4x more data, the
remaining gap to the oracle is not a shortage of rows but information the features do not carry (the
generator's latent state). ``--compare V`` (repeatable) adds a row per other feature set version of the
same world, trained and tested the same way on its own rows: e.g. one built with ``--mode as_occurred``
(no reporting delays) or with an earlier catalogue. ``--latent`` adds rows where the model is also given
the generator's latent frailty (and decline) at the prediction date: not a model anyone could build, but
the measure of how much of the gap is that hidden state. Prints a Markdown table; docs/models.md quotes it
with this command.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from models.baselines import oracle_risk, truth_values
from models.config import SearchSpace, TrainingConfig, target_name
from models.dataset import OutcomeFrame, build_outcome_frame
from models.harness import configured_split
from models.metrics import auroc, calibration_intercept, calibration_slope, integrated_calibration_index
from models.split import TemporalSplit
from models.store import read_feature_set, read_truth
from models.training import fold_frames, train_outcome_model
from pipelines.settings import DEMO_PSEUDONYM_KEY
from synthetic.truth import LATENT_COLUMNS

FIXED = SearchSpace(
    learning_rate=(0.05, 0.05),
    num_leaves=(31, 31),
    min_child_samples=(200, 200),
    feature_fraction=(0.8, 0.8),
    bagging_fraction=(0.8, 0.8),
    lambda_l2=(1.0, 1.0),
)


def subsample_train(outcome: OutcomeFrame, split: TemporalSplit, share: float, seed: int) -> OutcomeFrame:
    """The outcome frame with only ``share`` of the training fold's persons kept in the training fold."""
    frame = outcome.frame
    in_train = frame["prediction_date"].isin(split.train_dates)
    persons = np.sort(frame.loc[in_train, "person_key"].unique())
    kept = set(np.random.default_rng(seed).choice(persons, int(len(persons) * share), replace=False))
    keep = ~in_train | frame["person_key"].isin(kept)
    return replace(outcome, frame=frame.loc[keep].reset_index(drop=True))


def calibration(y: np.ndarray, risk: np.ndarray) -> str:
    """Slope, intercept (calibration-in-the-large) and ICI as table cells."""
    return (
        f"{calibration_slope(y, risk):.3f} | {calibration_intercept(y, risk):.3f} | "
        f"{integrated_calibration_index(y, risk):.3f}"
    )


def with_latent_state(
    outcome: OutcomeFrame, split: TemporalSplit, world_dir: Path, columns: tuple[str, ...]
) -> OutcomeFrame:
    """The outcome frame with the generator's latent state at each prediction date as extra features.

    An upper bound, not a model: it shows how much of the gap to the oracle is the latent state that
    registry and care records reveal only through noisy, delayed traces.
    """
    dates = [*split.train_dates, *split.validation_dates, *split.test_dates]
    truth = read_truth(world_dir, DEMO_PSEUDONYM_KEY, dates)
    missing = [column for column in columns if column not in truth.columns]
    if missing:
        raise SystemExit(f"The truth file lacks {missing}; regenerate the world with this version of synth.")
    frame = outcome.frame.copy()
    for column in columns:
        frame[column] = truth_values(frame, truth, column)
    return replace(outcome, frame=frame, feature_names=[*outcome.feature_names, *columns])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--outcome", default="admission")
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--version", default=None, help="Feature set version [LATEST].")
    parser.add_argument("--compare", action="append", default=[], help="Another feature set version.")
    parser.add_argument(
        "--latent",
        action="store_true",
        help="Add rows with the generator's latent frailty (and decline) given as extra features.",
    )
    args = parser.parse_args()

    feature_set = read_feature_set(args.home / "features", args.version)
    target = target_name(args.outcome, args.horizon)
    outcome = build_outcome_frame(feature_set.features, feature_set.labels, target)
    config = replace(TrainingConfig(), search_trials=1, search_space=FIXED, horizon_months=args.horizon)
    split = configured_split(outcome.labelled_share_by_date, config)
    truth = read_truth(args.home / "world", DEMO_PSEUDONYM_KEY, list(split.test_dates))

    def row(name: str, frame: OutcomeFrame, chosen_split: TemporalSplit = split) -> str:
        """Train on ``frame`` with ``chosen_split``; test on ``frame``'s test rows of ``split``."""
        trained = train_outcome_model(frame, chosen_split, config, feature_set.version)
        test_rows = fold_frames(frame, split)["test"]
        y = test_rows["label"].to_numpy(dtype=float)
        risk = trained.model.predict_risk(test_rows)
        oracle = oracle_risk(test_rows, truth, target)
        known = ~np.isnan(oracle)
        return (
            f"| {name} | {trained.fold_rows['train']:,} | {auroc(y, risk):.3f} | "
            f"{calibration(y, risk)} | {auroc(y[known], oracle[known]):.3f} |"
        )

    print("| training data | train rows | test AUROC | calibration slope | intercept | ICI | oracle AUROC |")
    print("|---|---|---|---|---|---|---|")
    for share in (0.25, 0.5, 1.0):
        frame = subsample_train(outcome, split, share, seed=1) if share < 1 else outcome
        print(row(f"{share:.0%} of training persons", frame), flush=True)
    wide = TemporalSplit(
        tuple(d for d in outcome.usable_dates(config.min_labelled_share) if d < split.validation_dates[0]),
        split.validation_dates,
        split.test_dates,
        args.horizon,
    )
    print(row("all dates before validation (no train-validation gap)", outcome, wide), flush=True)
    if args.latent:
        for name, columns in (
            ("features + the true latent frailty (not observable)", ("latent_frailty",)),
            ("features + the true latent frailty and decline (not observable)", LATENT_COLUMNS),
        ):
            print(row(name, with_latent_state(outcome, split, args.home / "world", columns)), flush=True)
    for version in args.compare:
        other = read_feature_set(args.home / "features", version)
        other_outcome = build_outcome_frame(other.features, other.labels, target)
        name = (
            f"feature set {other.version} ({other.manifest.mode}, "
            f"{len(other_outcome.feature_names)} features), 100 % of training persons"
        )
        print(row(name, other_outcome), flush=True)


if __name__ == "__main__":
    main()
