"""Files a run leaves on disk: aggregates and an index, nothing per person; the one list-CSV writer; atomic,
private writes."""

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from screening.exports import (
    aggregates_csv,
    exclusions_for_export,
    index_html,
    list_csv_text,
    spreadsheet_safe,
    write_atomic,
)


def test_the_index_shows_withheld_counts_and_list_ids_and_points_to_the_review_app():
    page = index_html(
        "2024-03-04",
        [
            {"district": "d2", "list_id": "20240304-d2-abc", "listed": "<5"},
            {"district": "<d1>", "list_id": "20240304-d1-def", "listed": "25"},
        ],
    )
    assert page.index("&lt;d1&gt;") < page.index("d2")  # sorted by district, escaped
    assert "<td>&lt;5</td>" in page
    assert "/lists/20240304-d2-abc" in page
    assert "tidlig review" in page
    assert "capacity_analytics.csv" in page


def test_write_atomic_replaces_whole_files_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "lists" / "d1.csv"
    write_atomic(target, "old\n")
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in target.parent.iterdir()] == ["d1.csv"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "d1.csv"
    write_atomic(target, "old\n")

    def broken_replace(self, other):
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new\n")
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["d1.csv"]


def exclusions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rule": [
                "scored",
                "nursing_home_resident",
                "preventive_visit_within_180d",
                "reviewed_within_180d",
            ],
            "applied": [True, True, True, True],
            "removed": [0, 3, 20, 9],
            "remaining": [100, 97, 77, 68],
        }
    )


def test_a_small_exclusion_count_cannot_be_recovered_from_the_remaining_counts():
    old = exclusions().assign(removed=[v if v == 0 or v >= 5 else None for v in exclusions()["removed"]])
    assert old.loc[0, "remaining"] - old.loc[1, "remaining"] == 3  # the old exclusions.csv gave it away
    shown = exclusions_for_export(exclusions())
    assert shown.loc[1, "removed"] is None
    assert shown.loc[0, "remaining"] is None or shown.loc[1, "remaining"] is None
    assert list(shown["rule"]) == list(exclusions()["rule"])


def test_the_eligible_count_shown_in_the_capacity_analytics_is_never_used_to_protect_a_cell():
    analytics = pd.DataFrame(
        {"dimension": ["overall"], "group": ["all"], "eligible": [68], "suppressed": [False]}
    )
    shown = exclusions_for_export(
        exclusions().assign(removed=[0, 20, 3, 9], remaining=[100, 80, 77, 68]), analytics
    )
    assert shown.loc[3, "remaining"] == 68
    assert shown.loc[2, "removed"] is None


def test_the_eligible_count_withheld_in_the_capacity_analytics_is_withheld_in_the_exclusions():
    analytics = pd.DataFrame(
        {"dimension": ["overall"], "group": ["all"], "eligible": [None], "suppressed": [True]}
    )
    shown = exclusions_for_export(exclusions(), analytics)
    assert shown.loc[3, "remaining"] is None
    assert sum(value is None for value in (shown.loc[3, "removed"], shown.loc[2, "remaining"])) >= 1


def test_exclusions_csv_writes_withheld_cells_as_empty_fields():
    text = aggregates_csv(exclusions_for_export(exclusions()))
    assert "scored,True,0,\nnursing_home_resident,True,,97\n" in text


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_defused():
    assert spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_safe("-2+3+cmd") == "'-2+3+cmd"
    assert spreadsheet_safe("Stigende hjemmepleje") == "Stigende hjemmepleje"


def test_plain_numbers_keep_their_sign():
    assert [spreadsheet_safe(value) for value in ("+5.0", "-0.0123", "12", "-5,0", None)] == [
        "+5.0",
        "-0.0123",
        "12",
        "-5,0",
        "",
    ]
    assert spreadsheet_safe("-5,0,=cmd") == "'-5,0,=cmd"


def test_the_list_csv_writer_defuses_formulas_in_every_cell_and_keeps_plain_numbers():
    text = list_csv_text(
        ["rank", "name", "reasons", "risk_change"], [[1, "@Ida", "=cmd|'/C calc'!A0", "+5.0"]]
    )
    assert text.splitlines() == ["rank,name,reasons,risk_change", "1,'@Ida,'=cmd|'/C calc'!A0,+5.0"]


def test_written_files_are_0600_in_0700_folders_whatever_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        write_atomic(tmp_path / "lists" / "2024-03-04" / "index.html", "<p>counts</p>\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "lists").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "lists" / "2024-03-04").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "lists" / "2024-03-04" / "index.html").stat().st_mode) == 0o600


def test_a_single_objection_is_never_visible_in_the_exported_exclusions():
    from screening.exports import exclusions_for_export

    attrition = pd.DataFrame(
        [
            ("objection_registered", True, 1, 480),
            ("scored", True, 0, 480),
            ("nursing_home_resident", True, 30, 450),
        ],
        columns=["rule", "applied", "removed", "remaining"],
    )
    exported = exclusions_for_export(attrition).set_index("rule")
    assert pd.isna(exported.loc["objection_registered", "removed"])
