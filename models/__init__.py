"""models layer: training, calibration, evaluation, MLflow registry and promotion gate (code only).

``load_champion`` and ``RiskModel`` are the contract of docs/interfaces.md section 4. MLflow is imported
only when ``load_champion`` is called, so importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.risk_model import RiskModel

__all__ = ["RiskModel", "load_champion"]


def load_champion(outcome: str, tracking_uri: str) -> RiskModel:
    """The `champion` RiskModel of ``outcome`` ('admission', 'death', 'frailty'; 12 months unless given
    as e.g. 'admission_6m'), from the MLflow registry at ``tracking_uri``."""
    from models.registry import load_champion as load

    return load(outcome, tracking_uri)


def __getattr__(name: str) -> object:
    if name == "RiskModel":
        from models.risk_model import RiskModel

        return RiskModel
    raise AttributeError(f"module 'models' has no attribute '{name}'")
