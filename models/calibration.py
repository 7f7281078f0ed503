"""Calibrators fitted on held-out raw probabilities: isotonic or Platt, stored as plain JSON numbers.

``choose_calibration`` lets the method follow the data: isotonic regression estimates one step per block
of rows, so with few events its lowest blocks hold none and give a risk of exactly 0 (and its slope on new
data collapses); Platt's two parameters are estimated well from a few dozen events. ``auto`` therefore
uses isotonic only when the calibration rows hold at least ``isotonic_min_events`` events *and* as many
non-events, Platt otherwise. Every calibrated risk is kept inside ``[RISK_FLOOR, 1 - RISK_FLOOR]``: a
screening list never claims certainty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sklearn.isotonic import IsotonicRegression

from models.config import Calibration
from models.metrics import fit_logistic, logit

# One in ten thousand: below any 6- or 12-month risk an older citizen has, above floating-point noise.
RISK_FLOOR = 1e-4
# Isotonic needs about a thousand rows of the rarer class before it beats Platt (Niculescu-Mizil and
# Caruana 2005 found ~1000 calibration rows in balanced problems; with rare events the events count).
ISOTONIC_MIN_EVENTS = 1000


def choose_calibration(method: Calibration, y: np.ndarray, isotonic_min_events: int) -> str:
    """The fitted method for ``method`` on outcomes ``y``: 'auto' becomes 'isotonic' or 'platt'."""
    if method != "auto":
        return method
    events = int(np.sum(np.asarray(y) == 1))
    non_events = int(np.sum(np.asarray(y) == 0))
    return "isotonic" if min(events, non_events) >= isotonic_min_events else "platt"


@dataclass
class Calibrator:
    """Maps an uncalibrated probability to a calibrated one.

    ``method`` is 'auto' (choose by the number of events, see ``choose_calibration``), 'isotonic'
    (monotone step function, linear between knots, clipped at the ends) or 'platt' (logistic on the logit
    of the raw probability). Learned attributes end in ``_``: ``method_`` is the method actually fitted,
    ``events_`` the events it was fitted on. ``transform`` before ``fit`` raises.
    """

    method: Calibration = "auto"
    isotonic_min_events: int = ISOTONIC_MIN_EVENTS
    method_: str | None = None
    events_: int = 0
    knots_x_: list[float] = field(default_factory=list)
    knots_y_: list[float] = field(default_factory=list)
    platt_: tuple[float, float] | None = None

    def fit(self, raw: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> Calibrator:
        """Fit on raw probabilities and observed 0/1 outcomes of held-out rows, each row weighted by
        ``sample_weight`` when given (censoring weights); returns self. The method's event count is
        the unweighted count of events."""
        raw = np.asarray(raw, dtype=float)
        y = np.asarray(y, dtype=float)
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if len(np.unique(y)) < 2:
            raise ValueError("Calibration needs both outcomes in the held-out fold; widen the fold.")
        if self.method not in ("auto", "isotonic", "platt"):
            raise ValueError(
                f"Unknown calibration method '{self.method}'. Use 'auto', 'isotonic' or 'platt'."
            )
        method = choose_calibration(self.method, y, self.isotonic_min_events)
        if method == "isotonic":
            isotonic = IsotonicRegression(y_min=RISK_FLOOR, y_max=1 - RISK_FLOOR, out_of_bounds="clip").fit(
                raw, y, sample_weight=weight
            )
            self.knots_x_ = [float(v) for v in isotonic.X_thresholds_]
            self.knots_y_ = [float(v) for v in isotonic.y_thresholds_]
        else:
            lp = logit(raw)
            beta = fit_logistic(np.column_stack([np.ones_like(lp), lp]), y, np.zeros_like(lp), weights=weight)
            self.platt_ = (float(beta[0]), float(beta[1]))
        self.method_ = method
        self.events_ = int(y.sum())
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for raw probabilities, inside ``[RISK_FLOOR, 1 - RISK_FLOOR]``."""
        raw = np.asarray(raw, dtype=float)
        if self.method_ == "isotonic" and self.knots_x_:
            calibrated = np.interp(raw, self.knots_x_, self.knots_y_)
        elif self.method_ == "platt" and self.platt_ is not None:
            intercept, slope = self.platt_
            calibrated = 1 / (1 + np.exp(-(intercept + slope * logit(raw))))
        else:
            raise RuntimeError("The calibrator is not fitted; call fit() first.")
        risk: npt.NDArray[np.float64] = np.clip(calibrated, RISK_FLOOR, 1 - RISK_FLOOR)
        return risk

    def to_dict(self) -> dict[str, object]:
        """JSON-ready parameters (numbers only, no data rows); ``method`` is the fitted method."""
        if self.method_ is None:
            raise RuntimeError("The calibrator is not fitted; call fit() first.")
        return {
            "method": self.method_,
            "requested_method": self.method,
            "events": self.events_,
            "knots_x": self.knots_x_,
            "knots_y": self.knots_y_,
            "platt": list(self.platt_) if self.platt_ is not None else [],
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibrator:
        """Rebuild a fitted calibrator from ``to_dict`` output (also from files written before 'auto')."""
        method = str(data["method"])
        platt = list(data.get("platt") or [])  # type: ignore[call-overload]
        return cls(
            method=str(data.get("requested_method", method)),  # type: ignore[arg-type]
            method_=method,
            events_=int(data.get("events", 0)),  # type: ignore[call-overload]
            knots_x_=list(data.get("knots_x", [])),  # type: ignore[call-overload]
            knots_y_=list(data.get("knots_y", [])),  # type: ignore[call-overload]
            platt_=(float(platt[0]), float(platt[1])) if method == "platt" and platt else None,
        )
