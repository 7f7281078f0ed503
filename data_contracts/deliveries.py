"""Finding and reading deliveries: extract files in the landing folder and increments of care-record tables.

A *delivery* is the unit that is validated and then landed or quarantined as a whole: one extract file, or
the rows of one care table registered in one calendar month after the previous watermark.
Reading never retries: an unreadable file raises ``UnreadableDeliveryError`` with a reason a person can act on
(it is quarantined, not retried); only ``OSError`` is treated as transient by the flow.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from data_contracts.contract import Contract
from data_contracts.dialect import (
    AmbiguousDeliveryError,
    DayMonthDates,
    FileDialect,
    Normalised,
    decide_date_order,
    describe_file_conventions,
    detect_encoding_whole,
    find_day_month_dates,
    first_bad_line,
    normalise_cpr,
    normalise_decimal,
    sniff_file,
    to_iso_dates,
)

_HASH_CHUNK = 1 << 22
# The control totals a supplier ships beside each extract file (registry extracts come with one):
# ``{"source", "extract_date", "sequence", "previous_extract", "files": [{"name", "rows", "sha256"}]}``.
CONTROL_FILE = "control.json"


class UnreadableDeliveryError(ValueError):
    """A delivery that cannot be parsed at all (encoding, truncation, missing columns, no rows)."""


@dataclass(frozen=True)
class ControlTotals:
    """What the supplier declares about one file of a delivery: rows, checksum, place in the sequence."""

    rows: int | None
    sha256: str | None
    sequence: int | None
    previous_extract: str | None


@dataclass(frozen=True)
class ReadResult:
    """The contract's columns of one delivery and what reading it changed (counts and names, no values)."""

    frame: pd.DataFrame
    normalised: dict[str, int] = field(default_factory=dict)
    dropped_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delivery:
    """One delivery of one source, identified by its content hash (the ledger key)."""

    source: str
    label: str  # extract date "YYYY-MM-DD" for files, "registered-YYYY-MM" for care increments
    delivered_at: pd.Timestamp  # extract date, or the latest registered_at of a care increment
    content_sha256: str
    path: Path | None = None  # the file, for registry extracts
    table: str | None = None  # the care table, for care increments
    control: ControlTotals | None = None  # the supplier's control totals, where shipped
    dropped_columns: tuple[str, ...] = ()  # care tables: columns outside the contract (known at discovery)
    attempt: int = 0  # 1 when this is the one retry of a delivery held because of an upstream source

    @property
    def where(self) -> str:
        """What a person should look at: the file path or the care table and month."""
        return str(self.path) if self.path is not None else f"care table {self.table} ({self.label})"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def discover_file_deliveries(landing_dir: Path, contract: Contract, seen: set[str]) -> list[Delivery]:
    """New extract files of ``contract.source`` (content hash not in ``seen``), oldest extract first.

    Layout: ``landing_dir/<source>/<YYYY-MM-DD>/<source>.<csv|parquet>``. Folders whose name is not a date
    are ignored.
    """
    source_dir = landing_dir / contract.source
    if not source_dir.is_dir():
        return []
    found: list[Delivery] = []
    for folder in sorted(source_dir.iterdir()):
        if not folder.is_dir():
            continue
        try:
            extract_date = pd.Timestamp(folder.name)
        except ValueError:
            continue
        path = folder / f"{contract.source}.{contract.format}"
        if not path.is_file():
            continue
        digest = file_sha256(path)
        if digest in seen:
            continue
        control = read_control_totals(folder, path.name)
        found.append(Delivery(contract.source, folder.name, extract_date, digest, path=path, control=control))
    return found


