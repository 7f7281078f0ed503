"""privacy layer: the minimum cell size and disclosure control for every aggregate that leaves the platform.

Imported by every layer (features, models, screening, review, pipelines); imports none of them
(docs/decisions.md D20). One rule, one home: a count of 1-4 persons is withheld, and so is every cell from
which a withheld one could be worked out by subtraction (complementary suppression).
"""

from privacy.cells import (
    COMPLEMENTARY_CELL_TEXT,
    MIN_CELL_PERSONS,
    SMALL_CELL_TEXT,
    SUPPRESSION_NOTE_EN,
    cell_text,
    is_small,
    is_withheld,
    shown_count,
)
from privacy.complementary import DisclosureError, Relation, Suppression, protect, recoverable
from privacy.tables import (
    attrition_relations,
    attrition_text,
    margin_relations,
    protect_attrition,
    suppress_attrition,
    withhold,
)

__all__ = [
    "COMPLEMENTARY_CELL_TEXT",
    "MIN_CELL_PERSONS",
    "SMALL_CELL_TEXT",
    "SUPPRESSION_NOTE_EN",
    "DisclosureError",
    "Relation",
    "Suppression",
    "attrition_relations",
    "attrition_text",
    "cell_text",
    "is_small",
    "is_withheld",
    "margin_relations",
    "protect",
    "protect_attrition",
    "recoverable",
    "shown_count",
    "suppress_attrition",
    "withhold",
]
