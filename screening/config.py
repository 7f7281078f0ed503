"""How a screening run behaves: capacity, exclusions, and which feature columns carry the facts it needs.

Config is data: the CLI builds one :class:`ScreeningConfig` and passes it down; nothing here reads files or
the environment. :func:`capacity_from_mapping` validates a per-district capacity table read elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from features.catalogue import (
    DAYS_SINCE_PREVENTIVE_VISIT_COLUMN,
    PERSONAL_CARE_MINUTES_COLUMN,
    PRACTICAL_HELP_MINUTES_COLUMN,
)
from features.labels import OUTCOMES, Outcome  # the one outcome list (features/labels.py)


@dataclass(frozen=True)
class FeatureColumns:
    """Names of the feature-table columns the screening layer reads (docs/interfaces.md section 3).

    Defaults are the names ``features.catalogue.default_feature_set`` generates. A rule whose column is
    absent from the feature table is reported as not applied (see ``eligibility.apply_exclusions``), never
    silently treated as "no". The default feature cohort already leaves out nursing-home residents (no
    nursing-home month in the 92 days before the date), so the screening rule is a second guard.
    """

    person_key: str = "person_key"
    district: str = "district"
    municipality: str = "municipality"
    age_years: str = "age_years"
    sex_female: str = "sex_female"
    living_alone: str = "living_alone"
    nursing_home_resident: str = "nursing_home_resident"
    personal_care_minutes: str = PERSONAL_CARE_MINUTES_COLUMN
    practical_help_minutes: str = PRACTICAL_HELP_MINUTES_COLUMN
    days_since_preventive_visit: str = DAYS_SINCE_PREVENTIVE_VISIT_COLUMN


@dataclass(frozen=True)
class ScreeningConfig:
    """Everything that decides who is listed, besides the data and the models.

    - ``capacity``: visits per district per list period; ``capacity_by_district`` overrides it per district.
    - ``exclude_nursing_home``: nursing-home residents are never listed (they have round-the-clock care).
    - ``exclude_full_home_care``: skip citizens who already get both personal care and practical help
      (§79a allows municipalities to do so); off by default.
    - ``recent_visit_days``: skip citizens with a preventive visit, or a review decision, within this many
      days before the as-of date.
    - ``dismissed_days``: skip citizens a clinician dismissed within this many days.
    - ``outcome``: the champion model whose calibrated risk ranks the list.
    - ``reasons_min`` / ``reasons_max``: how many plain-language reasons each entry shows.
    """

    capacity: int = 25
    capacity_by_district: Mapping[str, int] = field(default_factory=dict)
    exclude_nursing_home: bool = True
    exclude_full_home_care: bool = False
    recent_visit_days: int = 90
    dismissed_days: int = 180
    outcome: Outcome = "admission"
    horizon_months: int = 12
    reasons_min: int = 3
    reasons_max: int = 5
    columns: FeatureColumns = field(default_factory=FeatureColumns)

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {self.capacity}.")
        capacity_from_mapping(self.capacity_by_district)
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {self.outcome!r}.")
        if not 1 <= self.reasons_min <= self.reasons_max:
            raise ValueError("reasons_min must be between 1 and reasons_max.")
        if self.recent_visit_days < 0 or self.dismissed_days < 0:
            raise ValueError("recent_visit_days and dismissed_days must be >= 0.")

    def capacity_for(self, district: str) -> int:
        """Visits available in ``district`` (the per-district value if given, else the default)."""
        return int(self.capacity_by_district.get(district, self.capacity))

    def as_record(self) -> dict[str, Any]:
        """A JSON-ready description, used in the list ID so a config change gives a new list."""
        record = asdict(self)
        record["capacity_by_district"] = dict(sorted(self.capacity_by_district.items()))
        return record


def capacity_from_mapping(raw: Mapping[str, Any]) -> dict[str, int]:
    """Validate a ``{district: visits}`` table; raise ValueError naming the bad district and value."""
    capacities: dict[str, int] = {}
    for district, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(
                f"Capacity for district {district!r} must be a whole number >= 0, got {value!r}. "
                "Fix the capacity file (TOML or JSON: district = visits)."
            )
        capacities[str(district)] = value
    return capacities
