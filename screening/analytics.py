"""Capacity analytics: what the chosen capacity buys, and whom the lists reach compared with the need.

Everything is an aggregate of calibrated risks (the expected number of events), so it is available on the
day the list is made, before any outcome is known. Every cell built from fewer than
``MIN_CELL_PERSONS`` persons is suppressed (value None, ``suppressed`` True) before it leaves this module,
and so is every cell from which one could be worked out: the groups of each dimension sum to the overall
row, so a dimension never shows all but one of its groups (complementary suppression, :mod:`privacy`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from privacy import MIN_CELL_PERSONS, cell_text, margin_relations, protect

MIN_CELL = MIN_CELL_PERSONS  # kept for callers not yet switched to privacy.MIN_CELL_PERSONS
OVERALL = ("overall", "all")
AGE_BANDS = ((65, 75, "65-74"), (75, 85, "75-84"), (85, 200, "85+"))


def age_band(age_years: pd.Series) -> pd.Series:
    """``65-74``, ``75-84``, ``85+`` (``under 65`` below and ``unknown`` for missing ages)."""
    age = pd.to_numeric(age_years, errors="coerce")
    bands = pd.Series("unknown", index=age.index, dtype="object")
    bands[age < 65] = "under 65"
    for low, high, label in AGE_BANDS:
        bands[(age >= low) & (age < high)] = label
    return bands


def capacity_analytics(
    eligible: pd.DataFrame,
    listed_keys: set[str],
    *,
    risk_column: str = "risk",
    person_key: str = "person_key",
    district: str = "district",
    age_years: str = "age_years",
    sex_female: str = "sex_female",
) -> pd.DataFrame:
    """One row per cell: ``dimension`` (overall/sex/age_band/district), ``group``, and the measures.

    Measures: ``eligible`` and ``listed`` persons; ``expected_events_listed`` (sum of risk on the lists);
    ``expected_events_per_visit`` (mean risk on the lists); ``share_of_events_captured`` (expected events on
    the lists over expected events among all eligible); ``share_of_listed`` and ``share_of_events`` (the
    group's share of all listed persons and of all expected events: where the list goes vs where events
    happen). Cells with fewer than 5 eligible or listed persons (but more than 0 listed) are suppressed,
    and with them the smallest other cells needed so that no suppressed cell equals the overall row minus
    the shown groups of its dimension (those rows have ``complementary`` True).
    """
    frame = pd.DataFrame(
        {
            "risk": pd.to_numeric(eligible[risk_column], errors="coerce").fillna(0.0).to_numpy(),
            "listed": eligible[person_key].isin(listed_keys).to_numpy(),
            "sex": np.where(pd.to_numeric(eligible.get(sex_female), errors="coerce") > 0, "F", "M")
            if sex_female in eligible
            else "unknown",
            "age_band": age_band(eligible[age_years]).to_numpy() if age_years in eligible else "unknown",
            "district": eligible[district].astype(str).to_numpy(),
        }
    )
    frame["overall"] = "all"
    total_events = frame["risk"].sum()
    total_listed = int(frame["listed"].sum())
    rows: list[dict[str, Any]] = []
    for dimension in ("overall", "sex", "age_band", "district"):
        for group, cell in frame.groupby(dimension, sort=True):
            listed = cell.loc[cell["listed"]]
            expected_listed = float(listed["risk"].sum())
            expected_all = float(cell["risk"].sum())
            row = {
                "dimension": dimension,
                "group": str(group),
                "eligible": len(cell),
                "listed": len(listed),
                "expected_events_listed": round(expected_listed, 2),
                "expected_events_per_visit": round(expected_listed / len(listed), 4) if len(listed) else None,
                "share_of_events_captured": round(expected_listed / expected_all, 4)
                if expected_all
                else None,
                "share_of_listed": round(len(listed) / total_listed, 4) if total_listed else None,
                "share_of_events": round(expected_all / total_events, 4) if total_events else None,
                "suppressed": len(cell) < MIN_CELL_PERSONS or 0 < len(listed) < MIN_CELL_PERSONS,
            }
            rows.append(row)
    complementary = _complements(rows)
    return pd.DataFrame([_withheld(row, complementary) for row in rows])


def _complements(rows: list[dict[str, Any]]) -> frozenset[tuple[str, str]]:
    """The (dimension, group) cells withheld only to protect a small one over the overall row."""
    if not rows:
        return frozenset()
    values = {(row["dimension"], row["group"]): float(row["eligible"]) for row in rows}
    groups: dict[str, list[tuple[str, str]]] = {}
    for dimension, group in values:
        if dimension != OVERALL[0]:
            groups.setdefault(dimension, []).append((dimension, group))
    primary = {(row["dimension"], row["group"]) for row in rows if row["suppressed"]}
    return protect(values, margin_relations(OVERALL, groups), primary=primary).complementary


def _withheld(row: dict[str, Any], complementary: frozenset[tuple[str, str]]) -> dict[str, Any]:
    is_complement = (row["dimension"], row["group"]) in complementary
    if not (row["suppressed"] or is_complement):
        return row | {"complementary": False}
    blank = {key: (value if key in ("dimension", "group") else None) for key, value in row.items()}
    return blank | {"suppressed": True, "complementary": is_complement}


def listed_by_district_text(analytics: pd.DataFrame) -> dict[str, str]:
    """``district -> listed`` as text from a :func:`capacity_analytics` table (``<5`` small, ``*`` withheld
    to protect another district), for artifacts and logs: the same cells as the published table, so the
    two together reveal nothing the table alone does not."""
    rows = analytics.loc[analytics["dimension"] == "district"]
    return {
        str(row.group): cell_text(
            None if row.suppressed else int(row.listed), complementary=bool(row.complementary)
        )
        for row in rows.itertuples(index=False)
    }
