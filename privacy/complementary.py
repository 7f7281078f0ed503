"""Complementary (secondary) suppression: no withheld cell can be worked out from what is shown.

A table that leaves the platform often shows totals beside its cells: an overall row, groups that sum to
it, or an attrition chain where ``removed[i] = remaining[i-1] - remaining[i]``. Withholding a small cell is
then not enough, because the reader subtracts. Each such sum is a :class:`Relation` (``total = sum of
parts``). :func:`protect` withholds the small cells (primary suppression) and then, while some relation
holds exactly one withheld cell, one more cell of such a relation (complementary suppression): the cell
that closes the most of these relations at once (an overall cell shared by several sums), then the one
that drags the fewest other sums in, then the smallest, preferring non-zero cells and never a cell the
reader knows from elsewhere (``known``). When every relation holds none or at least two withheld cells it
checks the whole system of relations by exact linear algebra: no withheld cell may be the unique solution of
the equations (a combination of relations can pin a cell even when each relation holds two). It does not
protect against interval estimates (a reader still knows a ``<5`` cell lies in 1-4); that is the accepted
standard for counts.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

from privacy.cells import MIN_CELL_PERSONS, is_small

K = TypeVar("K", bound=Hashable)


class DisclosureError(ValueError):
    """A table cannot be protected as asked (for example: a small cell that the reader knows anyway)."""


@dataclass(frozen=True)
class Relation(Generic[K]):
    """``total = sum(parts)`` over the cells named: knowing all but one gives the last by subtraction."""

    total: K
    parts: tuple[K, ...]

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("A relation needs at least one part besides its total.")
        if self.total in self.parts or len(set(self.parts)) != len(self.parts):
            raise ValueError("A relation names each cell once: its total is not one of its parts.")

    @property
    def cells(self) -> tuple[K, ...]:
        """The total and the parts."""
        return (self.total, *self.parts)


@dataclass(frozen=True)
class Suppression(Generic[K]):
    """Which cells are withheld: ``primary`` (small themselves) and ``complementary`` (to protect them)."""

    primary: frozenset[K]
    complementary: frozenset[K]

    @property
    def withheld(self) -> frozenset[K]:
        """Every withheld cell."""
        return self.primary | self.complementary

    def __contains__(self, key: object) -> bool:
        return key in self.primary or key in self.complementary


def protect(
    values: Mapping[K, float],
    relations: Iterable[Relation[K]],
    *,
    primary: Iterable[K] | None = None,
    known: Iterable[K] = (),
    minimum: int = MIN_CELL_PERSONS,
) -> Suppression[K]:
    """Withhold the small cells of ``values`` and enough others that none of them can be derived.

    ``values`` maps every cell (of every relation) to its count. ``primary`` overrides which cells are
    withheld in the first place (default: every small count; pass it when a rule looks at more than one
    number, or to add cells withheld elsewhere). ``known`` cells are shown elsewhere (a total printed in
    a heading, a cell of another table): they are never chosen as complementary cells. Deterministic:
    ties between equally small candidates go to the cell that comes first in ``values``.
    """
    relations = list(relations)
    order = {key: index for index, key in enumerate(values)}
    for relation in relations:
        missing = [cell for cell in relation.cells if cell not in order]
        if missing:
            raise ValueError(f"A relation names {len(missing)} cell(s) that have no value; pass every cell.")
    first = (
        {key for key, value in values.items() if is_small(value, minimum)}
        if primary is None
        else set(primary)
    )
    fixed = set(known)
    if first & fixed:
        raise DisclosureError(
            f"{len(first & fixed)} cell(s) must be withheld but are shown elsewhere; withhold them there too."
        )
    withheld = set(first)
    containing: dict[K, list[Relation[K]]] = {}
    for relation in relations:
        for cell in relation.cells:
            containing.setdefault(cell, []).append(relation)

    while True:
        _close_single_gaps(relations, containing, withheld, fixed, values, order)
        exposed = recoverable(relations, withheld)
        if not exposed:
            break
        cell = min(exposed, key=order.__getitem__)
        neighbours = [
            other
            for relation in containing.get(cell, [])
            for other in relation.cells
            if other not in withheld and other not in fixed
        ]
        chosen = min(neighbours, key=lambda c: (values[c] == 0, values[c], order[c]), default=None)
        if chosen is None:
            raise DisclosureError(
                "A withheld cell can be derived from cells that are shown elsewhere; withhold more there."
            )
        withheld.add(chosen)
    return Suppression(primary=frozenset(first), complementary=frozenset(withheld - first))


def _close_single_gaps(  # noqa: PLR0917 (private, called once)
    relations: Sequence[Relation[K]],
    containing: Mapping[K, Sequence[Relation[K]]],
    withheld: set[K],
    fixed: set[K],
    values: Mapping[K, float],
    order: Mapping[K, int],
) -> None:
    """Until no relation holds exactly one withheld cell: withhold the candidate that closes the most such
    relations at once, then the one that opens the fewest new ones (relations it is the first withheld
    cell of), then the smallest (non-zero first)."""
    while True:
        open_relations = [
            relation for relation in relations if sum(cell in withheld for cell in relation.cells) == 1
        ]
        if not open_relations:
            return
        closes: dict[K, int] = {}
        for relation in open_relations:
            for cell in relation.cells:
                if cell not in withheld and cell not in fixed:
                    closes[cell] = closes.get(cell, 0) + 1
        stuck = [
            relation for relation in open_relations if not any(cell in closes for cell in relation.cells)
        ]
        if stuck:
            raise DisclosureError(
                "A withheld cell is the only withheld cell of a sum whose other cells are shown "
                "elsewhere; withhold one of them there too."
            )

        def opens(cell: K) -> int:
            return sum(
                not any(other in withheld for other in relation.cells) for relation in containing[cell]
            )

        chosen = min(
            closes,
            key=lambda cell: (-closes[cell], opens(cell), values[cell] == 0, values[cell], order[cell]),
        )
        withheld.add(chosen)


def recoverable(relations: Iterable[Relation[K]], withheld: Iterable[K]) -> frozenset[K]:
    """The withheld cells that the shown cells and the relations determine exactly.

    Each relation is one linear equation; the shown cells move to the right-hand side. A withheld cell is
    determined when its unit vector lies in the row space of the equations restricted to the withheld
    cells: in the reduced row echelon form, its column is a pivot whose row has no other entry. The
    elimination is exact (fractions, sparse rows), so no tolerance decides what a reader can compute.
    """
    hidden = set(withheld)
    if not hidden:
        return frozenset()
    rows: list[dict[K, Fraction]] = []
    for relation in relations:
        row: dict[K, Fraction] = {}
        for cell, sign in ((relation.total, 1), *((part, -1) for part in relation.parts)):
            if cell in hidden:
                row[cell] = row.get(cell, Fraction(0)) + sign
        row = {cell: value for cell, value in row.items() if value}
        if row:
            rows.append(row)
    pivots: dict[K, dict[K, Fraction]] = {}
    for row in rows:
        for cell, pivot_row in pivots.items():  # reduce the new row by the pivots found so far
            factor = row.get(cell)
            if factor:
                _subtract(row, pivot_row, factor)
        if not row:
            continue
        cell = min(row, key=repr)
        scale = row[cell]
        reduced = {key: value / scale for key, value in row.items()}
        for other in pivots.values():  # keep earlier pivot rows reduced (RREF)
            factor = other.get(cell)
            if factor:
                _subtract(other, reduced, factor)
        pivots[cell] = reduced
    return frozenset(cell for cell, row in pivots.items() if len(row) == 1)


def _subtract(row: dict[K, Fraction], other: Mapping[K, Fraction], factor: Fraction) -> None:
    """``row -= factor * other`` in place, dropping zeros."""
    for key, value in other.items():
        updated = row.get(key, Fraction(0)) - factor * value
        if updated:
            row[key] = updated
        else:
            row.pop(key, None)
