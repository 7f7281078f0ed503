"""The analyst page's counts: small ones withheld, and none recoverable from the sums shown beside them."""

import datetime as dt

from review.casework import STATUSES
from review.feedback import YieldRow
from review.web_admin import aggregate_cells
from review.worklist import ListHeader


def header(list_id: str, district: str, entries: int) -> ListHeader:
    return ListHeader(list_id, district, "101", dt.date(2024, 1, 1), 20, "current", entries)


def statuses(**counts: int) -> dict[str, int]:
    return {status: counts.get(status, 0) for status in STATUSES}


def test_a_small_status_count_cannot_be_worked_out_from_the_list_size_and_the_other_statuses():
    lists = [header("L1", "d1", 30)]
    counts = {"L1": statuses(new=15, contacted=3, visit_booked=5, visit_done=7)}
    cells = aggregate_cells(lists, counts, [])
    assert cells[("status", "L1", "contacted")] == "<5"
    shown = [cells[("size", "L1")], *(cells[("status", "L1", s)] for s in STATUSES)]
    assert shown.count("*") >= 1
    # the old page showed every other cell, and 30 - 15 - 5 - 7 - 0 = 3


def test_the_smallest_other_status_is_withheld():
    cells = aggregate_cells(
        [header("L1", "d1", 30)], {"L1": statuses(new=15, contacted=3, visit_booked=5, visit_done=7)}, []
    )
    assert cells[("status", "L1", "visit_booked")] == "*"
    assert cells[("size", "L1")] == "30"
    assert cells[("status", "L1", "new")] == "15"


def test_a_district_yield_row_is_protected_with_the_list_statuses_it_sums():
    lists = [header("L1", "d1", 30), header("L2", "d1", 20)]
    counts = {
        "L1": statuses(new=10, contacted=8, visit_done=12),
        "L2": statuses(new=10, contacted=7, visit_done=3),
    }
    by_district = [YieldRow("d1", 30, 15, 6, 2, 0)]
    cells = aggregate_cells(lists, counts, by_district)
    assert cells[("district", "d1", "decided")] == "30"
    assert cells[("status", "L2", "visit_done")] == "<5"
    # visits_done of the district (15) minus L1's 12 would give L2's 3
    assert "*" in (cells[("district", "d1", "visits_done")], cells[("status", "L1", "visit_done")])


def test_a_page_without_small_counts_shows_every_count():
    cells = aggregate_cells([header("L1", "d1", 30)], {"L1": statuses(new=30)}, [])
    assert set(cells.values()) == {"30", "0"}
