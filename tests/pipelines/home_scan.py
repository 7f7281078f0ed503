"""What a security officer checks in a data home after a run: which files hold a citizen's CPR number or
name from the key store, and which files or folders others than the service account may open."""

from __future__ import annotations

import re
import sqlite3
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CPR_TOKEN = re.compile(r"(?<![0-9])([0-9]{6})-?([0-9]{4})(?![0-9])")
WORD = re.compile(r"\w+")


def key_store_identities(keystore: Path) -> tuple[set[str], set[str]]:
    """Every CPR number (10 digits) and every name in the key store."""
    connection = sqlite3.connect(f"file:{keystore}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT cpr, name FROM keystore").fetchall()
    finally:
        connection.close()
    return {str(cpr) for cpr, _ in rows}, {str(name) for _, name in rows if name}


def _text_of(path: Path) -> str:
    """The file's text; a Parquet file's string cells (its pages are compressed, so bytes would hide them)."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        cells = [
            "\n".join(str(value) for value in column.to_pylist() if value is not None)
            for column in table.columns
            if pa.types.is_string(column.type)
            or pa.types.is_large_string(column.type)
            or pa.types.is_dictionary(column.type)
        ]
        return "\n".join(cells)
    return path.read_bytes().decode("utf-8", errors="replace")


def identified_files(home: Path, keystore: Path, skip: list[Path]) -> dict[str, str]:
    """``relative path -> what it holds`` for every file under ``home`` (except those under ``skip``) that
    contains a CPR number or a full name of the key store at ``keystore``."""
    cprs, names = key_store_identities(keystore)
    by_last_word: dict[str, list[str]] = {}
    for name in names:
        by_last_word.setdefault(WORD.findall(name)[-1], []).append(name)
    skipped = [path.resolve() for path in skip]
    found: dict[str, str] = {}
    for path in sorted(home.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        if any(path.resolve().is_relative_to(root) for root in skipped):
            continue
        text = _text_of(path)
        if any(a + b in cprs for a, b in CPR_TOKEN.findall(text)):
            found[str(path.relative_to(home))] = "a CPR number"
            continue
        for word in WORD.finditer(text):
            if any(text.endswith(name, 0, word.end()) for name in by_last_word.get(word.group(), ())):
                found[str(path.relative_to(home))] = "a name"
                break
    return found


def open_to_others(home: Path) -> dict[str, str]:
    """``relative path -> mode`` of every file or folder in ``home`` (itself included) that the group or
    others may read, write or enter."""
    found: dict[str, str] = {}
    for path in [home, *sorted(home.rglob("*"))]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
            found[str(path.relative_to(home)) or "."] = oct(stat.S_IMODE(mode))
    return found
