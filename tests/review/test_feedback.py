"""Visit yield per list, district and reason, and small-cell suppression."""

from __future__ import annotations

import datetime as dt

from review.access import Principal
from review.casework import Decision, record_decision
from review.feedback import YieldRow, compute_yield, suppress_small_cells
from tests.review.world import DISTRICT_A, LIST_A, LIST_B, person_key

NURSE = Principal(1, "nurse_a", "nurse", frozenset({DISTRICT_A, "101-02"}))
AT = dt.datetime(2024, 1, 20, tzinfo=dt.UTC)


def decide(world, list_id: str, key: str, district: str, decision: Decision, *, at: dt.datetime = AT) -> None:
    from review.accounts import find_account

    nurse = find_account(world.engine, username="nurse_a")
    principal = Principal(nurse.user_id, "nurse_a", "nurse", NURSE.districts)
    record_decision(
        world.engine,
        list_id=list_id,
        person_key=key,
        district=district,
        principal=principal,
        decision=decision,
        decided_at=at,
    )


def test_yield_per_list_counts_visits_and_new_problems(world):
    for n in range(4):
        decide(
            world,
            LIST_A,
            person_key(DISTRICT_A, n),
            DISTRICT_A,
            Decision("visit_done", new_problem_found=n < 3, referred_to_gp=n == 0),
        )
    decide(
        world,
        LIST_A,
        person_key(DISTRICT_A, 4),
        DISTRICT_A,
        Decision("not_relevant", not_relevant_reason="declined"),
    )
    decide(world, LIST_B, person_key("101-02", 1), "101-02", Decision("contacted"))
    rows = {row.group: row for row in compute_yield(world.engine, "list")}
    assert rows[LIST_A] == YieldRow(
        LIST_A, decided=5, visits_done=4, new_problems=3, referred_to_gp=1, not_relevant=1
    )
    assert rows[LIST_A].yield_rate == 0.75
    assert rows[LIST_B].visits_done == 0
    assert rows[LIST_B].yield_rate is None


def test_only_the_latest_decision_per_citizen_counts(world):
    key = person_key(DISTRICT_A, 0)
    decide(world, LIST_A, key, DISTRICT_A, Decision("visit_booked"))
    decide(
        world,
        LIST_A,
        key,
        DISTRICT_A,
        Decision("visit_done", new_problem_found=False),
        at=AT + dt.timedelta(days=3),
    )
    (row,) = compute_yield(world.engine, "district")
    assert (row.group, row.decided, row.visits_done, row.new_problems) == (DISTRICT_A, 1, 1, 0)


def test_yield_per_reason_counts_a_citizen_once_per_reason(world):
    decide(
        world, LIST_A, person_key(DISTRICT_A, 0), DISTRICT_A, Decision("visit_done", new_problem_found=True)
    )
    rows = {row.group: row for row in compute_yield(world.engine, "reason")}
    assert rows["Rising home care"].new_problems == 1
    assert rows["Acute admissions last year: 2"].new_problems == 1


def test_yield_can_be_limited_to_districts(world):
    decide(world, LIST_B, person_key("101-02", 1), "101-02", Decision("contacted"))
    assert compute_yield(world.engine, "district", {DISTRICT_A}) == []


def test_groups_with_fewer_than_five_persons_are_suppressed_entirely():
    (row,) = suppress_small_cells([YieldRow("g", 4, 4, 2, 1, 0)])
    assert row.decided is None
    assert row.new_problems is None
    assert row.yield_rate is None


def test_small_counts_inside_a_large_group_are_suppressed_but_zero_is_kept():
    (row,) = suppress_small_cells([YieldRow("g", 20, 10, 3, 0, 6)])
    assert (row.decided, row.visits_done, row.new_problems, row.referred_to_gp, row.not_relevant) == (
        20,
        10,
        None,
        0,
        6,
    )
