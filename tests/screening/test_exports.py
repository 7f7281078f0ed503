"""Exports: CSV and printable HTML, identities only when given, atomic writes."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from screening.exports import (
    aggregates_csv,
    exclusions_for_export,
    list_csv,
    list_html,
    spreadsheet_safe,
    write_atomic,
)

HEADER = {
    "list_id": "20240304-d1-abc",
    "district": "d1",
    "as_of_date": dt.date(2024, 3, 4),
    "model_versions": {"admission": "2"},
    "feature_set_version": "fs",
    "run_id": "run-1",
    "capacity": 2,
}
ENTRIES = [
    {
        "rank": 1,
        "person_key": "pk1",
        "risk": 0.3456,
        "risk_change": 0.05,
        "new_on_list": False,
        "flags": ["age_80"],
        "reasons_da": ["3 akutte indlæggelser de seneste 12 måneder"],
        "reasons_en": ["3 acute admissions in the past 12 months"],
        "suggested_action_da": "Kontakt til egen læge",
        "suggested_action_en": "GP contact",
        "outcome": "admission",
    }
]


def test_csv_without_identities_has_no_cpr_or_name_columns():
    text = list_csv(HEADER, ENTRIES, None)
    assert text.splitlines()[0].split(",")[:5] == ["list_id", "district", "as_of_date", "rank", "person_key"]
    assert "34.6" in text
    assert "+5.0" in text


def test_csv_with_identities_shows_formatted_cpr_and_name():
    text = list_csv(HEADER, ENTRIES, {"pk1": ("0101401234", "Ida Jensen")})
    assert "010140-1234,Ida Jensen" in text


def test_html_is_printable_escaped_and_shows_both_languages():
    page = list_html(HEADER, ENTRIES, {"pk1": ("0101401234", "<Ida>")})
    assert "&lt;Ida&gt;" in page
    assert "3 acute admissions in the past 12 months" in page
    assert "Fylder 80 i år" in page
    assert "@media print" in page


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
    assert [spreadsheet_safe(value) for value in ("+5.0", "-0.0123", "12", None)] == [
        "+5.0",
        "-0.0123",
        "12",
        "",
    ]


def test_the_published_list_csv_defuses_formulas_in_names_and_reasons():
    entry = {**ENTRIES[0], "reasons_en": ["=cmd|'/C calc'!A0"]}
    text = list_csv(HEADER, [entry], {"pk1": ("0101401234", "@Ida")})
    assert ",'@Ida," in text
    assert "'=cmd|'/C calc'!A0" in text
    assert ",+5.0," in text


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
