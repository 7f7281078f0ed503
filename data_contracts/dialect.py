"""How a CSV delivery is written, told from the file and the contract, and normalised to the clean form.

Danish exports come from Excel in a Danish locale, legacy care systems and registry extracts: `;` or tab as
delimiter, decimal comma, Windows-1252 / ISO-8859-1 or UTF-8 with a byte-order mark, CRLF line ends, CPR
numbers written ``DDMMYY-SSSS`` and day-first dates (``DD-MM-YYYY``, ``DD.MM.YYYY``). Each is detected per
file with a library (``charset-normalizer`` for the encoding, ``csv.Sniffer`` for the delimiter, confirmed
against the contract's column names) and normalised to what a clean file holds, so a convention lands
exactly the rows of its clean twin. What was normalised is counted per kind (never values).

Never guessed silently: where a file can be read two ways (dates valid both day-first and month-first
across the whole file, a header that splits into the contract's columns under two delimiters, an encoding
no detector is sure of) the delivery is refused with a message saying what is ambiguous and how to pin it
in the contract (``meta.contract.dialect``: ``delimiter``, ``decimal``, ``encoding``, ``date_order``).
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

SAMPLE_BYTES = 1 << 16  # enough for the header and 50 lines; Arrow validates the rest
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# Encodings a Danish delivery is written in; charset-normalizer chooses among these only.
DANISH_ENCODINGS = ("utf_8", "cp1252", "latin_1")
DateOrder = Literal["DMY", "MDY"]

_ISO_DATE = r"^\d{4}-\d{2}-\d{2}"
_DAY_MONTH_DATE = r"^(\d{1,2})[-./](\d{1,2})[-./](\d{4})(?:[ T](\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?$"
_DECIMAL_COMMA = r"^[+-]?\d*,\d+$"
_CPR_WITH_DASH = r"^\d{6}-\d{4}$"


class AmbiguousDeliveryError(ValueError):
    """A file that can be read in more than one way; the contract must pin how (never guessed)."""


@dataclass(frozen=True)
class PinnedDialect:
    """What a contract may fix about its files (``meta.contract.dialect``); None = detect per file."""

    delimiter: str | None = None
    decimal: Literal[".", ","] | None = None
    encoding: str | None = None
    date_order: DateOrder | None = None

    @classmethod
    def from_meta(cls, meta: dict[str, object] | None) -> PinnedDialect:
        meta = dict(meta or {})
        unknown = set(meta) - {"delimiter", "decimal", "encoding", "date_order"}
        if unknown:
            raise ValueError(f"unknown dialect setting(s) {', '.join(sorted(unknown))}")
        delimiter = meta.get("delimiter")
        if delimiter in {"\\t", "tab"}:
            meta["delimiter"] = "\t"
        return cls(**meta)  # type: ignore[arg-type]


@dataclass
class Normalised:
    """What was normalised in one file: kind -> number of values (or 1 for a file-wide convention)."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, count: int = 1) -> None:
        if count:
            self.counts[kind] += count

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


@dataclass(frozen=True)
class FileDialect:
    """How one CSV file is written."""

    encoding: str  # a Python codec name; "utf8" for UTF-8 with or without BOM
    delimiter: str
    header: list[str]
    crlf: bool
    bom: bool


def _pin_hint(setting: str, example: str) -> str:
    return (
        f'Pin it in the contract (data_contracts/suites/<source>.json, meta.contract.dialect: {{"{setting}": '
        f"{example}}}) or ask the supplier for an unambiguous file."
    )


def detect_encoding(path: Path, sample: bytes, pinned: str | None) -> tuple[str, bool]:
    """(codec, has BOM): pinned, else UTF-8 when the sample decodes (Arrow then validates the rest; the
    reader falls back to the whole file when it does not), else charset-normalizer's best match among
    Danish encodings over the whole file."""
    bom = sample.startswith(codecs.BOM_UTF8)
    if pinned:
        return pinned, bom
    if bom:
        return "utf8", True
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < SAMPLE_BYTES)
        return "utf8", False
    except UnicodeDecodeError:
        pass
    return detect_encoding_whole(path), False