def read_control_totals(folder: Path, file_name: str) -> ControlTotals | None:
    """The control totals of ``file_name`` from ``folder/control.json``; None where none is shipped.

    A control file that cannot be read is itself a finding: it yields totals that match nothing
    (``rows=-1``), so the delivery is refused with a message naming the control file.
    """
    path = folder / CONTROL_FILE
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        entries = {entry["name"]: entry for entry in document.get("files", [])}
        entry = entries.get(file_name, {})
        return ControlTotals(
            rows=int(entry["rows"]) if "rows" in entry else None,
            sha256=str(entry["sha256"]) if "sha256" in entry else None,
            sequence=int(document["sequence"]) if document.get("sequence") is not None else None,
            previous_extract=document.get("previous_extract"),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return ControlTotals(rows=-1, sha256=None, sequence=None, previous_extract=None)


def _check_columns(
    frame_columns: list[str], contract: Contract, where: str, dialect: FileDialect | None = None
) -> None:
    missing = [column for column in contract.required_columns if column not in frame_columns]
    if missing:
        how = ""
        if dialect is not None:
            how = (
                f" (read as {dialect.encoding}, the header splits into {len(frame_columns)} column(s) with "
                f"delimiter {dialect.delimiter!r}; no delimiter of , ; or tab gives the contract's columns)"
                if len(frame_columns) <= 1
                else f" (read as {dialect.encoding}, delimiter {dialect.delimiter!r})"
            )
        raise UnreadableDeliveryError(
            f"{where} lacks required column(s) {', '.join(missing)} of contract {contract.source} "
            f"v{contract.version}{how}. Ask the supplier for a complete extract."
        )


def dropped_columns(header: list[str], contract: Contract) -> tuple[str, ...]:
    """Delivered columns outside the contract, in delivery order (dropped before anything is stored)."""
    kept = set(contract.source_columns)
    return tuple(name for name in header if name and name not in kept)


def read_file_delivery(delivery: Delivery, contract: Contract) -> pd.DataFrame:
    """The contract's columns of one extract file, normalised to the clean form (see
    ``read_file_delivery_with_notes``)."""
    return read_file_delivery_with_notes(delivery, contract).frame


def read_file_delivery_with_notes(delivery: Delivery, contract: Contract) -> ReadResult:
    """The contract's columns of one extract file (CSV: all strings, normalised to UTF-8, ISO dates, dot
    decimals and dash-free CPR numbers; Parquet: its types), what was normalised, and the dropped columns.

    Optional contract columns that are absent come back empty. The supplier's control totals (row count,
    SHA-256), where shipped, must match. Raises UnreadableDeliveryError.
    """
    assert delivery.path is not None
    path = delivery.path
    if path.stat().st_size == 0:
        raise UnreadableDeliveryError(f"{path} is empty (0 bytes). Ask the supplier to deliver it again.")
    if contract.format == "csv":
        _check_complete(path)  # a cut inside a row is named as such, before the control totals
    _check_checksum(delivery)
    normalised = Normalised()
    try:
        if contract.format == "csv":
            table, header = _read_csv(path, contract, normalised)
        else:
            schema_names = pq.read_schema(path).names
            _check_columns(schema_names, contract, str(path))
            header = schema_names
            table = pq.read_table(path, columns=[c for c in contract.source_columns if c in schema_names])
    except UnreadableDeliveryError:
        raise
    except (pa.ArrowInvalid, pa.ArrowException) as error:
        raise UnreadableDeliveryError(
            f"{path} cannot be parsed as {contract.format.upper()} ({_arrow_reason(error)}); it may be "
            "truncated or corrupt. Ask the supplier to deliver it again."
        ) from None
    _check_row_count(delivery, table.num_rows)
    frame = table.to_pandas()
    if frame.empty:
        raise UnreadableDeliveryError(
            f"{path} has a header but no data rows. Check the extract with the supplier."
        )
    return ReadResult(
        _in_contract_columns(frame, contract), normalised.as_dict(), dropped_columns(header, contract)
    )


def _in_contract_columns(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """``frame``'s contract columns in the contract's order; optional ones it lacks come back empty."""
    for column in contract.source_columns:
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype="object")
    return frame[contract.source_columns]


def _sniffed_dialect(path: Path, contract: Contract) -> FileDialect:
    """The file's dialect (``sniff_file``), with a header that holds the contract's columns; raises
    UnreadableDeliveryError saying what is ambiguous, missing or wrong."""
    try:
        dialect = sniff_file(path, contract.required_columns, contract.dialect)
    except AmbiguousDeliveryError as error:
        raise UnreadableDeliveryError(str(error)) from None
    except LookupError as error:
        raise UnreadableDeliveryError(f"{path}: {error}. Check the contract's dialect.encoding.") from None
    if not dialect.header or not any(dialect.header):
        raise UnreadableDeliveryError(f"{path} has no header line. Ask the supplier to deliver it again.")
    _check_columns(dialect.header, contract, str(path), dialect)
    return dialect


def _read_csv(path: Path, contract: Contract, normalised: Normalised) -> tuple[pa.Table, list[str]]:
    dialect = _sniffed_dialect(path, contract)
    try:
        table = _parse_csv(path, dialect, contract)
    except (UnicodeDecodeError, pa.ArrowInvalid) as error:
        text_problem = isinstance(error, UnicodeDecodeError) or "utf8" in str(error).lower()
        if not text_problem or contract.dialect.encoding or dialect.encoding != "utf8":
            _raise_if_broken_row_or_encoding(path, dialect, error)
            raise
        dialect = _with_whole_file_encoding(path, dialect)
        table = _parse_csv(path, dialect, contract)
    describe_file_conventions(dialect, normalised)
    return _normalise_values(path, table, contract, normalised), dialect.header


def _with_whole_file_encoding(path: Path, dialect: FileDialect) -> FileDialect:
    """The dialect with the encoding told from the whole file, for a file whose sample read as UTF-8 but
    whose later bytes are not; raises UnreadableDeliveryError when it is ambiguous or really broken UTF-8."""
    try:
        encoding = detect_encoding_whole(path)
    except AmbiguousDeliveryError as ambiguous:
        raise UnreadableDeliveryError(str(ambiguous)) from None
    if encoding == "utf8":
        raise UnreadableDeliveryError(
            f"{path} is not valid UTF-8 (invalid bytes after the first 64 KiB). Ask for a UTF-8 extract."
        ) from None
    return FileDialect(encoding, dialect.delimiter, dialect.header, dialect.crlf, dialect.bom)


def _parse_csv(path: Path, dialect: FileDialect, contract: Contract) -> pa.Table:
    wanted = [column for column in contract.source_columns if column in dialect.header]
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=dialect.encoding),
        parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(dialect.header, pa.string()),
            include_columns=wanted,
            strings_can_be_null=True,
            null_values=[""],
        ),
    )


