"""Shared places, progress and next-citizen navigation on a list."""

from __future__ import annotations

from review.worklist import ReviewState, WorklistRow, neighbours, progress_of, with_ties


def row(rank: int, risk: float) -> WorklistRow:
    return WorklistRow(rank, f"pk-{rank}", risk, None, False, (), (), "", "admission")


def test_citizens_with_the_same_shown_risk_share_a_place():
    rows = with_ties([row(1, 0.6), row(2, 0.41), row(3, 0.4102), row(4, 0.40991), row(5, 0.3)])
    assert [(r.tie_first, r.tie_last) for r in rows] == [(1, 1), (2, 4), (2, 4), (2, 4), (5, 5)]
    assert [r.tied for r in rows] == [False, True, True, True, False]


def test_ties_are_found_whatever_order_the_rows_arrive_in():
    rows = with_ties([row(3, 0.2), row(1, 0.2), row(2, 0.2)])
    assert [(r.rank, r.tie_first, r.tie_last) for r in rows] == [(1, 1, 3), (2, 1, 3), (3, 1, 3)]


def test_progress_counts_done_and_started_over_the_whole_list():
    rows = [row(rank, 0.5) for rank in range(1, 26)]
    state = ReviewState(
        statuses={"pk-1": "visit_done", "pk-2": "not_relevant", "pk-3": "visit_booked", "pk-4": "contacted"}
    )
    progress = progress_of(rows, state)
    assert (progress.done, progress.started, progress.open, progress.total) == (2, 2, 21, 25)


def test_next_open_citizen_skips_handled_ones_and_wraps_round():
    rows = [row(rank, 0.5) for rank in range(1, 5)]
    state = ReviewState(statuses={"pk-3": "visit_done", "pk-4": "contacted", "pk-2": "new"})
    around = neighbours(rows, "pk-2", state)
    assert around is not None
    assert (around.previous.rank, around.next.rank, around.next_open.rank, around.position) == (1, 3, 1, 2)
    assert neighbours(rows, "pk-404", state) is None
    done = ReviewState(statuses={f"pk-{n}": "visit_done" for n in range(1, 5)})
    assert neighbours(rows, "pk-1", done).next_open is None
