"""Calibration on small data: the old default (isotonic on one validation fold) against the new one.

`python -m benchmarks.models_small_data_calibration [--seeds 5] [--rows 3500] [--trials 4]` draws small
plain tables (``tests.models.small_table``: ~6 % events) and, per seed, gets 5-fold out-of-fold risks for:
- ``holdout isotonic`` — what ``train_outcome_model`` did before: search and early-stop on a 20 %
  validation fold, isotonic on that fold (~40 events);
- ``holdout platt`` — the same with Platt;
- ``raw booster`` — the holdout booster uncalibrated;
- ``RiskClassifier`` — the estimator with its defaults ('auto' calibration, cross-fitted on all folds).
Prints, per method, the median and range over seeds of the out-of-fold calibration slope, AUROC and the
share of risks at the floor (exactly 0 before the floor existed). docs/models.md quotes the output.
"""

from __future__ import annotations

import argparse
import warnings
from dataclasses import replace

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from models.calibration import RISK_FLOOR, Calibrator
from models.config import TrainingConfig
from models.estimator import RiskClassifier, model_columns
from models.metrics import auroc, calibration_slope
from models.training import search_booster
from tests.models.small_table import make_small_table


def holdout_risks(X, y, train, test, config: TrainingConfig) -> dict[str, np.ndarray]:  # noqa: N803
    """Old scheme: 80/20 stratified train/validation inside ``train``; calibrate on validation only."""
    names, categorical = model_columns(X)
    matrix = X[names].apply(lambda c: c.cat.codes if c.dtype.name == "category" else c).to_numpy("float32")
    fit, validation = train_test_split(train, test_size=0.2, stratify=y[train], random_state=config.seed)
    search = search_booster(
        matrix[fit],
        y[fit],
        matrix[validation],
        y[validation],
        feature_names=names,
        config=config,
        categorical_features=categorical,
    )
    raw_validation = search.booster.predict(matrix[validation])
    raw_test = search.booster.predict(matrix[test])
    isotonic = Calibrator("isotonic").fit(raw_validation, y[validation])
    platt = Calibrator("platt").fit(raw_validation, y[validation])
    # The isotonic step function before the floor: np.interp on its knots (the old transform).
    old_isotonic = np.interp(
        raw_test,
        isotonic.knots_x_,
        np.where(np.isclose(isotonic.knots_y_, RISK_FLOOR), 0.0, isotonic.knots_y_),
    )
    return {
        "holdout isotonic (old default)": old_isotonic,
        "holdout platt": platt.transform(raw_test),
        "raw booster": raw_test,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=3500)
    parser.add_argument("--trials", type=int, default=4)
    arguments = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    config = replace(TrainingConfig(), search_trials=arguments.trials)
    results: dict[str, list[tuple[float, float, float]]] = {}
    for seed in range(arguments.seeds):
        X, y, _ = make_small_table(arguments.rows, seed)  # noqa: N806
        risks: dict[str, np.ndarray] = {}
        outer = StratifiedKFold(5, shuffle=True, random_state=seed)
        for train, test in outer.split(X, y):
            for name, risk in holdout_risks(X, y, train, test, config).items():
                risks.setdefault(name, np.empty(len(y)))[test] = risk
            estimator = RiskClassifier(search_trials=arguments.trials).fit(X.iloc[train], y[train])
            risks.setdefault("RiskClassifier (new default)", np.empty(len(y)))[test] = estimator.predict_risk(
                X.iloc[test]
            )
        for name, risk in risks.items():
            floor = float(np.mean(risk <= RISK_FLOOR))
            results.setdefault(name, []).append((calibration_slope(y, risk), auroc(y, risk), floor))
        print(f"seed {seed}: {len(y)} rows, {int(y.sum())} events ({y.mean():.1%})", flush=True)
    print("\n| method | slope median (range) | AUROC median | share of risks 0 / at floor (max) |")
    print("|---|---|---|---|")
    for name, rows in results.items():
        slopes, aurocs, floors = (np.array(column) for column in zip(*rows, strict=True))
        print(
            f"| {name} | {np.median(slopes):.2f} ({slopes.min():.2f}–{slopes.max():.2f}) | "
            f"{np.median(aurocs):.3f} | {floors.max():.1%} |"
        )


if __name__ == "__main__":
    main()
