"""Do more training dates help? Monthly against quarterly training dates, same test rows (issue 18 item 4)

`python -m benchmarks.models_training_dates --home H [--version V] [--outcome admission] [--trials 2]` reads
a feature set of H built with monthly prediction dates (`tidlig features --every month`; default the
LATEST one), takes its temporal split, and trains the same model (`tidlig train`'s search and calibration)
twice: once on every training date of the split (monthly) and once on the training dates that are quarter
starts (January, April, July, October: what `--every quarter` gives). Both use the same validation dates
for early stopping and calibration and are scored on the same test rows, so only the training dates
differ. Prints test AUROC, the person-clustered bootstrap CI of the paired difference, calibration slope
and the oracle on the same rows, as Markdown; docs/models.md quotes it with this command.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from benchmarks.models_trajectories import add_model_arguments, model_config, paired_difference
from models.baselines import oracle_risk
from models.dataset import build_outcome_frame
from models.harness import configured_split, prediction_dates_needed
from models.metrics import auroc, calibration_slope
from models.split import TemporalSplit
from models.store import read_feature_set, read_truth
from models.training import fold_frames, train_outcome_model
from pipelines.settings import DEMO_PSEUDONYM_KEY

QUARTER_STARTS = (1, 4, 7, 10)


def quarterly(split: TemporalSplit) -> TemporalSplit:
    """``split`` with only the training dates that are quarter starts (validation and test unchanged)."""
    kept = tuple(date for date in split.train_dates if date.month in QUARTER_STARTS and date.day == 1)
    if not kept:
        raise SystemExit("No training date of this feature set is a quarter start; build monthly dates.")
    return replace(split, train_dates=kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--version", default=None, help="Feature set version [LATEST].")
    args = parser.parse_args()

    config, target = model_config(args)
    feature_set = read_feature_set(
        args.home / "features",
        args.version,
        dates_from_labels=lambda labels: prediction_dates_needed(labels, [args.outcome], config),
    )
    outcome = build_outcome_frame(feature_set.features, feature_set.labels, target)
    monthly = configured_split(outcome.labelled_share_by_date, config)
    splits = {"every month": monthly, "quarter starts only": quarterly(monthly)}
    if len(splits["quarter starts only"].train_dates) == len(monthly.train_dates):
        raise SystemExit(
            "The training fold has quarter starts only; build the feature set with --every month."
        )
    test_rows = fold_frames(outcome, monthly)["test"]
    y = test_rows["label"].to_numpy(dtype=float)
    persons = test_rows["person_key"].to_numpy()
    truth = read_truth(args.home / "world", DEMO_PSEUDONYM_KEY, list(monthly.test_dates))
    oracle = oracle_risk(test_rows, truth, target)
    risks, rows = {}, {}
    for name, split in splits.items():
        trained = train_outcome_model(outcome, split, config, "benchmark")
        risks[name] = np.asarray(trained.model.predict_risk(test_rows))
        rows[name] = int(fold_frames(outcome, split)["train"].shape[0])
    print(f"feature set {feature_set.version}; {len(test_rows):,} test rows ({int(y.sum()):,} events, ")
    print(f"{len(set(persons)):,} persons); folds {monthly.describe()}")
    print()
    header = ["training dates", "dates", "training rows", "test AUROC", "vs quarter starts (95 % CI)"]
    print("| " + " | ".join([*header, "calibration slope"]) + " |")
    print("|---|---|---|---|---|---|")
    base = risks["quarter starts only"]
    for name in ("quarter starts only", "every month"):
        split, risk = splits[name], risks[name]
        versus = paired_difference(y, base, risk, persons) if name != "quarter starts only" else "–"
        print(
            f"| {name} ({split.train_dates[0].date()}..{split.train_dates[-1].date()}) | "
            f"{len(split.train_dates)} | {rows[name]:,} | {auroc(y, risk):.4f} | {versus} | "
            f"{calibration_slope(y, risk):.3f} |",
            flush=True,
        )
    known = ~np.isnan(oracle)
    oracle_vs = paired_difference(y[known], base[known], oracle[known], persons[known])
    print(f"| oracle (rows with truth) | – | – | {auroc(y[known], oracle[known]):.4f} | {oracle_vs} | – |")


if __name__ == "__main__":
    main()
