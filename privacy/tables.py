"""Protected forms of the two table shapes that recur on the platform: attrition chains and margins.

Both return the relations (:class:`privacy.complementary.Relation`) that a reader can subtract along, so a
caller can protect one table, or several tables that share cells, with :func:`privacy.protect`.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Mapping, Sequence

import pandas as pd

from privacy.cells import MIN_CELL_PERSONS, cell_text
from privacy.complementary import Relation, Suppression, protect


def margin_relations(total: Hashable, groups: Mapping[str, Sequence[Hashable]]) -> list[Relation[Hashable]]:
    """One relation per dimension: the groups of the dimension sum to ``total`` (an overall cell).

    Use it for tables whose rows are (dimension, group) and whose groups of each dimension partition the
    same population (sex, age band, district, ...). A dimension with a single group gives ``group = total``.
    """
    return [Relation(total, tuple(cells)) for cells in groups.values() if cells]


def attrition_relations(
    frame: pd.DataFrame, *, group: str | None = None, removed: str = "removed", remaining: str = "remaining"
) -> list[Relation[tuple[int, str]]]:
    """``remaining[i-1] = removed[i] + remaining[i]`` for consecutive rows (within each ``group``).

    Cells are ``(row label, column)``; rows are taken in frame order.
    """
    relations: list[Relation[tuple[int, str]]] = []
    chains = [frame.index] if group is None else [rows.index for _, rows in frame.groupby(group, sort=False)]
    for labels in chains:
        for previous, current in itertools.pairwise(labels):
            relations.append(Relation((previous, remaining), ((current, removed), (current, remaining))))
    return relations


def attrition_cells(
    frame: pd.DataFrame, *, removed: str = "removed", remaining: str = "remaining"
) -> dict[tuple[int, str], float]:
    """Every count of an attrition table keyed ``(row label, column)``."""
    cells: dict[tuple[int, str], float] = {}
    for label, removed_count, remaining_count in zip(
        frame.index, frame[removed], frame[remaining], strict=True
    ):
        cells[(label, removed)] = float(removed_count)
        cells[(label, remaining)] = float(remaining_count)
    return cells


def protect_attrition(
    frame: pd.DataFrame,
    *,
    group: str | None = None,
    removed: str = "removed",
    remaining: str = "remaining",
    also_withheld: Iterable[tuple[int, str]] = (),
    known: Iterable[tuple[int, str]] = (),
    minimum: int = MIN_CELL_PERSONS,
) -> Suppression[tuple[int, str]]:
    """Which counts of an attrition table to withhold (small ones and those that would reveal them)."""
    cells = attrition_cells(frame, removed=removed, remaining=remaining)
    small = {key for key, value in cells.items() if 0 < value < minimum}
    return protect(
        cells,
        attrition_relations(frame, group=group, removed=removed, remaining=remaining),
        primary=small | set(also_withheld),
        known=known,
        minimum=minimum,
    )


def withhold(frame: pd.DataFrame, suppression: Suppression[tuple[int, str]]) -> pd.DataFrame:
    """A copy of ``frame`` with each withheld ``(row label, column)`` cell set to None (object column)."""
    shown = frame.copy()
    columns = {column for _, column in suppression.withheld}
    for column in columns:
        values = shown[column].astype("object")
        for label, withheld_column in suppression.withheld:
            if withheld_column == column:
                values[label] = None
        shown[column] = values
    return shown


def suppress_attrition(
    frame: pd.DataFrame,
    *,
    group: str | None = None,
    removed: str = "removed",
    remaining: str = "remaining",
    minimum: int = MIN_CELL_PERSONS,
) -> pd.DataFrame:
    """An attrition table ready to leave the platform: withheld counts are None, the rest ints.

    ``group`` names the column that separates independent chains (``prediction_date``); rows must be in
    rule order within each chain.
    """
    suppression = protect_attrition(frame, group=group, removed=removed, remaining=remaining, minimum=minimum)
    return withhold(frame, suppression)


def attrition_text(
    frame: pd.DataFrame,
    *,
    group: str | None = None,
    removed: str = "removed",
    remaining: str = "remaining",
    minimum: int = MIN_CELL_PERSONS,
) -> pd.DataFrame:
    """The same table with counts as text (``<5`` small, ``*`` complementary), for artifacts and logs."""
    suppression = protect_attrition(frame, group=group, removed=removed, remaining=remaining, minimum=minimum)
    shown = frame.copy()
    for column in (removed, remaining):
        shown[column] = [
            cell_text(
                None if (label, column) in suppression else int(value),
                complementary=(label, column) in suppression.complementary,
            )
            for label, value in frame[column].items()
        ]
    return shown