def _normalise_values(path: Path, table: pa.Table, contract: Contract, normalised: Normalised) -> pa.Table:
    """Dash-free CPR numbers, dot decimals and ISO dates, per the contract's column types; the date order
    is decided over the whole file."""
    table = _normalise_numbers(table, contract, normalised)
    dates = _day_month_dates(table, contract)
    if not dates:
        return table
    try:
        order = decide_date_order(path, dates, contract.dialect.date_order)
    except AmbiguousDeliveryError as error:
        raise UnreadableDeliveryError(str(error)) from None
    return _to_iso_dates(table, dates, order, normalised)


def _normalise_numbers(table: pa.Table, contract: Contract, normalised: Normalised) -> pa.Table:
    """Dash-free CPR numbers and dot decimals, per the contract's column types."""
    for spec in contract.columns:
        if spec.source not in table.column_names or spec.type not in ("cpr", "float", "int"):
            continue
        index = table.schema.get_field_index(spec.source)
        values = table.column(index)
        if spec.type == "cpr":
            changed = normalise_cpr(values, normalised)
        else:
            changed = normalise_decimal(values, contract.dialect.decimal, normalised)
        if changed is not values:
            table = table.set_column(index, spec.source, changed)
    return table


def _day_month_dates(table: pa.Table, contract: Contract) -> list[DayMonthDates]:
    """The contract's date columns in ``table`` that hold day/month dates (``find_day_month_dates``)."""
    dates = []
    for spec in contract.columns:
        if spec.type in ("date", "datetime") and spec.source in table.column_names:
            found = find_day_month_dates(spec.source, table.column(spec.source))
            if found is not None:
                dates.append(found)
    return dates


def _to_iso_dates(
    table: pa.Table, dates: list[DayMonthDates], order: str, normalised: Normalised
) -> pa.Table:
    """The ``dates`` columns rewritten as ISO dates under ``order``, counted in ``normalised``."""
    kind = "day-first dates (DD-MM-YYYY)" if order == "DMY" else "month-first dates (MM-DD-YYYY)"
    for found in dates:
        index = table.schema.get_field_index(found.column)
        table = table.set_column(index, found.column, to_iso_dates(table.column(index), found, order))
        normalised.add(kind, pc.sum(found.mask).as_py() or 0)
    return table


