"""A small synthetic monitoring world: citizens with known, calibrated risks, weekly-ish lists per district,
outcomes drawn from the risks, and switches that plant a data fault or a calibration decay.

Everything is drawn from a seeded generator; the "model" is the true risk itself (perfectly calibrated,
no concept drift) unless ``risk_multiplier`` makes the world's outcomes more frequent than predicted.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FEATURES = (
    "age_years",
    "sex_female",
    "living_alone",
    "home_care_minutes_mean_0_to_90d",
    "gp_contacts_count_0_to_365d",
    "gp_contacts_count_0_to_1825d",
    "diagnosis_i50_count_0_to_365d",
)
HISTORY_START = dt.date(2020, 1, 1)
REFERENCE_DATES = (dt.date(2021, 1, 1), dt.date(2021, 7, 1))


def population(
    persons: int, districts: Sequence[str], day: dt.date, rng: np.random.Generator
) -> pd.DataFrame:
    """Citizens at ``day`` with features and their true 12-month risk."""
    years_of_history = min(5.0, (day - HISTORY_START).days / 365.25)
    age = rng.uniform(65, 98, persons)
    frame = pd.DataFrame(
        {
            "person_key": [f"k{index:06d}" for index in range(persons)],
            "prediction_date": pd.Timestamp(day),
            "district": rng.choice(list(districts), persons),
            "age_years": age,
            "sex_female": (rng.random(persons) < 0.55).astype(float),
            "living_alone": (rng.random(persons) < 0.4).astype(float),
            "home_care_minutes_mean_0_to_90d": np.where(
                rng.random(persons) < 0.3, rng.gamma(2.0, 60.0, persons), 0.0
            ),
            "gp_contacts_count_0_to_365d": rng.poisson(4.0, persons).astype(float),
            "diagnosis_i50_count_0_to_365d": rng.poisson(0.15, persons).astype(float),
        }
    )
    frame["gp_contacts_count_0_to_1825d"] = rng.poisson(4.0 * years_of_history, persons).astype(float)
    linear = (
        -4.2
        + 0.06 * (age - 65)
        + 0.35 * frame["living_alone"]
        + 0.004 * frame["home_care_minutes_mean_0_to_90d"]
        + 0.12 * frame["gp_contacts_count_0_to_365d"]
        + 0.8 * frame["diagnosis_i50_count_0_to_365d"]
    )
    frame["risk"] = 1 / (1 + np.exp(-linear))
    return frame


@dataclass
class World:
    """Implements ``monitoring.run.MonitorInputs`` over frames."""

    persons: int = 3000
    districts: tuple[str, ...] = ("d1", "d2", "d3")
    list_dates: tuple[dt.date, ...] = (dt.date(2023, 1, 2), dt.date(2023, 7, 3), dt.date(2024, 1, 1))
    capacity: int = 40
    seed: int = 7
    risk_multiplier: float = 1.0
    home_care_stops_in: str | None = None
    i50_recoded_after: dt.date | None = None
    decisions_frame: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __post_init__(self) -> None:
        self._lists: dict[str, pd.DataFrame] = {}
        headers = []
        for day in self.list_dates:
            scored = self._population(day)
            for district in self.districts:
                cell = scored.loc[scored["district"] == district].copy()
                order = cell["risk"].rank(ascending=False, method="first")
                cell["listed"] = order <= self.capacity
                list_id = f"{district}-{day.isoformat()}"
                self._lists[list_id] = cell.reset_index(drop=True)
                headers.append(
                    {
                        "list_id": list_id,
                        "district": district,
                        "as_of_date": day,
                        "capacity": self.capacity,
                        "model_versions": {"admission": "3"},
                    }
                )
        self._headers = pd.DataFrame(headers)
        self._outcomes: dict[str, pd.DataFrame] = {}

    def _population(self, day: dt.date) -> pd.DataFrame:
        rng = np.random.default_rng([self.seed, day.toordinal()])
        frame = population(self.persons, self.districts, day, rng)
        if self.home_care_stops_in is not None and day > REFERENCE_DATES[-1]:
            stopped = frame["district"] == self.home_care_stops_in
            frame.loc[stopped, "home_care_minutes_mean_0_to_90d"] = np.nan
        if self.i50_recoded_after is not None and day > self.i50_recoded_after:
            frame["diagnosis_i50_count_0_to_365d"] = 0.0  # the code moved to another chapter
        return frame

    # ----- MonitorInputs -----
    def published_lists(self) -> pd.DataFrame:
        return self._headers.copy()

    def list_scores(self, list_id: str) -> pd.DataFrame:
        return self._lists[list_id].drop(columns=["prediction_date"]).copy()

    def outcomes(self, list_id: str, observed_until: dt.date) -> pd.DataFrame:
        if list_id not in self._outcomes:
            scored = self._lists[list_id]
            rng = np.random.default_rng([self.seed, 99, zlib.crc32(list_id.encode())])
            chance = np.clip(scored["risk"].to_numpy() * self.risk_multiplier, 0, 1)
            event = rng.random(len(scored)) < chance
            day = pd.Timestamp(scored["prediction_date"].iloc[0])
            offsets = rng.integers(1, 366, len(scored))
            self._outcomes[list_id] = pd.DataFrame(
                {
                    "person_key": scored["person_key"],
                    "event": event.astype(float),
                    "event_date": [
                        day + pd.Timedelta(days=int(o)) if e else pd.NaT
                        for o, e in zip(offsets, event, strict=True)
                    ],
                }
            )
        outcomes = self._outcomes[list_id].copy()
        later = outcomes["event_date"] > pd.Timestamp(observed_until)
        outcomes.loc[later, "event"] = 0.0
        outcomes.loc[later, "event_date"] = pd.NaT
        return outcomes

    def reference_features(self) -> pd.DataFrame:
        return pd.concat([self._population(day) for day in REFERENCE_DATES], ignore_index=True)

    def current_features(self, as_of: dt.date) -> pd.DataFrame:
        return self._population(as_of)

    def feature_names(self) -> Sequence[str]:
        return FEATURES

    def history_start(self) -> dt.date | None:
        return HISTORY_START

    def decisions(self) -> pd.DataFrame:
        if self.decisions_frame.empty:
            return pd.DataFrame(
                columns=[
                    "list_id",
                    "person_key",
                    "district",
                    "decided_at",
                    "action",
                    "new_problem_found",
                    "referred_to_gp",
                ]
            )
        return self.decisions_frame.copy()
