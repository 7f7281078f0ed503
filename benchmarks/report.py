"""docs/benchmarks.md, written one section at a time: each benchmark owns the section under its heading.

A section starts at a line that is exactly its heading (``## Model training``) and runs to the next line
starting with ``## `` or to the end of the file. Writing one section leaves every other byte of the file as
it was, so hand-written sections and notes of other benchmarks survive a run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
NEW_DOCUMENT = "# Benchmarks\n"


def write_section(heading: str, lines: Sequence[str], path: Path = DOC) -> None:
    """Replace the section under ``heading`` with ``lines``, or append it at the end of the file.

    The section is written as the heading, one blank line, ``lines`` without their leading and trailing
    blank lines, and one blank line before the next section (none at the end of the file). A missing file
    is created with a ``# Benchmarks`` title. The file is replaced atomically: a failed write leaves the
    old file as it was.
    """
    text = _read(path) if path.exists() else NEW_DOCUMENT
    body = list(lines)
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    section = "\n".join([heading, "", *body]) + "\n"
    document = text.splitlines(keepends=True)
    span = _section_span(document, heading)
    if span is None:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        start, end = span
        following = "".join(document[end:])
        text = "".join(document[:start]) + section + ("\n" + following if following else "")
    _replace_atomically(path, text)


def merged_rows(heading: str, new_rows: Sequence[str], key_columns: int = 1, path: Path = DOC) -> list[str]:
    """The table rows of the section under ``heading`` with ``new_rows`` merged in.

    A row is a line starting with ``| `` that is neither a ``|---`` separator nor the header line just
    above one. An existing row whose first ``key_columns`` cells equal those of a new row is replaced by
    it in place; new rows with no match are appended in the order given. So a run on one input (the 300k
    world) keeps the rows of other inputs (the 60k world), and a rerun on the same input replaces its row.
    Without the file or the section the result is ``new_rows``. Only the section's first table is read: a
    section may go on with a table derived from it (bench_cluster's cost model), whose rows are not rows of
    this one.
    """
    document = _read(path).splitlines() if path.exists() else []
    span = _section_span(document, heading)
    existing = _table_rows(document[span[0] + 1 : span[1]]) if span else []
    new_by_key = {_key(row, key_columns): row for row in new_rows}
    merged = [new_by_key.pop(_key(row, key_columns), row) for row in existing]
    return merged + list(new_by_key.values())


def _read(path: Path) -> str:
    # newline="" keeps the line endings as they are, so untouched sections stay byte-identical.
    with path.open(encoding="utf-8", newline="") as file:
        return file.read()


def _section_span(document: Sequence[str], heading: str) -> tuple[int, int] | None:
    """(first, past-last) line index of the section under ``heading``, or None if the file has none."""
    for start, line in enumerate(document):
        if line.rstrip("\r\n") == heading:
            end = next(
                (index for index in range(start + 1, len(document)) if document[index].startswith("## ")),
                len(document),
            )
            return start, end
    return None


def _table_rows(section: Sequence[str]) -> list[str]:
    """The body rows of the first table in ``section`` (it ends at the first line that is not a row)."""
    rows: list[str] = []
    started = False
    for index, line in enumerate(section):
        if not line.startswith("|"):
            if started:
                break
            continue
        started = True
        following = section[index + 1] if index + 1 < len(section) else ""
        if line.startswith("| ") and not _is_separator(line) and not _is_separator(following):
            rows.append(line.rstrip("\r\n"))
    return rows


def _is_separator(line: str) -> bool:
    return line.startswith("|") and set(line.strip()) <= set("|-: ") and "-" in line


def _key(row: str, key_columns: int) -> tuple[str, ...]:
    cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
    return tuple(cells[:key_columns])


def _replace_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path``, then rename it over ``path``."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        temporary.chmod(mode)
        os.replace(temporary, path)  # noqa: PTH105 (the one atomic step; a rename within one folder)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