def _check_checksum(delivery: Delivery) -> None:
    control = delivery.control
    assert delivery.path is not None
    if control is None:
        return
    if control.rows == -1:
        raise UnreadableDeliveryError(
            f"{delivery.path.parent / CONTROL_FILE} (the delivery's control totals) cannot be read. Ask "
            "the supplier to deliver the extract and its control file again."
        )
    if control.sha256 is not None and control.sha256 != delivery.content_sha256:
        lines = _count_lines(delivery.path)
        declared = f"; the control file declares {control.rows} rows" if control.rows is not None else ""
        raise UnreadableDeliveryError(
            f"{delivery.path} does not match its control totals: its SHA-256 differs from the one in "
            f"{CONTROL_FILE}{declared}, the file has {max(lines - 1, 0)} data rows and ends at line "
            f"{lines}. It was changed or truncated after the supplier wrote it (incomplete transfer?). "
            "Ask the supplier to deliver it again."
        )


def _check_row_count(delivery: Delivery, rows: int) -> None:
    control = delivery.control
    if control is None or control.rows is None or control.rows == rows:
        return
    assert delivery.path is not None
    raise UnreadableDeliveryError(
        f"{delivery.path} has {rows} data rows but its control totals ({CONTROL_FILE}) declare "
        f"{control.rows}: the delivery is incomplete (last data row read: line {rows + 1}). Ask the "
        "supplier to deliver it again."
    )


def _count_lines(path: Path) -> int:
    """Lines in a file (a last line without a line break counts)."""
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _check_complete(path: Path) -> None:
    """A CSV extract ends with a line break; one that does not was cut off while being written or copied."""
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        if handle.read(1) != b"\n":
            raise UnreadableDeliveryError(
                f"{path} does not end with a line break: it is truncated (cut off inside its last row, "
                f"line {_count_lines(path)}). Ask the supplier to deliver it again."
            )


def _arrow_reason(error: Exception) -> str:
    """Arrow's message without any quoted row content (it sometimes echoes the offending line)."""
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "UTF8" in message or "utf8" in message.lower():
        return "invalid UTF-8 bytes"
    if "Expected" in message and "columns" in message:
        counts = re.search(r"Expected \d+ columns, got \d+", message)  # never the echoed row
        return counts.group(0) if counts else "wrong number of fields"
    for marker in ("Parquet magic bytes", "file size", "footer", "Empty CSV"):
        if marker.lower() in message.lower():
            return message[:160]
    return type(error).__name__


def read_care_increments(
    care_db_url: str,
    contract: Contract,
    watermark: pd.Timestamp | None,
    seen: set[str],
    only: set[str] | None = None,
) -> list[tuple[Delivery, pd.DataFrame]]:
    """Rows of a care table registered after ``watermark``, one delivery per calendar month of registration.

    Each increment is identified by the SHA-256 of its rows, so an increment seen before (``seen``) is
    skipped; with ``only``, just the increments with those hashes are returned (a held increment's retry).
    A missing table yields no deliveries (the municipality may not record that kind of data).
    """
    import sqlalchemy as sa

    engine = sa.create_engine(care_db_url)
    try:
        metadata = sa.MetaData()
        try:
            table = sa.Table(contract.source, metadata, autoload_with=engine)
        except sa.exc.NoSuchTableError:
            return []
        missing = [column for column in contract.required_columns if column not in table.c]
        if missing:
            raise UnreadableDeliveryError(
                f"care table {contract.source} lacks required column(s) {', '.join(missing)} of contract "
                f"{contract.source} v{contract.version}. Check the care-record export."
            )
        extra = dropped_columns([str(column.name) for column in table.c], contract)
        selected = [table.c[column] for column in contract.source_columns if column in table.c]
        query = sa.select(*selected).order_by(table.c.registered_at, table.c.id)
        if watermark is not None:
            query = query.where(table.c.registered_at > watermark.to_pydatetime())
        with engine.connect() as connection:
            frame = pd.read_sql(query, connection)
    finally:
        engine.dispose()
    for column in contract.source_columns:
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype="object")
    if frame.empty:
        return []
    frame = frame[contract.source_columns]
    registered = pd.to_datetime(frame["registered_at"], format="ISO8601", errors="coerce")
    month = registered.dt.strftime("%Y-%m").fillna("unknown").to_numpy()
    # One vectorised hash per row, then one SHA-256 per month over its rows' hashes.
    row_hashes = pd.util.hash_pandas_object(frame.astype("str"), index=False).to_numpy()
    order = np.argsort(month, kind="stable")
    labels, starts = np.unique(month[order], return_index=True)
    stops = [*starts[1:], len(order)]
    increments: list[tuple[Delivery, pd.DataFrame]] = []
    for label, start, stop in zip(labels, starts, stops, strict=True):
        positions = order[start:stop]
        digest = hashlib.sha256(row_hashes[positions].tobytes())
        digest.update(contract.source.encode())
        content_sha256 = digest.hexdigest()
        if content_sha256 in seen or (only is not None and content_sha256 not in only):
            continue
        delivery = Delivery(
            contract.source,
            f"registered-{label}",
            registered.iloc[positions].max(),
            content_sha256,
            table=contract.source,
            dropped_columns=extra,
        )
        increments.append((delivery, frame.iloc[positions].reset_index(drop=True)))
    return increments


