"""Input drift: population stability index (PSI) of each model input, scoring population vs reference.

PSI = sum over bins of (p_current - p_reference) * ln(p_current / p_reference), with bins from the
reference's deciles (numeric features with many values) or its distinct values (few values, booleans), and a
separate bin for missing values. Counts get half a person added per bin (additive smoothing) so an empty
bin in a small district does not give infinity or a spurious alarm.
Rule of thumb: < 0.1 stable, 0.1–0.25 some shift, > 0.25 major shift (the default refusal threshold).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

SMOOTHING = 0.5
MAX_DISCRETE_VALUES = 12
QUANTILE_BINS = 10


def population_stability_index(reference: pd.Series, current: pd.Series) -> float:
    """PSI of one feature (see module docstring); 0.0 when both are empty or identical in distribution."""
    ref = pd.to_numeric(reference.astype("float64", errors="ignore"), errors="coerce")
    cur = pd.to_numeric(current.astype("float64", errors="ignore"), errors="coerce")
    ref_values = ref.dropna().to_numpy(dtype=float)
    distinct = np.unique(ref_values)
    if len(distinct) <= MAX_DISCRETE_VALUES:
        ref_counts = _discrete_counts(ref, distinct)
        cur_counts = _discrete_counts(cur, distinct)
    else:
        edges = np.unique(np.quantile(ref_values, np.linspace(0, 1, QUANTILE_BINS + 1)[1:-1]))
        ref_counts = _binned_counts(ref, edges)
        cur_counts = _binned_counts(cur, edges)
    if ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return 0.0
    occupied = (ref_counts + cur_counts) > 0
    ref_counts, cur_counts = ref_counts[occupied] + SMOOTHING, cur_counts[occupied] + SMOOTHING
    p_ref = ref_counts / ref_counts.sum()
    p_cur = cur_counts / cur_counts.sum()
    return float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))


def _discrete_counts(values: pd.Series, distinct: np.ndarray) -> np.ndarray:
    present = values.dropna().to_numpy(dtype=float)
    known = np.array([(present == v).sum() for v in distinct], dtype=float)
    other = float(len(present) - known.sum())
    return np.concatenate([known, [other, float(values.isna().sum())]])


def _binned_counts(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    present = values.dropna().to_numpy(dtype=float)
    bins = np.searchsorted(edges, present, side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(float)
    return np.concatenate([counts, [float(values.isna().sum())]])


@dataclass(frozen=True)
class DriftReport:
    """PSI per feature (highest first) and whether any exceeds the threshold. Holds no person data."""

    psi: pd.Series
    threshold: float

    @property
    def tripped(self) -> bool:
        return bool((self.psi > self.threshold).any())

    def summary(self, top: int = 5) -> str:
        """One line naming the most drifted features and their PSI."""
        worst = ", ".join(f"{name} {value:.3f}" for name, value in self.psi.head(top).items())
        return f"max PSI {self.psi.max():.3f} (threshold {self.threshold}); highest: {worst}"


def drift_report(
    reference: pd.DataFrame, current: pd.DataFrame, features: Sequence[str], threshold: float
) -> DriftReport:
    """PSI of every feature in ``features`` present in both frames, compared with ``threshold``."""
    values = {
        name: population_stability_index(reference[name], current[name])
        for name in features
        if name in reference and name in current
    }
    psi = pd.Series(values, dtype=float).sort_values(ascending=False, kind="stable")
    return DriftReport(psi=psi, threshold=threshold)
