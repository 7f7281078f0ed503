"""What the monitor checks and when a value needs an analyst: one frozen config per deployment.

A :class:`MetricBand` is the range a metric may take without a review item; ``holds_publication`` says
whether an open item of that metric stops the next scoring run from publishing until an analyst
acknowledges it. Bands are data: a deployment passes its own tuple to :class:`MonitorConfig`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Metric = Literal[
    "input_psi",
    "score_psi",
    "expected_auroc",
    "expected_ppv",
    "realised_auroc",
    "auroc_shortfall",
    "calibration_slope",
    "calibration_intercept",
    "observed_expected",
    "visit_yield",
]
METRICS: tuple[str, ...] = Metric.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class MetricBand:
    """``low <= value <= high`` is fine (None: no bound on that side); outside it opens a review item."""

    metric: Metric
    low: float | None = None
    high: float | None = None
    holds_publication: bool = False

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"Unknown metric {self.metric!r} in a band; expected one of {METRICS}.")
        if self.low is None and self.high is None:
            raise ValueError(f"The band of {self.metric} has neither a low nor a high bound; give one.")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"The band of {self.metric} has low {self.low} above high {self.high}.")

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the band (NaN lies in every band: nothing to judge)."""
        if math.isnan(value):
            return True
        return not (
            (self.low is not None and value < self.low) or (self.high is not None and value > self.high)
        )

    def describe(self) -> str:
        """``[0.8, 1.25]``, ``>= 0.6`` or ``<= 0.25``."""
        if self.low is not None and self.high is not None:
            return f"[{self.low:g}, {self.high:g}]"
        return f">= {self.low:g}" if self.low is not None else f"<= {self.high:g}"


DEFAULT_BANDS: tuple[MetricBand, ...] = (
    # Before labels: a data fault (a source stops, a code changes) should stop the lists.
    MetricBand("input_psi", high=0.25, holds_publication=True),
    MetricBand("score_psi", high=0.25, holds_publication=True),
    MetricBand("expected_auroc", low=0.60),
    MetricBand("expected_ppv", low=0.05),
    # After labels: the model is judged; an analyst decides whether to retrain.
    MetricBand("realised_auroc", low=0.60),
    MetricBand("auroc_shortfall", high=0.05),
    MetricBand("calibration_slope", low=0.75, high=1.25),
    MetricBand("calibration_intercept", low=-0.3, high=0.3),
    MetricBand("observed_expected", low=0.8, high=1.25),
)


@dataclass(frozen=True)
class MonitorConfig:
    """One monitor deployment: which outcome the lists predict, over what horizon, and the bands.

    ``alert_dimensions``: which cells can open review items (subgroup cells are stored and shown, but are
    too small and too many to alarm on). ``simulations`` draws of outcomes give the interval of the
    expected AUROC and PPV. ``drift_tolerance_days``: see ``screening.drift.comparable_dates``.
    ``min_drift_persons``: fewer current persons than this in a district and its drift is stored but not
    judged (noise), beside the small-cell rule. ``require_evidence``: a value outside its band opens an item
    only when sampling noise does not explain it: for drift, the type-suited test's p-value is below
    ``drift_alpha`` (or the test cannot run, e.g. every value missing); for realised metrics, the value is
    outside the list's simulated interval (CBPE) or, for the slope, more than 2.58 standard errors from 1.
    ``alert_on_partial``: half-matured lists are shown but do not alarm by default (their few events make
    a noisy AUROC, and the CBPE interval is for the whole horizon).
    """

    outcome: str = "admission"
    horizon_months: int = 12
    bands: tuple[MetricBand, ...] = field(default=DEFAULT_BANDS)
    alert_dimensions: tuple[str, ...] = ("overall", "district")
    simulations: int = 200
    seed: int = 0
    drift_tolerance_days: int = 31
    min_drift_persons: int = 50
    require_evidence: bool = True
    drift_alpha: float = 0.001
    alert_on_partial: bool = False

    def __post_init__(self) -> None:
        names = [band.metric for band in self.bands]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"Monitoring bands repeat metric(s) {repeated}; give one band per metric.")
        if self.horizon_months <= 0:
            raise ValueError(f"horizon_months must be positive, got {self.horizon_months}.")

    def band(self, metric: str) -> MetricBand | None:
        """The band of ``metric``, or None when the deployment does not judge it."""
        return next((band for band in self.bands if band.metric == metric), None)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready description (stored with every monitor run)."""
        return {
            "outcome": self.outcome,
            "horizon_months": self.horizon_months,
            "bands": [
                {"metric": b.metric, "low": b.low, "high": b.high, "holds_publication": b.holds_publication}
                for b in self.bands
            ],
            "alert_dimensions": list(self.alert_dimensions),
            "simulations": self.simulations,
            "seed": self.seed,
            "drift_tolerance_days": self.drift_tolerance_days,
            "min_drift_persons": self.min_drift_persons,
            "require_evidence": self.require_evidence,
            "drift_alpha": self.drift_alpha,
            "alert_on_partial": self.alert_on_partial,
        }
