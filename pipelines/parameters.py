"""One typed parameter object per step: what a run of the step may be told, beside its settings.

The CLI builds them from its options, `tidlig serve` builds them for the scheduled deployments, and a
run file (``pipelines.run_file.RunFile``) holds them for a reproducible run; each flow takes one. Defaults
come from the step's config class (``TrainingConfig``, ``ScreeningConfig``), so there is one default per
option. Fields are plain JSON values, so Prefect can show, store and validate them, and a deployment can
set every one of them.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal

from models.config import OUTCOMES, Calibration, CalibrationRows, Censoring, Outcome, TrainingConfig
from monitoring.config import MonitorConfig
from pipelines.errors import InvalidParameterError
from screening.config import ScreeningConfig, capacity_from_mapping

Frequency = Literal["month", "quarter"]
Mode = Literal["as_known", "as_occurred"]


@dataclass(frozen=True)
class IngestParameters:
    """`tidlig ingest`: which sources to take (empty: every source with a contract, in ingest order)."""

    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeaturesParameters:
    """`tidlig features`: which named feature set, prediction dates, mode and area."""

    feature_set: str = "default"
    start: str | None = None
    end: str | None = None
    every: Frequency = "month"
    mode: Mode = "as_known"
    municipalities: tuple[str, ...] = ()
    dates_per_chunk: int = 12


@dataclass(frozen=True)
class TrainParameters:
    """`tidlig train`: outcomes, horizon, feature set and the search options of ``TrainingConfig``."""

    outcomes: tuple[Outcome, ...] = OUTCOMES
    horizon_months: int = TrainingConfig.horizon_months
    feature_set_version: str | None = None
    use_oracle: bool = True
    search_trials: int = TrainingConfig.search_trials
    search_budget_seconds: float = TrainingConfig.search_budget_seconds
    max_boosting_rounds: int = TrainingConfig.max_boosting_rounds
    bootstrap_samples: int = TrainingConfig.bootstrap_samples
    capacity_per_district: int = TrainingConfig.capacity_per_district
    calibration: Calibration = TrainingConfig.calibration
    calibration_rows: CalibrationRows = TrainingConfig.calibration_rows
    censoring: Censoring = TrainingConfig.censoring
    seed: int = TrainingConfig.seed

    def training_config(self) -> TrainingConfig:
        """The TrainingConfig these parameters describe (other fields keep their defaults)."""
        chosen = {f.name: getattr(self, f.name) for f in fields(TrainingConfig) if hasattr(self, f.name)}
        return replace(TrainingConfig(), **chosen)


@dataclass(frozen=True)
class ScoreParameters:
    """`tidlig score`: the date and every option of ``ScreeningConfig`` a user may set.

    ``as_of`` is an ISO date, ``"latest"`` (the last prediction date of the latest feature set) or None
    (the latest date the deliveries support, ``screening.as_of``).
    """

    as_of: str | None = None
    capacity: int = ScreeningConfig.capacity
    capacity_by_district: dict[str, int] = field(default_factory=dict)
    exclude_full_home_care: bool = ScreeningConfig.exclude_full_home_care
    recent_visit_days: int = ScreeningConfig.recent_visit_days
    dismissed_days: int = ScreeningConfig.dismissed_days
    outcome: Outcome = ScreeningConfig.outcome
    horizon_months: int = ScreeningConfig.horizon_months

    def screening_config(self) -> ScreeningConfig:
        """The validated ScreeningConfig; raises InvalidParameterError naming the bad value."""
        try:
            return ScreeningConfig(
                capacity=self.capacity,
                capacity_by_district=dict(self.capacity_by_district),
                exclude_full_home_care=self.exclude_full_home_care,
                recent_visit_days=self.recent_visit_days,
                dismissed_days=self.dismissed_days,
                outcome=self.outcome,
                horizon_months=self.horizon_months,
            )
        except ValueError as error:
            raise InvalidParameterError(str(error)) from error


@dataclass(frozen=True)
class MonitorParameters:
    """`tidlig monitor`: the date and the options of ``monitoring.config.MonitorConfig`` a user may set.

    ``as_of`` is an ISO date or None (the latest date the deliveries support, ``screening.as_of``). The
    bands are the deployment's defaults (``monitoring.config.DEFAULT_BANDS``).
    """

    as_of: str | None = None
    outcome: Outcome = "admission"
    horizon_months: int = 12
    simulations: int = 200
    seed: int = 0
    alert_on_partial: bool = False

    def monitor_config(self) -> MonitorConfig:
        """The validated MonitorConfig; raises InvalidParameterError naming the bad value."""
        try:
            return MonitorConfig(
                outcome=self.outcome,
                horizon_months=self.horizon_months,
                simulations=self.simulations,
                seed=self.seed,
                alert_on_partial=self.alert_on_partial,
            )
        except ValueError as error:
            raise InvalidParameterError(str(error)) from error


def read_capacity_file(path: str | Path) -> dict[str, int]:
    """``{district: visits}`` from a TOML or JSON file (a top-level table or a ``[capacity]`` table)."""
    import json

    path = Path(path)
    text = path.read_text()
    try:
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        return capacity_from_mapping(raw.get("capacity", raw))
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise InvalidParameterError(f"{path}: {error}", option="--capacity-file") from error


def today() -> dt.date:
    """The scoring date when none is given: today in UTC."""
    return dt.datetime.now(dt.UTC).date()
