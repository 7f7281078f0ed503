"""The minimum cell size and the one output convention for a withheld count.

A count of 1 to ``MIN_CELL_PERSONS - 1`` persons is *small*: it could single out a citizen, so it never
leaves the platform. Zero is shown (it identifies nobody). A withheld cell is ``None`` (``NaN``/``NA`` in a
frame) in data and is written as :data:`SMALL_CELL_TEXT` (``<5``) in text when it is small itself, or as
:data:`COMPLEMENTARY_CELL_TEXT` (``*``) when it is withheld only so that a small cell cannot be worked out
by subtraction (see :mod:`privacy.complementary`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

MIN_CELL_PERSONS: Final = 5
SMALL_CELL_TEXT: Final = f"<{MIN_CELL_PERSONS}"
COMPLEMENTARY_CELL_TEXT: Final = "*"
SUPPRESSION_NOTE_EN: Final = (
    f"{SMALL_CELL_TEXT}: fewer than {MIN_CELL_PERSONS} persons; {COMPLEMENTARY_CELL_TEXT}: withheld so that "
    f"a cell under {MIN_CELL_PERSONS} cannot be worked out from the totals."
)


def is_small(count: float | None, minimum: int = MIN_CELL_PERSONS) -> bool:
    """True for a count of 1 to ``minimum - 1`` (a missing count is not small: there is nothing to show)."""
    if count is None or (isinstance(count, float) and math.isnan(count)):
        return False
    return 0 < count < minimum


def shown_count(count: int | None, minimum: int = MIN_CELL_PERSONS) -> int | None:
    """``count``, or None when it is small (the data form of a withheld cell)."""
    return None if count is None or is_small(count, minimum) else count


def is_withheld(value: object) -> bool:
    """True for the data form of a withheld cell: None, NaN or pandas' NA."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def cell_text(value: object, *, complementary: bool = False, number: Callable[[object], str] = str) -> str:
    """The text form of one cell: ``<5`` or ``*`` when withheld, else ``number(value)``."""
    if is_withheld(value):
        return COMPLEMENTARY_CELL_TEXT if complementary else SMALL_CELL_TEXT
    return number(value)
