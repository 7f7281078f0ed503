"""Discrimination, calibration and clinical-usefulness metrics, with person-clustered bootstrap CIs.

All functions take observed outcomes ``y`` (0/1) and predicted probabilities ``p`` as 1-d arrays and
return plain floats; NaN means "not defined here" (e.g. AUROC with one class only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, roc_auc_score

_EPS = 1e-6


def auroc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve; NaN when only one class is present."""
    y = np.asarray(y)
    if y.min(initial=1) == y.max(initial=0):
        return float("nan")
    return float(roc_auc_score(y, p))


def auprc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the precision-recall curve (average precision); NaN without events."""
    y = np.asarray(y)
    if y.sum() == 0:
        return float("nan")
    return float(average_precision_score(y, p))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared difference between probability and outcome."""
    return float(np.mean((np.asarray(p, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)) with p clipped away from 0 and 1."""
    clipped = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    log_odds: npt.NDArray[np.float64] = np.log(clipped / (1 - clipped))
    return log_odds


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    iterations: int = 50,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Unpenalised logistic regression by Newton-Raphson; ``x`` includes the intercept column.

    ``weights`` (one per row, default all 1) weigh each row's log likelihood."""
    beta = np.zeros(x.shape[1])
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    for _ in range(iterations):
        eta = x @ beta + offset
        mu = 1 / (1 + np.exp(-eta))
        gradient = x.T @ (w * (y - mu))
        hessian = x.T @ (x * (w * mu * (1 - mu))[:, None])
        step = np.linalg.solve(hessian + 1e-9 * np.eye(x.shape[1]), gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


def calibration_slope(y: np.ndarray, p: np.ndarray) -> float:
    """Slope b of logit P(y=1) = a + b logit(p); 1 is ideal, < 1 means predictions are too extreme."""
    y = np.asarray(y, dtype=float)
    if y.min(initial=1) == y.max(initial=0):
        return float("nan")
    lp = logit(p)
    beta = fit_logistic(np.column_stack([np.ones_like(lp), lp]), y, np.zeros_like(lp))
    return float(beta[1])


def calibration_intercept(y: np.ndarray, p: np.ndarray) -> float:
    """Calibration-in-the-large: a in logit P(y=1) = a + logit(p) (slope fixed at 1); 0 is ideal."""
    y = np.asarray(y, dtype=float)
    if y.min(initial=1) == y.max(initial=0):
        return float("nan")
    lp = logit(p)
    beta = fit_logistic(np.ones((len(lp), 1)), y, lp)
    return float(beta[0])


def smoothed_observed_risk(y: np.ndarray, p: np.ndarray, grid_points: int = 60) -> np.ndarray:
    """Observed risk at each prediction, by Gaussian-kernel smoothing of y on logit(p).

    The smoother is evaluated on ``grid_points`` quantiles of logit(p) (using only points within four
    bandwidths) and interpolated; the bandwidth follows Silverman's rule on logit(p).
    """
    y = np.asarray(y, dtype=float)
    lp = logit(p)
    order = np.argsort(lp, kind="stable")
    sorted_lp, sorted_y = lp[order], y[order]
    bandwidth = max(1.06 * np.std(lp) * len(lp) ** (-1 / 5), 0.05)
    grid = np.unique(np.quantile(lp, np.linspace(0, 1, grid_points), method="inverted_cdf"))  # data points
    lows = np.searchsorted(sorted_lp, grid - 4 * bandwidth, side="left")
    highs = np.searchsorted(sorted_lp, grid + 4 * bandwidth, side="right")
    smoothed = np.empty_like(grid)
    for index, centre in enumerate(grid):
        window = slice(lows[index], highs[index])
        weights = np.exp(-0.5 * ((sorted_lp[window] - centre) / bandwidth) ** 2)
        smoothed[index] = weights @ sorted_y[window] / weights.sum()
    smoothed_at_lp: npt.NDArray[np.float64] = np.interp(lp, grid, smoothed)
    return smoothed_at_lp


def integrated_calibration_index(y: np.ndarray, p: np.ndarray) -> float:
    """ICI (Austin & Steyerberg 2019): mean absolute gap between p and the smoothed observed risk."""
    return float(np.mean(np.abs(np.asarray(p, dtype=float) - smoothed_observed_risk(y, p))))


def net_benefit(y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    """Net benefit of acting on everyone with p >= threshold: TP/n - FP/n * t / (1 - t)."""
    y = np.asarray(y, dtype=float)
    flagged = np.asarray(p) >= threshold
    n = len(y)
    true_positive = float(np.sum(flagged & (y == 1)))
    false_positive = float(np.sum(flagged & (y == 0)))
    return true_positive / n - false_positive / n * threshold / (1 - threshold)


def net_benefit_treat_all(y: np.ndarray, threshold: float) -> float:
    """Net benefit of acting on everyone, the reference line of a decision curve."""
    prevalence = float(np.mean(y))
    return prevalence - (1 - prevalence) * threshold / (1 - threshold)


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "auroc": auroc,
    "auprc": auprc,
    "brier": brier,
    "calibration_slope": calibration_slope,
    "calibration_intercept": calibration_intercept,
    "ici": integrated_calibration_index,
}


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a percentile bootstrap interval (NaN bounds when not bootstrapped)."""

    value: float
    lower: float
    upper: float

    def as_text(self, digits: int = 3) -> str:
        if np.isnan(self.lower):
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} ({self.lower:.{digits}f}–{self.upper:.{digits}f})"


def person_bootstrap_indices(
    clusters: np.ndarray, samples: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Row indices of each bootstrap sample, resampling whole persons (rows of one person move together,
    because a person contributes several prediction dates to a test period)."""
    codes, _ = _factorize(clusters)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    draws = []
    for _ in range(samples):
        chosen = rng.integers(0, len(counts), size=len(counts))
        lengths = counts[chosen]
        offsets = np.repeat(starts[chosen] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        draws.append(order[np.arange(lengths.sum()) + offsets])
    return draws


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniques, codes = np.unique(np.asarray(values), return_inverse=True)
    return codes, uniques


def evaluate_with_ci(
    y: np.ndarray,
    p: np.ndarray,
    clusters: np.ndarray,
    *,
    samples: int,
    seed: int,
    metrics: dict[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
) -> dict[str, Estimate]:
    """Every metric with a 95 % person-clustered percentile bootstrap interval (``samples`` = 0: none)."""
    chosen = METRICS if metrics is None else metrics
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    point = {name: function(y, p) for name, function in chosen.items()}
    if samples <= 0:
        return {name: Estimate(value, float("nan"), float("nan")) for name, value in point.items()}
    draws = person_bootstrap_indices(np.asarray(clusters), samples, np.random.default_rng(seed))
    replicates: dict[str, list[float]] = {name: [] for name in chosen}
    for rows in draws:
        for name, function in chosen.items():
            replicates[name].append(function(y[rows], p[rows]))
    result = {}
    for name, value in point.items():
        values = np.asarray(replicates[name], dtype=float)
        values = values[~np.isnan(values)]
        if len(values) == 0:
            result[name] = Estimate(value, float("nan"), float("nan"))
        else:
            lower, upper = np.quantile(values, [0.025, 0.975])
            result[name] = Estimate(value, float(lower), float(upper))
    return result
