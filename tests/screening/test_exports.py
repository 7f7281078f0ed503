"""Exports: CSV and printable HTML, identities only when given, atomic writes."""

import datetime as dt
from pathlib import Path

import pytest

from screening.exports import list_csv, list_html, write_atomic

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
