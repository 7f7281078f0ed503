"""The small-cell rule as monitoring applies it: the one place this package asks how small is too small.

Every aggregate that monitoring stores or shows (drift of a district, realised metrics of a subgroup, visit
yield) passes through :func:`min_cell` and :func:`disclosable_count` here, so switching the platform's rule
(today ``screening.analytics.MIN_CELL``; later the privacy layer) is a change in this file only.
"""

from __future__ import annotations


def min_cell() -> int:
    """The fewest persons a published cell may be built from (and the smallest non-zero count shown)."""
    from screening.analytics import MIN_CELL

    return MIN_CELL


def cell_is_disclosable(persons: int) -> bool:
    """Whether an aggregate built from ``persons`` persons may leave the platform."""
    return persons >= min_cell()


def disclosable_count(count: int | None) -> int | None:
    """``count`` when it may be shown (0, or at least :func:`min_cell`), else None (suppressed)."""
    if count is None:
        return None
    return count if count == 0 or count >= min_cell() else None
