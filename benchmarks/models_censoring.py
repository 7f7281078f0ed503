"""Censoring by exclusion against censoring weights (IPCW), same rows, same split (issue 18 item 4, D151)

`python -m benchmarks.models_censoring --home H [--outcome admission] [--trials 2]` reads H's LATEST feature
set (its labels must carry `follow_up_end`: built by `tidlig features` since D151), and trains the same
model (`tidlig train`'s search and calibration) twice on the same temporal split: once dropping censored
rows alone ('exclude') and once weighting the rest by the inverse probability of still being followed
('ipcw', `models.censoring`). Both are scored on the same test rows. Prints, as Markdown, test AUROC with
the person-clustered bootstrap CI of the paired difference, calibration slope, and calibration in the large
three ways: against the IPCW-weighted observed event rate of the labelled test rows (what real data can
show), and against the synthetic world's oracle on the labelled test rows and on every row of the test
dates, censored ones included (the population a screening list scores). docs/models.md quotes it.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.models_trajectories import add_model_arguments, model_config, paired_difference
from models.baselines import oracle_risk
from models.dataset import WEIGHT_COLUMN, build_outcome_frame
from models.harness import configured_split, prediction_dates_needed
from models.metrics import auroc, calibration_slope
from models.store import read_feature_set, read_truth
from models.training import fold_frames, train_outcome_model
from pipelines.settings import DEMO_PSEUDONYM_KEY

METHODS = ("exclude", "ipcw")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    args = parser.parse_args()

    config, target = model_config(args)
    feature_set = read_feature_set(
        args.home / "features",
        None,
        dates_from_labels=lambda labels: prediction_dates_needed(labels, [args.outcome], config),
    )
    frames = {m: build_outcome_frame(feature_set.features, feature_set.labels, target, m) for m in METHODS}
    weighted = frames["ipcw"]
    if weighted.censoring != "ipcw" or weighted.weighting is None:
        raise SystemExit("These labels carry no follow_up_end; rebuild the features with `tidlig features`.")
    split = configured_split(weighted.labelled_share_by_date, config)
    test_rows = fold_frames(weighted, split)["test"]
    y = test_rows["label"].to_numpy(dtype=float)
    weights = test_rows[WEIGHT_COLUMN].to_numpy(dtype=float)
    persons = test_rows["person_key"].to_numpy()
    every_row = feature_set.features.loc[feature_set.features["prediction_date"].isin(split.test_dates)]
    truth = read_truth(args.home / "world", DEMO_PSEUDONYM_KEY, list(split.test_dates))
    oracle = oracle_risk(test_rows, truth, target)
    oracle_every = oracle_risk(every_row, truth, target)
    risks, every = {}, {}
    for method in METHODS:
        trained = train_outcome_model(frames[method], split, config, "benchmark")
        risks[method] = np.asarray(trained.model.predict_risk(test_rows))
        every[method] = np.asarray(trained.model.predict_risk(every_row))
    censored_test = len(every_row) - len(test_rows)
    print(f"feature set {feature_set.version}; folds {split.describe()}")
    print(
        f"{len(test_rows):,} labelled test rows ({int(y.sum()):,} events, {len(set(persons)):,} persons); "
        f"{censored_test:,} censored rows at the test dates; censoring weights: "
        f"{weighted.weighting.strata} strata over {', '.join(weighted.weighting.strata_columns)}, "
        f"test-row weights {weights.min():.3f}..{weights.max():.3f} (mean {weights.mean():.4f})"
    )
    print()
    print(
        "| censoring | test AUROC | vs exclusion (95 % CI) | calibration slope | mean risk − weighted "
        "observed rate | mean risk − oracle, labelled rows | mean risk − oracle, every test-date row |"
    )
    print("|---|---|---|---|---|---|---|")
    observed = float(np.average(y, weights=weights))
    known, known_every = ~np.isnan(oracle), ~np.isnan(oracle_every)
    for method in METHODS:
        risk = risks[method]
        versus = paired_difference(y, risks["exclude"], risk, persons) if method != "exclude" else "–"
        print(
            f"| {method} | {auroc(y, risk):.4f} | {versus} | {calibration_slope(y, risk):.3f} | "
            f"{risk.mean() - observed:+.4f} | {risk[known].mean() - oracle[known].mean():+.4f} | "
            f"{every[method][known_every].mean() - oracle_every[known_every].mean():+.4f} |",
            flush=True,
        )
    print(
        f"\nweighted observed rate {observed:.4f}, unweighted {y.mean():.4f}; oracle mean on labelled rows "
        f"{oracle[known].mean():.4f}, on every test-date row {oracle_every[known_every].mean():.4f}"
    )


if __name__ == "__main__":
    main()
