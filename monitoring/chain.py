"""Building blocks for the monitor flow's inputs over the real chain (feature sets, labels, a champion).

The flow implements :class:`monitoring.run.MonitorInputs` by subclassing
:class:`monitoring.sources.OperationalLists` and answering the other methods with these functions:

- ``outcomes(list_id, observed_until)``: ``features.build_labels(connection, [list_date], horizons=(h // 2,
  h))`` from the final data, then :func:`outcomes_from_labels` with :func:`label_months` of the maturity;
- ``reference_features()`` / ``current_features(as_of)``: feature rows (the champion's latest training or
  validation dates; the scoring cohort at ``as_of``) through :func:`with_risk`;
- ``history_start()``: ``screening.as_of.history_start(warehouse.connect())``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from monitoring.outcomes import Maturity


class ScoringModel(Protocol):
    """What the monitor needs from a champion: its inputs and calibrated risks."""

    feature_names: list[str]

    def predict_risk(self, features: pd.DataFrame) -> np.ndarray: ...


def label_months(maturity: Maturity, horizon_months: int) -> int:
    """The label horizon that observes a list at ``maturity``: the whole horizon, or half of it."""
    if maturity == "mature":
        return horizon_months
    if horizon_months % 2:
        raise ValueError(f"A partial evaluation needs an even horizon (half of {horizon_months} months).")
    return horizon_months // 2


def outcomes_from_labels(labels: pd.DataFrame, outcome: str, months: int) -> pd.DataFrame:
    """``person_key``, ``event`` (1.0/0.0, NaN censored), ``event_date`` from ``features.build_labels`` rows
    of one prediction date (columns ``<outcome>_<months>m`` and ``<outcome>_<months>m_event_date``)."""
    column = f"{outcome}_{months}m"
    missing = [name for name in (column, f"{column}_event_date") if name not in labels]
    if missing:
        raise ValueError(
            f"The labels lack {missing}; build them with horizons including {months} months "
            "(features.build_labels(..., horizons=(6, 12)))."
        )
    if labels["prediction_date"].nunique() > 1:
        raise ValueError("outcomes_from_labels takes the labels of one list date; filter them first.")
    return pd.DataFrame(
        {
            "person_key": labels["person_key"].astype(str).to_numpy(),
            "event": pd.to_numeric(labels[column], errors="coerce").to_numpy(dtype=float),
            "event_date": pd.to_datetime(labels[f"{column}_event_date"]).to_numpy(),
        }
    )


def with_risk(features: pd.DataFrame, model: ScoringModel) -> pd.DataFrame:
    """``features`` (a new frame) with the model's calibrated ``risk`` of every row."""
    return features.assign(risk=np.asarray(model.predict_risk(features), dtype=float))
