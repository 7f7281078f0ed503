"""The feedback loop: what did the visits find, per list, per district and per reason.

For each (list, citizen) the *latest* decision counts. A visit's yield is the share of completed visits
(``visit_done``) that found a new problem. :func:`suppress_small_cells` blanks every count of a group with
fewer than five persons before aggregates leave the platform or reach an analyst; a page that shows these
rows beside the list status counts they sum from protects them together (``review.web_admin``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Literal

import sqlalchemy as sa

from privacy import MIN_CELL_PERSONS, shown_count
from review.tables import decisions
from review.worklist import label_of
from screening.store import screening_list_entries

GroupBy = Literal["list", "district", "reason"]
MIN_CELL = MIN_CELL_PERSONS
YIELD_COUNTS: tuple[str, ...] = ("decided", "visits_done", "new_problems", "referred_to_gp", "not_relevant")


@dataclass(frozen=True)
class YieldRow:
    """Counts for one group. ``None`` counts mean suppressed (fewer than :data:`MIN_CELL` persons)."""

    group: str
    decided: int | None
    visits_done: int | None
    new_problems: int | None
    referred_to_gp: int | None
    not_relevant: int | None

    @property
    def yield_rate(self) -> float | None:
        """New problems found per completed visit, or None when there is no (unsuppressed) visit."""
        if not self.visits_done or self.new_problems is None:
            return None
        return self.new_problems / self.visits_done


def compute_yield(engine: sa.Engine, group_by: GroupBy, districts: set[str] | None = None) -> list[YieldRow]:
    """Yield of the recorded decisions grouped by list ID, district or reason (English reason text).

    ``districts`` limits the decisions counted (None = all). A citizen with several reasons counts once
    for each reason. Rows are sorted by group; counts are not suppressed (call :func:`suppress_small_cells`).
    """
    latest = _latest_decisions(engine, districts)
    reasons = _reasons_by_entry(engine, {key[0] for key in latest}) if group_by == "reason" else {}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (list_id, person_key), row in latest.items():
        if group_by == "list":
            groups = [list_id]
        elif group_by == "district":
            groups = [row["district"]]
        else:
            groups = reasons.get((list_id, person_key), [])
        for group in groups:
            cell = counts[group]
            cell["decided"] += 1
            cell["visits_done"] += row["action"] == "visit_done"
            cell["new_problems"] += bool(row["action"] == "visit_done" and row["new_problem_found"])
            cell["referred_to_gp"] += bool(row["action"] == "visit_done" and row["referred_to_gp"])
            cell["not_relevant"] += row["action"] == "not_relevant"
    return [
        YieldRow(
            group=group,
            decided=cell["decided"],
            visits_done=cell["visits_done"],
            new_problems=cell["new_problems"],
            referred_to_gp=cell["referred_to_gp"],
            not_relevant=cell["not_relevant"],
        )
        for group, cell in sorted(counts.items())
    ]


def suppress_small_cells(rows: list[YieldRow], minimum: int = MIN_CELL) -> list[YieldRow]:
    """Blank every count of a group whose decided persons are fewer than ``minimum``, and any count below
    ``minimum`` (a small count could single out a person)."""
    suppressed = []
    for row in rows:
        if row.decided is None or row.decided < minimum:
            suppressed.append(
                replace(
                    row,
                    decided=None,
                    visits_done=None,
                    new_problems=None,
                    referred_to_gp=None,
                    not_relevant=None,
                )
            )
            continue
        suppressed.append(
            replace(
                row,
                visits_done=_cell(row.visits_done, minimum),
                new_problems=_cell(row.new_problems, minimum),
                referred_to_gp=_cell(row.referred_to_gp, minimum),
                not_relevant=_cell(row.not_relevant, minimum),
            )
        )
    return suppressed


def _cell(value: int | None, minimum: int) -> int | None:
    return shown_count(value, minimum)


def _latest_decisions(engine: sa.Engine, districts: set[str] | None) -> dict[tuple[str, str], dict]:
    query = sa.select(decisions).order_by(decisions.c.decided_at, decisions.c.decision_id)
    if districts is not None:
        query = query.where(decisions.c.district.in_(sorted(districts)))
    with engine.connect() as connection:
        return {
            (row["list_id"], row["person_key"]): dict(row) for row in connection.execute(query).mappings()
        }


def _reasons_by_entry(engine: sa.Engine, list_ids: set[str]) -> dict[tuple[str, str], list[str]]:
    if not list_ids:
        return {}
    entries = screening_list_entries.c
    query = sa.select(entries.list_id, entries.person_key, entries.reasons_en).where(
        entries.list_id.in_(sorted(list_ids))
    )
    with engine.connect() as connection:
        return {
            (row.list_id, row.person_key): sorted({label_of(item) for item in row.reasons_en or ()})
            for row in connection.execute(query)
        }