# ----- one file in chunks -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileChunking:
    """When and how an extract file is read in chunks instead of whole (``docs/decisions.md`` D141).

    A CSV file of more than ``above_bytes`` bytes is streamed ``rows`` rows at a time; each chunk is
    converted, pseudonymised and validated on its own and the file still lands as one batch. Smaller
    files (and Parquet files) are read whole, as before.
    """

    rows: int = 500_000
    above_bytes: int = 256 << 20
    block_bytes: int = 16 << 20  # Arrow's read block: bounds the parser's own buffers

    def __post_init__(self) -> None:
        if self.rows < 1 or self.above_bytes < 0 or self.block_bytes < 1:
            raise ValueError("FileChunking needs rows >= 1, above_bytes >= 0 and block_bytes >= 1")

    def applies_to(self, delivery: Delivery, contract: Contract) -> bool:
        return (
            contract.format == "csv"
            and delivery.path is not None
            and delivery.path.stat().st_size > self.above_bytes
        )


@dataclass
class ChunkedRead:
    """A CSV delivery opened for reading in chunks: its whole-file facts are known before any chunk.

    ``rows`` (checked against the control totals), the dialect and the date order are decided over the
    whole file by a first streamed pass; ``chunks()`` then yields ``(first row offset, frame)`` in file
    order. ``normalised`` is complete once every chunk has been read.
    """

    path: Path
    contract: Contract
    dialect: FileDialect
    date_order: str | None
    rows: int
    chunking: FileChunking
    dropped_columns: tuple[str, ...]
    _normalised: Normalised = field(default_factory=Normalised)

    @property
    def normalised(self) -> dict[str, int]:
        return self._normalised.as_dict()

    def chunks(self) -> Iterator[tuple[int, pd.DataFrame]]:
        wanted = [column for column in self.contract.source_columns if column in self.dialect.header]
        offset = 0
        batches = _stream_csv(self.path, self.dialect, wanted, self.chunking)
        for table in _row_chunks(batches, self.chunking):
            frame = _normalise_chunk(table, self.contract, self.date_order, self._normalised).to_pandas()
            yield offset, _in_contract_columns(frame, self.contract)
            offset += len(frame)


def open_file_delivery_in_chunks(
    delivery: Delivery, contract: Contract, chunking: FileChunking
) -> ChunkedRead:
    """Open a CSV delivery for reading in chunks, after the checks ``read_file_delivery_with_notes``
    makes on the whole file: complete last line, checksum, dialect and columns, every line parseable in
    the detected encoding, the date order over all rows, and the row count against the control totals.

    The first pass keeps only the date columns' maxima and a row count in memory. Raises
    UnreadableDeliveryError.
    """
    assert delivery.path is not None
    path = delivery.path
    if path.stat().st_size == 0:
        raise UnreadableDeliveryError(f"{path} is empty (0 bytes). Ask the supplier to deliver it again.")
    _check_complete(path)
    _check_checksum(delivery)
    dialect = _sniffed_dialect(path, contract)
    try:
        rows, dates = _first_pass(path, dialect, contract, chunking)
    except (UnicodeDecodeError, pa.ArrowInvalid) as error:
        text_problem = isinstance(error, UnicodeDecodeError) or "utf8" in str(error).lower()
        if not text_problem or contract.dialect.encoding or dialect.encoding != "utf8":
            _raise_unparseable(path, dialect, error)
        dialect = _with_whole_file_encoding(path, dialect)
        try:
            rows, dates = _first_pass(path, dialect, contract, chunking)
        except (UnicodeDecodeError, pa.ArrowInvalid) as again:
            _raise_unparseable(path, dialect, again)
    _check_row_count(delivery, rows)
    if rows == 0:
        raise UnreadableDeliveryError(
            f"{path} has a header but no data rows. Check the extract with the supplier."
        )
    order = None
    if dates:
        try:
            order = decide_date_order(path, dates, contract.dialect.date_order)
        except AmbiguousDeliveryError as error:
            raise UnreadableDeliveryError(str(error)) from None
    opened = ChunkedRead(
        path, contract, dialect, order, rows, chunking, dropped_columns(dialect.header, contract)
    )
    describe_file_conventions(dialect, opened._normalised)
    return opened


