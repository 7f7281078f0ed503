"""Calibrators fitted on temporal held-out data: isotonic or Platt, stored as plain JSON numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.isotonic import IsotonicRegression

from models.config import Calibration
from models.metrics import fit_logistic, logit


@dataclass
class Calibrator:
    """Maps an uncalibrated probability to a calibrated one.

    ``method`` is 'isotonic' (monotone step function, linear between knots, clipped at the ends) or
    'platt' (logistic on the logit of the raw probability). Learned attributes end in ``_``.
    """

    method: Calibration = "isotonic"
    knots_x_: list[float] = field(default_factory=list)
    knots_y_: list[float] = field(default_factory=list)
    platt_: tuple[float, float] = (0.0, 1.0)

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        """Fit on raw probabilities and observed 0/1 outcomes of held-out rows; returns self."""
        raw = np.asarray(raw, dtype=float)
        y = np.asarray(y, dtype=float)
        if len(np.unique(y)) < 2:
            raise ValueError("Calibration needs both outcomes in the held-out fold; widen the fold.")
        if self.method == "isotonic":
            isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
            self.knots_x_ = [float(v) for v in isotonic.X_thresholds_]
            self.knots_y_ = [float(v) for v in isotonic.y_thresholds_]
        elif self.method == "platt":
            lp = logit(raw)
            beta = fit_logistic(np.column_stack([np.ones_like(lp), lp]), y, np.zeros_like(lp))
            self.platt_ = (float(beta[0]), float(beta[1]))
        else:
            raise ValueError(f"Unknown calibration method '{self.method}'. Use 'isotonic' or 'platt'.")
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for raw probabilities."""
        raw = np.asarray(raw, dtype=float)
        if self.method == "isotonic":
            if not self.knots_x_:
                raise RuntimeError("The calibrator is not fitted; call fit() first.")
            return np.interp(raw, self.knots_x_, self.knots_y_)
        intercept, slope = self.platt_
        return 1 / (1 + np.exp(-(intercept + slope * logit(raw))))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready parameters (numbers only, no data rows)."""
        return {
            "method": self.method,
            "knots_x": self.knots_x_,
            "knots_y": self.knots_y_,
            "platt": list(self.platt_),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibrator:
        """Rebuild a fitted calibrator from ``to_dict`` output."""
        platt = data.get("platt", [0.0, 1.0])
        return cls(
            method=data["method"],  # type: ignore[arg-type]
            knots_x_=list(data.get("knots_x", [])),  # type: ignore[arg-type]
            knots_y_=list(data.get("knots_y", [])),  # type: ignore[arg-type]
            platt_=(float(platt[0]), float(platt[1])),  # type: ignore[index]
        )
