"""Who may be listed (exclusions) and which §79a target groups a citizen belongs to.

Pure functions over the scored feature frame; they never mutate their inputs.

§79a of the Social Services Act: preventive home visits are offered to people living alone in the year they
turn 70, to everyone in the year they turn 75 and 80, yearly from 82, and as needed at 65–81 for people at
special risk. "The year they turn N" is judged from the age at 31 December of the as-of year.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening.config import ScreeningConfig

TARGET_GROUPS: dict[str, tuple[str, str]] = {
    "alone_at_70": ("Bor alene og fylder 70 i år", "Lives alone and turns 70 this year"),
    "age_75": ("Fylder 75 i år", "Turns 75 this year"),
    "age_80": ("Fylder 80 i år", "Turns 80 this year"),
    "yearly_from_82": ("82 år eller ældre (årligt tilbud)", "82 or older (yearly offer)"),
    "special_risk_65_81": ("65–81 år med særlig risiko", "Aged 65–81 at special risk"),
}

DECISIONS_COLUMNS = ("person_key", "decided_on", "kind")


@dataclass(frozen=True)
class ExclusionResult:
    """The citizens who may be listed, and an attrition table of what each rule removed.

    ``attrition`` has columns ``rule``, ``applied`` (False when the data for the rule were missing),
    ``removed``, ``remaining``; it holds counts only, no person data.
    """

    eligible: pd.DataFrame
    attrition: pd.DataFrame


def apply_exclusions(
    scored: pd.DataFrame,
    as_of: dt.date,
    config: ScreeningConfig,
    decisions: pd.DataFrame | None = None,
    *,
    objections_removed: int | None = None,
) -> ExclusionResult:
    """Remove the citizens who must not be listed at ``as_of``, rule by rule, in a fixed order.

    ``scored`` holds one row per citizen with the feature columns named in ``config.columns``.
    ``decisions`` (optional) holds review decisions with columns ``person_key``, ``decided_on`` (date) and
    ``kind`` (``reviewed`` or ``dismissed``); only decisions strictly before ``as_of`` count.
    Missing values never exclude: an unknown nursing-home status is treated as not excluded and the rule
    is still reported as applied, whereas an absent column makes the rule ``applied=False``.
    ``objections_removed``: how many cohort members were dropped before scoring because they objected
    (``screening.objections``); when given, the table starts with that count as the rule
    ``objection_registered`` (a count only, suppressed like the others when it leaves the platform).
    """
    columns = config.columns
    remaining = scored
    rows: list[dict[str, object]] = [
        {"rule": "scored", "applied": True, "removed": 0, "remaining": len(scored)}
    ]
    if objections_removed is not None:
        rows.insert(
            0,
            {
                "rule": "objection_registered",
                "applied": True,
                "removed": int(objections_removed),
                "remaining": len(scored),
            },
        )

    def step(rule: str, applied: bool, keep: pd.Series | None) -> None:
        nonlocal remaining
        before = len(remaining)
        if applied and keep is not None:
            remaining = remaining.loc[keep.to_numpy(dtype=bool)]
        rows.append(
            {
                "rule": rule,
                "applied": applied,
                "removed": before - len(remaining),
                "remaining": len(remaining),
            }
        )

    if config.exclude_nursing_home:
        present = columns.nursing_home_resident in remaining
        keep = ~_truthy(remaining[columns.nursing_home_resident]) if present else None
        step("nursing_home_resident", present, keep)

    if config.exclude_full_home_care:
        present = columns.personal_care_minutes in remaining and columns.practical_help_minutes in remaining
        keep = None
        if present:
            personal = pd.to_numeric(remaining[columns.personal_care_minutes], errors="coerce").fillna(0)
            practical = pd.to_numeric(remaining[columns.practical_help_minutes], errors="coerce").fillna(0)
            keep = ~((personal > 0) & (practical > 0))
        step("receives_personal_care_and_practical_help", present, keep)

    present = columns.days_since_preventive_visit in remaining
    keep = None
    if present:
        days = pd.to_numeric(remaining[columns.days_since_preventive_visit], errors="coerce")
        keep = ~(days < config.recent_visit_days).fillna(False)
    step(f"preventive_visit_within_{config.recent_visit_days}d", present, keep)

    recent_reviewed = _recent(decisions, as_of, config.recent_visit_days, kinds=("reviewed", "dismissed"))
    step(
        f"reviewed_within_{config.recent_visit_days}d",
        decisions is not None,
        ~remaining[columns.person_key].isin(recent_reviewed),
    )
    recent_dismissed = _recent(decisions, as_of, config.dismissed_days, kinds=("dismissed",))
    step(
        f"dismissed_within_{config.dismissed_days}d",
        decisions is not None,
        ~remaining[columns.person_key].isin(recent_dismissed),
    )
    return ExclusionResult(eligible=remaining.copy(), attrition=pd.DataFrame(rows))


def _truthy(values: pd.Series) -> pd.Series:
    numeric = pd.to_numeric(values.astype("object").where(values.notna(), 0), errors="coerce").fillna(0)
    return numeric.astype(float) > 0


def _recent(decisions: pd.DataFrame | None, as_of: dt.date, days: int, kinds: tuple[str, ...]) -> set[str]:
    if decisions is None or decisions.empty:
        return set()
    missing = set(DECISIONS_COLUMNS) - set(decisions.columns)
    if missing:
        raise ValueError(f"decisions frame lacks column(s) {sorted(missing)}; expected {DECISIONS_COLUMNS}.")
    decided = pd.to_datetime(decisions["decided_on"]).dt.date
    start = as_of - dt.timedelta(days=days)
    mask = decisions["kind"].isin(kinds) & (decided >= start) & (decided < as_of)
    return set(decisions.loc[mask, "person_key"].astype(str))


def age_at_year_end(age_years: pd.Series, as_of: dt.date) -> pd.Series:
    """Age on 31 December of the as-of year, from the (fractional) age at ``as_of``.

    With whole-year ages the result is the as-of age plus the fraction of the year left, floored, which
    can be one year low for people whose birthday is still to come; the feature table gives fractional ages.
    """
    year_end = dt.date(as_of.year, 12, 31)
    remaining_years = (year_end - as_of).days / 365.25
    age = pd.to_numeric(age_years, errors="coerce").astype(float)
    return np.floor(age + remaining_years + 1e-9)


def target_groups(
    citizens: pd.DataFrame, as_of: dt.date, config: ScreeningConfig, at_special_risk: pd.Series
) -> pd.Series:
    """The §79a groups of each citizen as a sorted list of codes (keys of :data:`TARGET_GROUPS`).

    ``at_special_risk`` (bool, same index) says whether the municipality judges the citizen at special risk;
    the screening run passes "listed by the model", which is what the list is for; special risk is only
    flagged for someone no age-based group already covers. A ``birth_year`` column,
    when present and known, gives the exact age reached this year; otherwise it is estimated from age.
    """
    columns = config.columns
    age = age_at_year_end(citizens[columns.age_years], as_of)
    if "birth_year" in citizens:
        exact = as_of.year - pd.to_numeric(citizens["birth_year"], errors="coerce")
        age = exact.where(exact.notna(), age).astype(float)
    if columns.living_alone in citizens:
        alone = _truthy(citizens[columns.living_alone])
    else:
        alone = pd.Series(False, index=citizens.index)
    special = at_special_risk.reindex(citizens.index).fillna(False).astype(bool)
    groups: list[list[str]] = []
    for index in citizens.index:
        years = age.loc[index]
        codes: list[str] = []
        if not math.isnan(years):
            if years == 70 and alone.loc[index]:
                codes.append("alone_at_70")
            if years == 75:
                codes.append("age_75")
            if years == 80:
                codes.append("age_80")
            if years >= 82:
                codes.append("yearly_from_82")
            if not codes and 65 <= years <= 81 and special.loc[index]:
                codes.append("special_risk_65_81")
        groups.append(sorted(codes))
    return pd.Series(groups, index=citizens.index, dtype="object")
