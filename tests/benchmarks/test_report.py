"""docs/benchmarks.md is written one section at a time; earlier table rows of other inputs are kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.report import merged_rows, write_section

DOCUMENT = """# Benchmarks

## Review app

Hand-written note.
| page | ms |
|---|---|
| list | 1.0 |

## Model training

Old explanation.

| input | seconds |
|---|---|
| 60k world | 410.2 |

Old note under the table.
## Ingest

`python -m benchmarks.bench_ingest`   (trailing spaces kept)

| world | seconds |
|---|---|
| 60,000 x 6 y | 85.6 |
"""

TRAINING_HEADER = ["Explanation.", "", "| input | seconds |", "|---|---|"]


def write(tmp_path: Path, text: str = DOCUMENT) -> Path:
    path = tmp_path / "benchmarks.md"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_replacing_a_middle_section_keeps_the_sections_around_it_byte_identical(tmp_path: Path) -> None:
    path = write(tmp_path)
    write_section("## Model training", ["", "New explanation.", "", "| input | seconds |"], path)

    before = DOCUMENT[: DOCUMENT.index("## Model training\n")]
    after = DOCUMENT[DOCUMENT.index("## Ingest\n") :]
    assert path.read_text(encoding="utf-8") == (
        before + "## Model training\n\nNew explanation.\n\n| input | seconds |\n\n" + after
    )


def test_replacing_the_last_section_ends_the_file_with_one_newline(tmp_path: Path) -> None:
    path = write(tmp_path)
    write_section("## Ingest", ["", "Now.", ""], path)

    assert (
        path.read_text(encoding="utf-8") == DOCUMENT[: DOCUMENT.index("## Ingest\n")] + "## Ingest\n\nNow.\n"
    )


def test_a_missing_section_is_appended_after_one_blank_line(tmp_path: Path) -> None:
    path = write(tmp_path, DOCUMENT + "\n\n")
    write_section("## Screening lists", ["| step | s |"], path)

    assert path.read_text(encoding="utf-8") == DOCUMENT + "\n## Screening lists\n\n| step | s |\n"


def test_a_missing_file_is_created_with_the_title_and_the_section(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.md"
    write_section("## Ingest", ["Rows."], path)

    assert path.read_text(encoding="utf-8") == "# Benchmarks\n\n## Ingest\n\nRows.\n"


def test_a_heading_that_is_a_prefix_of_another_is_a_different_section(tmp_path: Path) -> None:
    path = write(tmp_path)
    write_section("## Model", ["Short heading."], path)

    assert path.read_text(encoding="utf-8") == DOCUMENT + "\n## Model\n\nShort heading.\n"
    assert merged_rows("## Model", ["| 60k world | 1.0 |"], path=path) == ["| 60k world | 1.0 |"]


def test_a_longer_heading_does_not_match_a_shorter_section(tmp_path: Path) -> None:
    path = write(tmp_path, "# Benchmarks\n\n## Model\n\nShort.\n")
    write_section("## Model training", ["Long."], path)

    assert path.read_text(encoding="utf-8") == (
        "# Benchmarks\n\n## Model\n\nShort.\n\n## Model training\n\nLong.\n"
    )


def test_windows_line_endings_of_other_sections_are_kept(tmp_path: Path) -> None:
    text = "# Benchmarks\r\n\r\n## Review app\r\n\r\nNote.\r\n\r\n## Ingest\r\n\r\nOld.\r\n"
    path = write(tmp_path, text)
    write_section("## Ingest", ["New."], path)

    assert path.read_bytes() == b"# Benchmarks\r\n\r\n## Review app\r\n\r\nNote.\r\n\r\n## Ingest\n\nNew.\n"


def test_a_rerun_on_the_same_input_replaces_its_row(tmp_path: Path) -> None:
    path = write(tmp_path)

    assert merged_rows("## Model training", ["| 60k world | 399.0 |"], path=path) == ["| 60k world | 399.0 |"]


def test_a_new_input_adds_a_row_after_the_rows_of_earlier_inputs(tmp_path: Path) -> None:
    path = write(tmp_path)

    rows = merged_rows("## Model training", ["| 300k world | 2100.0 |"], path=path)

    assert rows == ["| 60k world | 410.2 |", "| 300k world | 2100.0 |"]


def test_a_replaced_row_keeps_its_place_in_the_table(tmp_path: Path) -> None:
    path = write(tmp_path)
    write_section(
        "## Model training", [*TRAINING_HEADER, "| 60k | 1 |", "| 300k | 5 |", "| 1.2M | 20 |"], path
    )

    rows = merged_rows("## Model training", ["| 300k | 4 |", "| 2M | 30 |"], path=path)

    assert rows == ["| 60k | 1 |", "| 300k | 4 |", "| 1.2M | 20 |", "| 2M | 30 |"]


def test_rows_match_on_as_many_key_columns_as_asked(tmp_path: Path) -> None:
    path = write(tmp_path)
    write_section(
        "## Model training", [*TRAINING_HEADER, "| 60k | engine | 1 |", "| 60k | pandas | 9 |"], path
    )

    rows = merged_rows("## Model training", ["| 60k | pandas | 8 |"], key_columns=2, path=path)

    assert rows == ["| 60k | engine | 1 |", "| 60k | pandas | 8 |"]


def test_rows_written_back_survive_the_next_run(tmp_path: Path) -> None:
    path = write(tmp_path)
    for row in ["| 300k world | 2100.0 |", "| 60k world | 405.0 |"]:
        rows = merged_rows("## Model training", [row], path=path)
        write_section("## Model training", [*TRAINING_HEADER, *rows], path)

    assert merged_rows("## Model training", [], path=path) == [
        "| 60k world | 405.0 |",
        "| 300k world | 2100.0 |",
    ]


def test_without_the_file_or_the_section_only_the_new_rows_are_returned(tmp_path: Path) -> None:
    assert merged_rows("## Ingest", ["| 60,000 x 6 y | 1 |"], path=tmp_path / "absent.md") == [
        "| 60,000 x 6 y | 1 |"
    ]
    assert merged_rows("## Synthetic world", ["| 60,000 | 1 |"], path=write(tmp_path)) == ["| 60,000 | 1 |"]


def test_a_failed_write_leaves_the_file_as_it_was_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path)

    def fail(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_section("## Ingest", ["New."], path)

    assert path.read_bytes() == DOCUMENT.encode("utf-8")
    assert list(tmp_path.iterdir()) == [path]


def test_the_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = write(tmp_path)
    path.chmod(0o640)
    write_section("## Ingest", ["New."], path)

    assert path.stat().st_mode & 0o777 == 0o640


def test_only_the_first_table_of_a_section_is_merged(tmp_path: Path) -> None:
    """A section may go on with a table derived from the first (a cost model); its rows are not runs."""
    path = tmp_path / "benchmarks.md"
    path.write_text(
        "# Benchmarks\n\n## Steps\n\n| world | s |\n|---|---|\n| 2k | 14 |\n\nThe model:\n\n"
        "| step | a |\n|---|---|\n| features | 34 |\n",
        encoding="utf-8",
    )
    assert merged_rows("## Steps", ["| 60k | 90 |"], path=path) == ["| 2k | 14 |", "| 60k | 90 |"]
