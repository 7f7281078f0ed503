"""The MLflow pyfunc of a Tidlig risk model, logged as "model from code" (MLflow copies this file).

It needs only numpy, pandas and lightgbm: it reads the booster (``booster``), the calibrator
(``calibrator``, JSON) and the metadata (``metadata``, JSON: feature names) from the model's artifacts
and returns calibrated probabilities, so `mlflow models serve` and `mlflow.pyfunc.load_model` work
without the Tidlig package. Tidlig itself loads models with ``models.load_champion``.
MLflow executes this file when loading the model; ``set_model`` below is how it finds the class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc.model import PythonModel, PythonModelContext


class TidligRiskPyfunc(PythonModel):
    """Calibrated probability of the outcome for each input row (columns = the model's features)."""

    def load_context(self, context: PythonModelContext) -> None:
        self._booster = lgb.Booster(model_file=context.artifacts["booster"])
        self._calibrator = json.loads(Path(context.artifacts["calibrator"]).read_text())
        self._features = json.loads(Path(context.artifacts["metadata"]).read_text())["feature_names"]

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> np.ndarray:
        matrix = model_input[self._features].astype("float64").to_numpy()
        raw = self._booster.predict(matrix, num_threads=1)
        if self._calibrator["method"] == "isotonic":
            calibrated = np.interp(raw, self._calibrator["knots_x"], self._calibrator["knots_y"])
        else:
            intercept, slope = self._calibrator["platt"]
            clipped = np.clip(raw, 1e-6, 1 - 1e-6)
            calibrated = 1 / (1 + np.exp(-(intercept + slope * np.log(clipped / (1 - clipped)))))
        # models.calibration.RISK_FLOOR (this file imports nothing from models): never a risk of 0 or 1.
        risk: np.ndarray = np.clip(calibrated, 1e-4, 1 - 1e-4)
        return risk


mlflow.models.set_model(TidligRiskPyfunc())