def detect_encoding_whole(path: Path) -> str:
    """charset-normalizer's choice among ``DANISH_ENCODINGS`` for the whole file."""
    from charset_normalizer import from_path

    best = from_path(path, cp_isolation=list(DANISH_ENCODINGS)).best()
    if best is None:
        raise AmbiguousDeliveryError(
            f"{path}: the character encoding cannot be told (not UTF-8, Windows-1252 or ISO-8859-1). "
            + _pin_hint("encoding", '"cp1252"')
        )
    return "utf8" if best.encoding == "utf_8" else best.encoding


def _split_header(line: str, delimiter: str) -> list[str]:
    return [name.strip().strip('"').strip() for name in next(csv.reader([line], delimiter=delimiter))]


def detect_delimiter(
    path: Path, text_sample: str, required: list[str], pinned: str | None
) -> tuple[str, list[str]]:
    """(delimiter, header names): pinned, else the one candidate delimiter that splits the header into the
    contract's required columns. Two such delimiters: AmbiguousDeliveryError. None: ``csv.Sniffer``'s
    choice on the first lines, so that the missing-columns message describes the file as it is written."""
    lines = text_sample.split("\n", 51)[:50]
    header_line = lines[0].rstrip("\r").lstrip("\ufeff") if lines else ""
    if pinned:
        return pinned, _split_header(header_line, pinned)
    fits = [d for d in DELIMITERS if set(required) <= set(_split_header(header_line, d))]
    if len(fits) == 1:
        return fits[0], _split_header(header_line, fits[0])
    if len(fits) > 1:
        names = " and ".join(DELIMITER_NAMES[d] for d in fits)
        raise AmbiguousDeliveryError(
            f"{path}: the delimiter cannot be told: the header splits into the contract's columns with "
            f"{names}. " + _pin_hint("delimiter", '";"')
        )
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed is None:
        # No delimiter gives the contract's columns: report the columns as the comma would read them,
        # saying that no delimiter was found, so the message points the right way.
        return ",", _split_header(header_line, ",")
    return sniffed, _split_header(header_line, sniffed)