def _raise_if_broken_row_or_encoding(path: Path, dialect: FileDialect, error: Exception) -> None:
    """Raise UnreadableDeliveryError naming the line of a row with the wrong number of fields, or the
    encoding a file is not valid in; return for any other parse error."""
    if isinstance(error, pa.ArrowInvalid) and "columns" in str(error):
        line = first_bad_line(path, dialect.encoding, dialect.delimiter, len(dialect.header))
        where = f" at line {line}" if line else ""
        raise UnreadableDeliveryError(
            f"{path} cannot be parsed as CSV{where}: {_arrow_reason(error)} (the header has "
            f"{len(dialect.header)} columns, delimiter {dialect.delimiter!r}). A row is broken or "
            "the file is cut off; ask the supplier to deliver it again."
        ) from None
    if isinstance(error, UnicodeDecodeError):
        raise UnreadableDeliveryError(
            f"{path} is not valid {dialect.encoding} ({error.reason}). Check the contract's "
            "dialect.encoding or ask for a UTF-8 extract."
        ) from None


def _raise_unparseable(path: Path, dialect: FileDialect, error: Exception) -> NoReturn:
    _raise_if_broken_row_or_encoding(path, dialect, error)
    raise UnreadableDeliveryError(
        f"{path} cannot be parsed as CSV ({_arrow_reason(error)}); it may be truncated or corrupt. Ask the "
        "supplier to deliver it again."
    ) from None


def _stream_csv(
    path: Path, dialect: FileDialect, columns: list[str], chunking: FileChunking
) -> Iterator[pa.RecordBatch]:
    """The file's record batches, every column text, with the same options as ``_parse_csv``."""
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=dialect.encoding, block_size=chunking.block_bytes),
        parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(dialect.header, pa.string()),
            include_columns=columns,
            strings_can_be_null=True,
            null_values=[""],
        ),
    )
    try:
        yield from reader
    finally:
        reader.close()


def _row_chunks(batches: Iterator[pa.RecordBatch], chunking: FileChunking) -> Iterator[pa.Table]:
    """Tables of exactly ``chunking.rows`` rows (the last one shorter), whatever Arrow's block sizes."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= chunking.rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunking.rows)
            rest = table.slice(chunking.rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending)


def _first_pass(
    path: Path, dialect: FileDialect, contract: Contract, chunking: FileChunking
) -> tuple[int, list[DayMonthDates]]:
    """Rows, and per date column the day/month maxima over the whole file (what the date order needs)."""
    date_columns = [
        spec.source
        for spec in contract.columns
        if spec.type in ("date", "datetime") and spec.source in dialect.header
    ]
    wanted = date_columns or [next(column for column in contract.source_columns if column in dialect.header)]
    rows = 0
    found: dict[str, DayMonthDates] = {}
    for batch in _stream_csv(path, dialect, wanted, chunking):
        rows += batch.num_rows
        for column in date_columns:
            dates = find_day_month_dates(column, pa.chunked_array([batch.column(column)]))
            if dates is None:
                continue
            before = found.get(column)
            found[column] = DayMonthDates(
                column,
                dates.mask,  # the mask is per chunk; only the maxima are kept from this pass
                max(dates.first_max, before.first_max if before else 0),
                max(dates.second_max, before.second_max if before else 0),
            )
    return rows, list(found.values())


def _normalise_chunk(
    table: pa.Table, contract: Contract, order: str | None, normalised: Normalised
) -> pa.Table:
    """One chunk normalised as ``_normalise_values`` does a whole file, under the file's date order."""
    table = _normalise_numbers(table, contract, normalised)
    if order is None:
        return table
    return _to_iso_dates(table, _day_month_dates(table, contract), order, normalised)
