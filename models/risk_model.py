"""The trained risk model as the rest of the platform sees it: calibrated risk and SHAP contributions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.calibration import Calibrator
from models.dataset import as_model_matrix


class RiskModelLike(Protocol):
    """What the rest of the platform may use of a risk model (docs/interfaces.md section 4).

    :class:`RiskModel` is the real one; the screening run and its tests depend only on this protocol.
    """

    feature_names: list[str]
    version: str | None
    feature_set_version: str

    def predict_risk(self, features: pd.DataFrame) -> np.ndarray: ...

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame: ...


@dataclass
class RiskModel:
    """A LightGBM booster plus its calibrator, bound to the feature set it was trained on.

    ``predict_risk`` returns calibrated probabilities of the outcome within the horizon (what lists
    show). ``contributions`` returns LightGBM's own SHAP values (TreeSHAP, ``pred_contrib=True``) on the
    booster's log-odds scale, one column per feature, same index as the input; a positive value pushes
    risk up. ``version`` is the MLflow registered version (None before registration).
    """

    booster: lgb.Booster
    calibrator: Calibrator
    feature_names: list[str]
    feature_set_version: str
    target: str
    version: str | None = None
    global_importance: dict[str, float] = field(default_factory=dict)

    def predict_raw(self, features: pd.DataFrame) -> np.ndarray:
        """Uncalibrated booster probabilities (for calibration fitting and diagnostics)."""
        return np.asarray(self.booster.predict(as_model_matrix(features, self.feature_names), num_threads=1))

    def predict_risk(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated probability per row; extra columns in ``features`` are ignored."""
        return self.calibrator.transform(self.predict_raw(features))

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per-row SHAP contributions (log-odds), one column per feature; the bias term is left out."""
        matrix = as_model_matrix(features, self.feature_names)
        values = np.asarray(self.booster.predict(matrix, pred_contrib=True, num_threads=1))
        return pd.DataFrame(values[:, :-1], index=features.index, columns=self.feature_names)

    def expected_log_odds(self) -> float:
        """The SHAP bias term: the booster's mean log-odds on its training data."""
        zero_row = np.zeros((1, len(self.feature_names)))
        return float(np.asarray(self.booster.predict(zero_row, pred_contrib=True))[0, -1])


def gain_importance(booster: lgb.Booster, feature_names: list[str]) -> dict[str, float]:
    """Share of total split gain per feature (sums to 1), sorted from most to least important."""
    gains = booster.feature_importance(importance_type="gain")
    total = float(gains.sum()) or 1.0
    pairs = sorted(zip(feature_names, gains, strict=True), key=lambda pair: -pair[1])
    return {name: float(gain) / total for name, gain in pairs}