def sniff_file(path: Path, required: list[str], pinned: PinnedDialect) -> FileDialect:
    """Encoding, delimiter, header, line ends and BOM of one CSV file (reads at most 64 KiB)."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    encoding, bom = detect_encoding(path, sample, pinned.encoding)
    text = sample.decode("utf-8" if encoding == "utf8" else encoding, errors="replace")
    first_line_end = sample.find(b"\n")
    crlf = first_line_end > 0 and sample[first_line_end - 1 : first_line_end] == b"\r"
    delimiter, header = detect_delimiter(path, text, required, pinned.delimiter)
    return FileDialect(encoding, delimiter, header, crlf, bom)


def describe_file_conventions(dialect: FileDialect, normalised: Normalised) -> None:
    """Count the file-wide conventions that differ from the clean form (UTF-8, comma, LF, no BOM)."""
    if dialect.encoding != "utf8":
        normalised.add(f"encoding {dialect.encoding} (read as such, stored as UTF-8)")
    if dialect.bom:
        normalised.add("UTF-8 byte-order mark")
    if dialect.delimiter != ",":
        normalised.add(f"{DELIMITER_NAMES.get(dialect.delimiter, repr(dialect.delimiter))} as delimiter")
    if dialect.crlf:
        normalised.add("CRLF line ends")


# ----- values -------------------------------------------------------------------------------------------
def _matches(values: pa.ChunkedArray, pattern: str) -> pa.ChunkedArray:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False)


def normalise_cpr(values: pa.ChunkedArray, normalised: Normalised) -> pa.ChunkedArray:
    """``DDMMYY-SSSS`` -> ``DDMMYYSSSS``."""
    if not pc.any(pc.fill_null(pc.match_substring(values, "-"), False)).as_py():
        return values
    dashed = _matches(values, _CPR_WITH_DASH)
    count = pc.sum(dashed).as_py() or 0
    if not count:
        return values
    normalised.add("CPR written DDMMYY-SSSS (dash removed)", count)
    return pc.if_else(dashed, pc.replace_substring(values, "-", ""), values)


def normalise_decimal(
    values: pa.ChunkedArray, decimal: str | None, normalised: Normalised
) -> pa.ChunkedArray:
    """``12,5`` -> ``12.5`` unless the contract pins ``.`` as the decimal mark."""
    if decimal == ".":
        return values
    if not pc.any(pc.fill_null(pc.match_substring(values, ","), False)).as_py():
        return values
    comma = _matches(values, _DECIMAL_COMMA)
    count = pc.sum(comma).as_py() or 0
    if not count:
        return values
    normalised.add("decimal comma", count)
    return pc.if_else(comma, pc.replace_substring(values, ",", "."), values)


@dataclass(frozen=True)
class DayMonthDates:
    """The non-ISO ``NN-NN-YYYY`` dates of one file, per column, before their order is decided."""

    column: str
    mask: pa.ChunkedArray
    first_max: int
    second_max: int


def find_day_month_dates(column: str, values: pa.ChunkedArray) -> DayMonthDates | None:
    if pc.all(pc.fill_null(_matches(values, _ISO_DATE), True)).as_py():
        return None
    mask = _matches(values, _DAY_MONTH_DATE)
    if not pc.any(mask).as_py():
        return None
    chosen = pc.filter(values, mask)
    parts = pc.extract_regex(chosen, r"^(?P<first>\d{1,2})[-./](?P<second>\d{1,2})")
    first = pc.cast(pc.struct_field(parts, "first"), pa.int32())
    second = pc.cast(pc.struct_field(parts, "second"), pa.int32())
    return DayMonthDates(column, mask, pc.max(first).as_py() or 0, pc.max(second).as_py() or 0)


def decide_date_order(path: Path, found: list[DayMonthDates], pinned: DateOrder | None) -> DateOrder:
    """Day-first or month-first for the whole file, from the values; refused when both read validly."""
    if pinned:
        return pinned
    first_max = max(d.first_max for d in found)
    second_max = max(d.second_max for d in found)
    columns = ", ".join(d.column for d in found)
    if first_max > 12 and second_max <= 12:
        return "DMY"
    if second_max > 12 and first_max <= 12:
        return "MDY"
    if first_max > 12 and second_max > 12:
        raise AmbiguousDeliveryError(
            f"{path}: the dates in {columns} are written day-first in some rows and month-first in others "
            "(both the first and the second number exceed 12 somewhere). Ask the supplier for one date "
            "format, preferably ISO (YYYY-MM-DD)."
        )
    raise AmbiguousDeliveryError(
        f"{path}: the dates in {columns} read validly both day-first (DD-MM-YYYY) and month-first "
        "(MM-DD-YYYY) across the whole file: no day in it is above 12. " + _pin_hint("date_order", '"DMY"')
    )


def to_iso_dates(values: pa.ChunkedArray, found: DayMonthDates, order: DateOrder) -> pa.ChunkedArray:
    """Rewrite the ``NN-NN-YYYY[ HH:MM[:SS]]`` values to ISO; others are left for the type check."""
    day, month = (r"\1", r"\2") if order == "DMY" else (r"\2", r"\1")
    padded = pc.replace_substring_regex(values, r"^(\d)([-./])", r"0\1\2")
    # RE2 rewrites take one digit per back-reference: \10 is group 1 followed by a zero.
    padded = pc.replace_substring_regex(padded, r"^(\d{2}[-./])(\d)([-./])", r"\10\2\3")
    padded = pc.replace_substring_regex(padded, r"([ T])(\d)([:.])", r"\10\2\3")
    iso = pc.replace_substring_regex(
        padded,
        r"^(\d{2})[-./](\d{2})[-./](\d{4})(?:[ T](\d{2})[:.](\d{2})(?:[:.](\d{2}))?)?$",
        rf"\3-{month}-{day}T\4:\5:\6",
    )
    # Strip the time part where there was none, and an empty seconds field.
    iso = pc.replace_substring_regex(iso, r"T::$", "")
    iso = pc.replace_substring_regex(iso, r":$", ":00")
    return pc.if_else(found.mask, iso, values)


def first_bad_line(path: Path, encoding: str, delimiter: str, expected_fields: int) -> int | None:
    """The 1-based line number of the first line whose field count differs from the header's."""
    codec = "utf-8-sig" if encoding == "utf8" else encoding
    with path.open("r", encoding=codec, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        for fields in reader:
            if len(fields) != expected_fields and fields:
                return reader.line_num
    return None
