"""Training benchmark: wall time and peak memory of one outcome's training + evaluation.

Two modes:
- ``--home H``: the real feature set of a world built by synth -> ingest -> features (what item 9 of the
  models issue asks for: the 60k and 300k worlds), read as the train flow reads it (only the dates of
  the training, validation and test folds, float32);
- ``--persons N`` (no home): a generated feature table of N persons at quarterly dates with ``--features``
  columns (noise plus a logistic signal), for sizes whose real world takes too long to build.
Reports the median of ``--runs`` runs of `fit_and_evaluate` and of logging + registering in a temporary
MLflow store, and the process's peak RSS; writes them under "## Model training" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import resource
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.report import DOC, merged_rows, write_section

HEADING = "## Model training"


def generated_feature_set(
    persons: int, features: int, dates: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and labels in the interface shapes: float32 noise columns plus a logistic signal."""
    rng = np.random.default_rng(seed)
    keys = np.array([f"{i:032x}" for i in range(persons)])
    frailty = rng.gamma(2.0, 1.0, persons)
    age = rng.uniform(65, 95, persons)
    feature_frames, label_frames = [], []
    prediction_dates = pd.date_range("2019-07-01", periods=dates, freq="3MS")
    for number, date in enumerate(prediction_dates):
        frailty = frailty + rng.gamma(0.3, 0.3, persons)
        columns = {
            "person_key": keys,
            "prediction_date": date,
            "municipality": "101",
            "district": rng.choice(["101-01", "101-02", "101-03", "101-04"], persons),
            "age_years": (age + number / 4).astype("float32"),
            "sex_female": rng.random(persons) < 0.55,
            "living_alone": rng.random(persons) < 0.4,
            "hfrs_score_0_to_730d": (frailty * 3 + rng.normal(0, 1.5, persons)).clip(0).astype("float32"),
            "charlson_index_0_to_1825d": rng.poisson(0.5 + 0.3 * frailty).astype("float32"),
        }
        for index in range(max(features - 5, 0)):
            columns[f"noise_{index}"] = rng.normal(size=persons).astype("float32")
        feature_frames.append(pd.DataFrame(columns))
        p = 1 / (1 + np.exp(-(-4.2 + 0.05 * (age - 75) + 0.55 * frailty)))
        censored = number >= dates - 4
        label = np.where(censored, np.nan, (rng.random(persons) < p).astype(float))
        label_frames.append(
            pd.DataFrame(
                {
                    "person_key": keys,
                    "prediction_date": date,
                    "admission_12m": label,
                    "admission_12m_censored": censored,
                }
            )
        )
    return pd.concat(feature_frames, ignore_index=True), pd.concat(label_frames, ignore_index=True)


def section_lines(rows: list[str]) -> list[str]:
    """The section text: explanation, table header and ``rows``."""
    return [
        "",
        "`python -m benchmarks.bench_train [--home H | --persons N] --outcome admission --trials T",
        "--runs R`: median of R runs of `models.harness.fit_and_evaluate` (temporal split, random search",
        "with early stopping, isotonic calibration, 4 baselines, 200 person-clustered bootstrap samples) and",
        "of logging + registering the candidate in a fresh SQLite MLflow store; peak RSS of the process.",
        "With `--home`, features are read as `tidlig train` reads them: only the prediction dates of the",
        'training, validation and test folds, as float32 ("rows read").',
        f"{platform.machine()}, 2 LightGBM threads, Python {platform.python_version()}, {dt.date.today()}.",
        "",
        "| input | rows read | train rows | features | trials | train + evaluate (s) | log + register (s) "
        "| peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]


def main() -> None:
    from models import registry
    from models.config import TrainingConfig
    from models.harness import fit_and_evaluate, prediction_dates_needed
    from models.store import read_feature_set

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="Data home with a feature set (features/LATEST).")
    parser.add_argument("--persons", type=int, default=60_000, help="Generated mode: persons.")
    parser.add_argument("--features", type=int, default=226, help="Generated mode: feature columns.")
    parser.add_argument("--dates", type=int, default=15, help="Generated mode: quarterly prediction dates.")
    parser.add_argument("--outcome", default="admission")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--label", default=None, help="Row label in the table [derived from the inputs].")
    parser.add_argument("--no-write", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
    args = parser.parse_args()

    config = replace(TrainingConfig(), search_trials=args.trials, bootstrap_samples=200)
    if args.home:
        # as the train flow reads: the labels, then only the feature rows of the folds' dates
        feature_set = read_feature_set(
            args.home / "features",
            dates_from_labels=lambda labels: prediction_dates_needed(labels, (args.outcome,), config),
        )
        features, labels = feature_set.features, feature_set.labels
        source = (
            f"world at {args.home.name} (feature set {feature_set.version}, "
            f"{features['prediction_date'].nunique()} of {labels['prediction_date'].nunique()} dates read)"
        )
    else:
        features, labels = generated_feature_set(args.persons, args.features, args.dates, seed=1)
        source = (
            f"generated: {args.persons:,} persons x {args.dates} quarterly dates x {args.features} features"
        )
    persons = features["person_key"].nunique()
    print(f"{source}: {len(features):,} rows, {persons:,} persons", flush=True)
    fit_times, log_times = [], []
    for run in range(args.runs):
        started = time.perf_counter()
        result = fit_and_evaluate(features, labels, args.outcome, config, "bench")
        fit_times.append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory(prefix="tidlig-bench-train-") as folder:
            uri = f"sqlite:///{Path(folder) / 'mlflow.db'}"
            started = time.perf_counter()
            registry.log_candidate(
                result,
                config,
                registry.Provenance("bench", "bench"),
                tracking_uri=uri,
                artifact_root=Path(folder),
            )
            log_times.append(time.perf_counter() - started)
        print(
            f"  run {run + 1}/{args.runs}: train + evaluate {fit_times[-1]:.1f} s, log + register "
            f"{log_times[-1]:.1f} s (train rows {result.trained.fold_rows['train']:,}, "
            f"{result.trained.best_trial.best_iteration} rounds)",
            flush=True,
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    label = args.label or source
    median_fit, median_log = statistics.median(fit_times), statistics.median(log_times)
    cells = [
        label,
        f"{len(features):,}",
        f"{result.trained.fold_rows['train']:,}",
        str(len(result.outcome.feature_names)),
        str(args.trials),
        f"{median_fit:.1f}",
        f"{median_log:.1f}",
        f"{peak_mib:,.0f}",
    ]
    row = "| " + " | ".join(cells) + " |"
    print(row)
    if args.no_write:
        return
    write_section(HEADING, section_lines(merged_rows(HEADING, [row])))
    print(f"Wrote the '{HEADING}' section of {DOC}.")


if __name__ == "__main__":
    main()
