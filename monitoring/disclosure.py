"""The small-cell rule as monitoring applies it, from the platform's one home for it (``privacy``).

Every aggregate that monitoring stores or shows (drift of a district, realised metrics of a subgroup, visit
yield) passes through these functions, which only name ``privacy``'s rule in monitoring's terms.
Monitoring's stored cells are each built from their own group of persons and published without a total
beside them, so primary suppression is what applies here; a page that shows a total next to them must
protect that table with ``privacy.protect``.
"""

from __future__ import annotations

from privacy import MIN_CELL_PERSONS, shown_count


def min_cell() -> int:
    """The fewest persons a published cell may be built from (and the smallest non-zero count shown)."""
    return MIN_CELL_PERSONS


def cell_is_disclosable(persons: int) -> bool:
    """Whether an aggregate built from ``persons`` persons may leave the platform."""
    return persons >= MIN_CELL_PERSONS


def disclosable_count(count: int | None) -> int | None:
    """``count`` when it may be shown (0, or at least the minimum), else None (suppressed)."""
    if count is None:
        return None
    return shown_count(count)
