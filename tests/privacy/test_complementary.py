"""Complementary suppression: no withheld cell can be worked out from shown cells and totals."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy import DisclosureError, Relation, protect, recoverable


def shown_values(values: dict, withheld) -> dict:
    return {key: value for key, value in values.items() if key not in withheld}


def test_a_small_cell_beside_a_shown_total_is_recoverable_by_subtraction_without_protection():
    values = {"total": 40, "a": 3, "b": 17, "c": 20}
    relation = Relation("total", ("a", "b", "c"))
    assert recoverable([relation], {"a"}) == {"a"}
    shown = shown_values(values, {"a"})
    assert shown["total"] - shown["b"] - shown["c"] == 3


def test_the_smallest_other_cell_of_the_sum_is_withheld_as_well():
    values = {"total": 40, "a": 3, "b": 17, "c": 20}
    suppression = protect(values, [Relation("total", ("a", "b", "c"))])
    assert suppression.primary == {"a"}
    assert suppression.complementary == {"b"}
    assert recoverable([Relation("total", ("a", "b", "c"))], suppression.withheld) == frozenset()


def test_a_zero_is_not_chosen_while_a_non_zero_cell_can_protect():
    values = {"total": 23, "a": 3, "zero": 0, "b": 20}
    suppression = protect(values, [Relation("total", ("a", "zero", "b"))])
    assert suppression.complementary == {"b"}


def test_a_complementary_cell_that_sits_in_another_sum_is_protected_there_too():
    # two dimensions over one total: sex (a, b) and district (c, d)
    values = {"total": 50, "female": 2, "male": 48, "d1": 30, "d2": 20}
    relations = [Relation("total", ("female", "male")), Relation("total", ("d1", "d2"))]
    suppression = protect(values, relations)
    # female alone -> male (48) or total (50): male is smaller; total stays shown
    assert suppression.withheld == {"female", "male"}
    assert recoverable(relations, suppression.withheld) == frozenset()


def test_two_withheld_cells_that_share_two_sums_are_still_solved_and_get_a_third():
    # a 2x2 table with row and column totals and the grand total: withholding only the two cells of one
    # row leaves them pinned by the column sums; protection must add cells in the other row.
    values = {
        "r1c1": 3,
        "r1c2": 4,
        "r2c1": 10,
        "r2c2": 12,
        "r1": 7,
        "r2": 22,
        "c1": 13,
        "c2": 16,
        "all": 29,
    }
    relations = [
        Relation("r1", ("r1c1", "r1c2")),
        Relation("r2", ("r2c1", "r2c2")),
        Relation("c1", ("r1c1", "r2c1")),
        Relation("c2", ("r1c2", "r2c2")),
        Relation("all", ("r1", "r2")),
        Relation("all", ("c1", "c2")),
    ]
    assert recoverable(relations, {"r1c1", "r1c2", "r1"}) >= {"r1c1", "r1c2"}
    suppression = protect(values, relations)
    assert {"r1c1", "r1c2"} <= suppression.primary
    assert recoverable(relations, suppression.withheld) == frozenset()


def test_a_cell_known_from_elsewhere_is_never_chosen_as_complement():
    values = {"total": 40, "a": 3, "b": 17, "c": 20}
    suppression = protect(values, [Relation("total", ("a", "b", "c"))], known={"b"})
    assert suppression.complementary == {"c"}


def test_a_small_cell_that_is_shown_elsewhere_cannot_be_protected():
    with pytest.raises(DisclosureError, match="shown elsewhere"):
        protect({"total": 10, "a": 3, "b": 7}, [Relation("total", ("a", "b"))], known={"a"})


def test_a_sum_whose_only_other_cell_is_known_elsewhere_cannot_be_protected():
    with pytest.raises(DisclosureError, match="shown elsewhere"):
        protect({"total": 10, "a": 3, "b": 7}, [Relation("total", ("a", "b"))], known={"total", "b"})


def test_a_relation_naming_an_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="no value"):
        protect({"total": 10, "a": 3}, [Relation("total", ("a", "b"))])


@st.composite
def two_way_tables(draw):
    """A rows x columns table of counts with row, column and grand totals, as cells and relations."""
    n_rows = draw(st.integers(1, 4))
    n_columns = draw(st.integers(1, 4))
    counts = draw(
        st.lists(
            st.lists(st.integers(0, 30), min_size=n_columns, max_size=n_columns),
            min_size=n_rows,
            max_size=n_rows,
        )
    )
    values: dict = {}
    relations = []
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            values[("cell", i, j)] = count
        values[("row", i)] = sum(row)
        relations.append(Relation(("row", i), tuple(("cell", i, j) for j in range(n_columns))))
    for j in range(n_columns):
        values[("column", j)] = sum(row[j] for row in counts)
        relations.append(Relation(("column", j), tuple(("cell", i, j) for i in range(n_rows))))
    values["all"] = sum(map(sum, counts))
    relations.append(Relation("all", tuple(("row", i) for i in range(n_rows))))
    relations.append(Relation("all", tuple(("column", j) for j in range(n_columns))))
    return values, relations


@st.composite
def attrition_chains(draw):
    """remaining[i-1] = removed[i] + remaining[i] along a chain of rules."""
    start = draw(st.integers(0, 60))
    removed = draw(st.lists(st.integers(0, 12), min_size=1, max_size=6))
    values: dict = {("remaining", 0): start}
    relations = []
    remaining = start
    for i, wanted in enumerate(removed, start=1):
        count = min(wanted, remaining)
        remaining -= count
        values[("removed", i)] = count
        values[("remaining", i)] = remaining
        relations.append(Relation(("remaining", i - 1), (("removed", i), ("remaining", i))))
    return values, relations


@settings(max_examples=150, deadline=None)
@given(st.one_of(two_way_tables(), attrition_chains()))
def test_no_withheld_cell_is_the_only_withheld_cell_of_any_relation(table):
    values, relations = table
    suppression = protect(values, relations)
    for relation in relations:
        assert sum(cell in suppression for cell in relation.cells) != 1


@settings(max_examples=150, deadline=None)
@given(st.one_of(two_way_tables(), attrition_chains()))
def test_no_withheld_cell_is_determined_by_the_shown_cells(table):
    values, relations = table
    suppression = protect(values, relations)
    assert recoverable(relations, suppression.withheld) == frozenset()


@settings(max_examples=150, deadline=None)
@given(st.one_of(two_way_tables(), attrition_chains()))
def test_every_small_cell_is_withheld_and_every_other_withheld_cell_is_complementary(table):
    values, relations = table
    suppression = protect(values, relations)
    assert suppression.primary == {key for key, value in values.items() if 0 < value < 5}
    assert not suppression.primary & suppression.complementary


def determined_by_rank(relations, withheld) -> set:
    """Reference: a withheld cell is determined when adding its unit vector does not raise the rank."""
    import numpy as np

    hidden = sorted(withheld, key=repr)
    column = {cell: index for index, cell in enumerate(hidden)}
    rows = []
    for relation in relations:
        row = np.zeros(len(hidden))
        for cell, sign in ((relation.total, 1.0), *((part, -1.0) for part in relation.parts)):
            if cell in column:
                row[column[cell]] += sign
        rows.append(row)
    matrix = np.vstack(rows) if rows else np.zeros((0, len(hidden)))
    rank = np.linalg.matrix_rank(matrix) if len(matrix) else 0
    determined = set()
    for cell, index in column.items():
        unit = np.zeros(len(hidden))
        unit[index] = 1.0
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            determined.add(cell)
    return determined


@settings(max_examples=150, deadline=None)
@given(st.one_of(two_way_tables(), attrition_chains()), st.randoms(use_true_random=False))
def test_the_exact_elimination_agrees_with_the_rank_test(table, random):
    values, relations = table
    withheld = {cell for cell in values if random.random() < 0.4}
    assert recoverable(relations, withheld) == determined_by_rank(relations, withheld)
