"""The one definition of an unplanned admission (LPR3 fields; LPR2 history)."""

from __future__ import annotations

import io

import duckdb
import pandas as pd
import pytest

from features.admissions import is_unplanned_admission, sql_bed_days, sql_is_unplanned_admission


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


CONTACTS_CSV = """\
contact_id,contact_start,contact_end,contact_type,priority,lpr_version
exactly_12h,2023-01-01 08:00,2023-01-01 20:00,physical,acute,LPR3
just_under_12h,2023-01-01 08:00,2023-01-01 19:59,physical,acute,LPR3
overnight_er,2023-01-01 23:00,2023-01-02 01:00,physical,acute,LPR3
virtual,2023-01-01 08:00,2023-01-03 08:00,virtual,acute,LPR3
planned,2023-01-01 08:00,2023-01-03 08:00,physical,planned,LPR3
still_open,2023-01-01 08:00,,physical,acute,LPR3
missing_priority,2023-01-01 08:00,2023-01-03 08:00,physical,,LPR3
no_version,2023-01-01 08:00,2023-01-01 20:00,physical,acute,
lpr2_inpatient,2018-01-01 00:00,2018-01-03 00:00,physical,acute,LPR2
lpr2_same_day_er,2018-01-01 00:00,2018-01-01 00:00,physical,acute,LPR2
lpr2_planned,2018-01-01 00:00,2018-01-05 00:00,physical,planned,LPR2
lpr2_12h_same_day,2018-01-01 00:00,2018-01-01 12:00,physical,acute,LPR2
lpr2_open,2018-06-01 00:00,,physical,acute,LPR2
"""
EXPECTED = {
    "exactly_12h": True,
    "just_under_12h": False,
    "overnight_er": True,
    "virtual": False,
    "planned": False,
    "missing_priority": False,
    "no_version": True,
    "lpr2_inpatient": True,
    "lpr2_same_day_er": False,
    "lpr2_planned": False,
    "lpr2_12h_same_day": False,  # LPR2 has no times: only a night in hospital counts
}


def contacts_frame() -> pd.DataFrame:
    frame = pd.read_csv(io.StringIO(CONTACTS_CSV), dtype=str, keep_default_na=False, na_values=[""])
    frame["contact_start"] = pd.to_datetime(frame["contact_start"])
    frame["contact_end"] = pd.to_datetime(frame["contact_end"])
    return frame


def sql_classification(frame: pd.DataFrame, cut_at: str | None) -> pd.Series:
    connection = duckdb.connect()
    connection.register("contacts", frame)
    cut_sql = None if cut_at is None else f"TIMESTAMP '{cut_at}'"
    rows = connection.sql(
        f"SELECT contact_id, {sql_is_unplanned_admission(cut_at=cut_sql)} AS unplanned FROM contacts"
    ).df()
    return rows.set_index("contact_id")["unplanned"].astype(bool)


@pytest.mark.parametrize(
    "cut_at", [None, "2023-01-01 10:00:00", "2023-01-02 00:00:00", "2018-06-02 00:00:00"]
)
def test_the_sql_and_pandas_forms_agree_on_lpr2_and_lpr3_rows(cut_at):
    frame = contacts_frame()
    by_pandas = is_unplanned_admission(frame, None if cut_at is None else pd.Timestamp(cut_at))
    by_pandas.index = frame["contact_id"]
    assert by_pandas.to_dict() == sql_classification(frame, cut_at).to_dict()


def test_the_pandas_form_gives_the_documented_rule():
    frame = contacts_frame()
    result = dict(zip(frame["contact_id"], is_unplanned_admission(frame), strict=True))
    assert {key: result[key] for key in EXPECTED} == EXPECTED


def test_a_frame_without_lpr_version_is_judged_by_the_lpr3_rule():
    frame = contacts_frame().drop(columns="lpr_version")
    result = dict(zip(frame["contact_id"], is_unplanned_admission(frame), strict=True))
    assert result["lpr2_12h_same_day"] is True  # 12 h counts under LPR3
