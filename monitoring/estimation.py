"""Before labels: what a list should achieve if its risks are right (confidence-based performance estimation).

CBPE, as NannyML describes it: with calibrated probabilities ``p``, each person is an expected ``p`` of a
positive and ``1 - p`` of a negative, so the confusion matrix at any threshold, and every metric made
from it, has an expected value without a single label. Here:

- expected AUROC: the probability that a random event ranks above a random non-event, each pair of
  persons ``i != j`` weighted by ``p_i (1 - p_j)`` (ties count half);
- expected PPV at capacity: the mean risk of the listed persons (expected events per visit);
- expected events captured at capacity: the sum of the listed persons' risks, and its share of the sum
  over everyone scored.

Intervals come from ``simulations`` draws of outcomes ``y ~ Bernoulli(p)``: the range a realised value
should fall in when the assumptions hold (also for observed/expected events, whose expected value is 1).
The alerts use them to tell a real breach from the sampling noise of a small district.

The assumptions are the method's limits: the scores are calibrated for this population, and there is no
concept drift (the relation between inputs and outcome has not changed; CBPE cannot see that, only
realised performance can). The visits themselves may prevent
events, which lowers the realised values of listed persons below the expected ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

METHOD = "CBPE (confidence-based performance estimation, NannyML): expected metrics from calibrated risks"


def expected_auroc(risk: np.ndarray) -> float:
    """The AUROC expected if outcomes were drawn from ``risk`` (see module docstring); NaN under 2 persons."""
    p = np.clip(np.asarray(risk, dtype=float), 0.0, 1.0)
    if len(p) < 2:
        return float("nan")
    order = np.argsort(p, kind="stable")
    p = p[order]
    _, starts, counts = np.unique(p, return_index=True, return_counts=True)
    positives = np.add.reduceat(p, starts)
    negatives = counts - positives
    negatives_below = np.concatenate([[0.0], np.cumsum(negatives)[:-1]])
    # Pairs (positive i, negative j) with p_i > p_j, plus half the tied pairs, then remove self pairs.
    numerator = float(np.sum(positives * negatives_below) + 0.5 * np.sum(positives * negatives))
    self_pairs = float(np.sum(p * (1 - p)))
    numerator -= 0.5 * self_pairs
    denominator = float(p.sum() * (1 - p).sum()) - self_pairs
    return numerator / denominator if denominator > 0 else float("nan")


@dataclass(frozen=True)
class ExpectedPerformance:
    """Expected metrics of one list (aggregates only), with 95 % simulation intervals."""

    persons: int
    listed: int
    expected_events: float
    expected_auroc: float
    expected_auroc_low: float
    expected_auroc_high: float
    expected_ppv: float
    expected_ppv_low: float
    expected_ppv_high: float
    expected_events_captured: float
    expected_share_captured: float
    observed_expected_low: float
    observed_expected_high: float
    method: str = METHOD

    def as_record(self) -> dict[str, object]:
        """The fields as a plain dict (for storage)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def expected_performance(
    risk: np.ndarray, listed: np.ndarray, *, simulations: int = 200, seed: int = 0
) -> ExpectedPerformance:
    """Expected AUROC, PPV and events captured of a list whose listed persons are ``listed`` (bool mask)
    among everyone scored with calibrated ``risk``."""
    p = np.clip(np.asarray(risk, dtype=float), 0.0, 1.0)
    on_list = np.asarray(listed, dtype=bool)
    if p.shape != on_list.shape:
        raise ValueError("risk and listed must have one value per scored person.")
    captured = float(p[on_list].sum())
    total = float(p.sum())
    ppv = float(p[on_list].mean()) if on_list.any() else float("nan")
    auc_draws, ppv_draws, ratio_draws = [], [], []
    rng = np.random.default_rng(seed)
    ranks = stats.rankdata(p)  # the scores do not change between draws: rank them once (ties averaged)
    for _ in range(simulations):
        y = rng.random(len(p)) < p
        auc_draws.append(_auroc_from_ranks(ranks, y))
        ratio_draws.append(float(y.sum()) / total if total > 0 else float("nan"))
        if on_list.any():
            ppv_draws.append(float(y[on_list].mean()))
    auc_low, auc_high = _interval(auc_draws)
    ppv_low, ppv_high = _interval(ppv_draws)
    ratio_low, ratio_high = _interval(ratio_draws)
    return ExpectedPerformance(
        persons=len(p),
        listed=int(on_list.sum()),
        expected_events=round(total, 3),
        expected_auroc=expected_auroc(p),
        expected_auroc_low=auc_low,
        expected_auroc_high=auc_high,
        expected_ppv=ppv,
        expected_ppv_low=ppv_low,
        expected_ppv_high=ppv_high,
        expected_events_captured=round(captured, 3),
        expected_share_captured=captured / total if total > 0 else float("nan"),
        observed_expected_low=ratio_low,
        observed_expected_high=ratio_high,
    )


def _auroc_from_ranks(ranks: np.ndarray, y: np.ndarray) -> float:
    """The Mann–Whitney form of the AUROC (equal to ``models.metrics.auroc``); NaN with one class."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    return (float(ranks[y].sum()) - positives * (positives + 1) / 2) / (positives * negatives)


def _interval(draws: list[float]) -> tuple[float, float]:
    values = pd.Series(draws, dtype=float).dropna().to_numpy()
    if len(values) == 0:
        return float("nan"), float("nan")
    low, high = np.quantile(values, [0.025, 0.975])
    return float(low), float(high)
