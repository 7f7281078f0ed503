"""The one definition of an unplanned admission (LPR3 fields; LPR2 history)."""

from __future__ import annotations

import duckdb
import pytest

from features.admissions import sql_bed_days, sql_is_unplanned_admission


def classify(  # noqa: PLR0917 (the contact fields, in reading order)
    start: str,
    end: str | None,
    contact_type: str,
    priority: str,
    version: str = "LPR3",
    cut: str | None = None,
) -> bool:
    end_sql = "NULL::TIMESTAMP" if end is None else f"TIMESTAMP '{end}'"
    cut_sql = None if cut is None else f"TIMESTAMP '{cut}'"
    expression = sql_is_unplanned_admission(
        start=f"TIMESTAMP '{start}'",
        end=end_sql,
        contact_type=f"'{contact_type}'",
        priority=f"'{priority}'",
        lpr_version=f"'{version}'",
        cut_at=cut_sql,
    )
    return duckdb.sql(f"SELECT {expression}").fetchall()[0][0]


@pytest.mark.parametrize(
    ("start", "end", "contact_type", "priority", "version", "expected"),
    [
        ("2023-01-01 08:00", "2023-01-01 20:00", "physical", "acute", "LPR3", True),  # 12 hours
        ("2023-01-01 08:00", "2023-01-01 19:59", "physical", "acute", "LPR3", False),
        ("2023-01-01 23:00", "2023-01-02 01:00", "physical", "acute", "LPR3", True),  # crosses midnight
        ("2023-01-01 08:00", "2023-01-03 08:00", "virtual", "acute", "LPR3", False),
        ("2023-01-01 08:00", "2023-01-03 08:00", "physical", "planned", "LPR3", False),
        ("2018-01-01 00:00", "2018-01-03 00:00", "physical", "acute", "LPR2", True),
        ("2018-01-01 00:00", "2018-01-01 00:00", "physical", "acute", "LPR2", False),  # same-day ER visit
    ],
)
def test_unplanned_admission_rule(start, end, contact_type, priority, version, expected):  # noqa: PLR0917 (parametrized)
    assert classify(start, end, contact_type, priority, version) is expected


def test_a_contact_still_open_at_t_is_judged_only_on_what_happened_before_t():
    assert classify("2023-01-01 08:00", None, "physical", "acute", cut="2023-01-01 10:00") is False
    ongoing = classify("2023-01-01 08:00", "2023-01-05 10:00", "physical", "acute", cut="2023-01-01 10:00")
    assert ongoing is False


def test_bed_days_count_midnights_and_stop_at_t():
    start, end = "TIMESTAMP '2023-01-01 10:00'", "TIMESTAMP '2023-01-04 09:00'"
    whole = sql_bed_days(start=start, end=end)
    cut = sql_bed_days(start=start, end=end, cut_at="TIMESTAMP '2023-01-02'")
    assert duckdb.sql(f"SELECT {whole}, {cut}").fetchall()[0] == (3, 1)
