"""Finding and reading deliveries: extract files in the landing folder and increments of care-record tables.

A *delivery* is the unit that is validated and then landed or quarantined as a whole: one extract file, or
the rows of one care table registered in one calendar month after the previous watermark.
Reading never retries: an unreadable file raises ``UnreadableDeliveryError`` with a reason a person can act on
(it is quarantined, not retried); only ``OSError`` is treated as transient by the flow.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from data_contracts.contract import Contract

_HASH_CHUNK = 1 << 22


class UnreadableDeliveryError(ValueError):
    """A delivery that cannot be parsed at all (encoding, truncation, missing columns, no rows)."""


@dataclass(frozen=True)
class Delivery:
    """One delivery of one source, identified by its content hash (the ledger key)."""

    source: str
    label: str  # extract date "YYYY-MM-DD" for files, "registered-YYYY-MM" for care increments
    delivered_at: pd.Timestamp  # extract date, or the latest registered_at of a care increment
    content_sha256: str
    path: Path | None = None  # the file, for registry extracts
    table: str | None = None  # the care table, for care increments

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
        found.append(Delivery(contract.source, folder.name, extract_date, digest, path=path))
    return found


def _check_columns(frame_columns: list[str], contract: Contract, where: str) -> None:
    missing = [column for column in contract.required_columns if column not in frame_columns]
    if missing:
        raise UnreadableDeliveryError(
            f"{where} lacks required column(s) {', '.join(missing)} of contract {contract.source} "
            f"v{contract.version}. Ask the supplier for a complete extract."
        )


def read_file_delivery(delivery: Delivery, contract: Contract) -> pd.DataFrame:
    """The contract's columns of one extract file, as delivered (CSV: all strings; Parquet: its types).

    Optional contract columns that are absent come back empty. Raises UnreadableDeliveryError.
    """
    assert delivery.path is not None
    path = delivery.path
    if path.stat().st_size == 0:
        raise UnreadableDeliveryError(f"{path} is empty (0 bytes). Ask the supplier to deliver it again.")
    try:
        if contract.format == "csv":
            header = _csv_header(path)
            _check_complete(path)
            _check_columns(header, contract, str(path))
            wanted = [column for column in contract.source_columns if column in header]
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(header, pa.string()),
                    include_columns=wanted,
                    strings_can_be_null=True,
                    null_values=[""],
                ),
            )
        else:
            schema_names = pq.read_schema(path).names
            _check_columns(schema_names, contract, str(path))
            table = pq.read_table(path, columns=[c for c in contract.source_columns if c in schema_names])
    except UnreadableDeliveryError:
        raise
    except UnicodeDecodeError as error:
        raise UnreadableDeliveryError(
            f"{path} is not valid UTF-8 ({error.reason}). Ask for a UTF-8 extract."
        ) from None
    except (pa.ArrowInvalid, pa.ArrowException) as error:
        raise UnreadableDeliveryError(
            f"{path} cannot be parsed as {contract.format.upper()} ({_arrow_reason(error)}); it may be "
            "truncated or corrupt. Ask the supplier to deliver it again."
        ) from None
    frame = table.to_pandas()
    if frame.empty:
        raise UnreadableDeliveryError(
            f"{path} has a header but no data rows. Check the extract with the supplier."
        )
    for column in contract.source_columns:
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype="object")
    return frame[contract.source_columns]


def _check_complete(path: Path) -> None:
    """A CSV extract ends with a line break; one that does not was cut off while being written or copied."""
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        if handle.read(1) != b"\n":
            raise UnreadableDeliveryError(
                f"{path} does not end with a line break: it is truncated (cut off inside its last row). "
                "Ask the supplier to deliver it again."
            )


def _csv_header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        first_line = handle.readline()
    try:
        text = first_line.decode("utf-8").lstrip("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError as error:
        raise UnreadableDeliveryError(
            f"{path} is not valid UTF-8 (header line, {error.reason}). Ask for a UTF-8 extract."
        ) from None
    if not text.strip():
        raise UnreadableDeliveryError(f"{path} has no header line. Ask the supplier to deliver it again.")
    return [name.strip().strip('"') for name in text.split(",")]


def _arrow_reason(error: Exception) -> str:
    """Arrow's message without any quoted row content (it sometimes echoes the offending line)."""
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "UTF8" in message or "utf8" in message.lower():
        return "invalid UTF-8 bytes"
    if "Expected" in message and "columns" in message:
        return message.split(":", 1)[-1].split("line")[0].strip().rstrip(".") or "wrong number of fields"
    for marker in ("Parquet magic bytes", "file size", "footer", "Empty CSV"):
        if marker.lower() in message.lower():
            return message[:160]
    return type(error).__name__


def read_care_increments(
    care_db_url: str, contract: Contract, watermark: pd.Timestamp | None, seen: set[str]
) -> list[tuple[Delivery, pd.DataFrame]]:
    """Rows of a care table registered after ``watermark``, one delivery per calendar month of registration.

    Each increment is identified by the SHA-256 of its rows, so an increment seen before (``seen``) is
    skipped. A missing table yields no deliveries (the municipality may not record that kind of data).
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
        if content_sha256 in seen:
            continue
        delivery = Delivery(
            contract.source,
            f"registered-{label}",
            registered.iloc[positions].max(),
            content_sha256,
            table=contract.source,
        )
        increments.append((delivery, frame.iloc[positions].reset_index(drop=True)))
    return increments
