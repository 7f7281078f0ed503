"""The key index: per landed table, the record-key hashes that occur more than once (D152).

Reading a source as known at a date needs, for every record key with more than one version, the
versions compared; a key with one version needs nothing (``features.compact``). Which keys repeat is a
fact about the table's landed files, and landed files are written once and never rewritten, so the
answer is computed once, by the writer at the end of an ingest run, and read by every connection
afterwards instead of sorting every row's ``_record_key_hash`` again (about 0.9 s of a 60k scoring run,
one scan and one sort of every row per table).

An index file names the files it was computed from (a SHA-256 of their paths relative to the
warehouse, in landing order); a connection uses it only when that matches the table's files of the
moment, so a table with a batch landed since is read the slow way until the next ingest run writes its
index again. Only tables whose every row carries the landed hash are indexed (DuckDB's own ``hash()`` is
not promised stable across versions, so it is never stored). The index is derived data: deleting
``_key_index/`` changes no result, only the time; anyone who can write it can write the landed files too.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# The 64-bit hash of ``_record_key`` ingest lands on every row (D150; written by data_contracts.conform).
RECORD_KEY_HASH = "_record_key_hash"
INDEX_DIR = "_key_index"
KEY_HASH_COLUMN = "_key_hash"
_IDENTITY_FIELD = b"tidlig.files_sha256"


def index_relation(table: str) -> str:
    """The DuckDB relation ``Warehouse.connect`` registers a table's current index as."""
    return f"_tidlig_key_index_{table}"


def files_identity(root: Path, paths: Sequence[Path]) -> str:
    """SHA-256 of the files' paths relative to the warehouse root, in order, one per line.

    The paths are taken as written (``Warehouse.landed_files`` builds them under ``root``), without
    asking the file system: a connection computes this for every landed file (1,300 at 60k)."""
    relative = "\n".join(Path(path).relative_to(root).as_posix() for path in paths)
    return hashlib.sha256(relative.encode("utf-8")).hexdigest()


def repeated(hashes: np.ndarray) -> np.ndarray:
    """The values that occur more than once in ``hashes``, sorted, each once."""
    ordered = np.sort(np.asarray(hashes, dtype=np.uint64))
    result: np.ndarray = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    return result


def landed_repeated_hashes(connection: duckdb.DuckDBPyConnection, relation: str) -> np.ndarray | None:
    """Repeated ``_record_key_hash`` values of ``relation``, or None where a row lacks the landed hash
    (the column is absent or null somewhere): then only ``hash(_record_key)`` can say, and it is not
    stored."""
    columns = {row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    if RECORD_KEY_HASH not in columns:
        return None
    landed = connection.execute(f"SELECT {RECORD_KEY_HASH} FROM {relation}").fetchnumpy()[RECORD_KEY_HASH]
    if np.ma.is_masked(landed):
        return None
    return repeated(np.asarray(landed, dtype=np.uint64))


def _index_path(root: Path, table: str) -> Path:
    return root / INDEX_DIR / f"{table}.parquet"


def read_index(root: Path, table: str, identity: str) -> pa.Table | None:
    """The table's stored repeated hashes (one ``_key_hash`` column) when computed from exactly the
    files ``identity`` names; None when there is no index, it is of other files, or it cannot be read."""
    path = _index_path(root, table)
    if not path.exists():
        return None
    try:
        stored = pq.read_table(path)
    except (OSError, pa.ArrowInvalid):
        return None
    metadata = stored.schema.metadata or {}
    if metadata.get(_IDENTITY_FIELD) != identity.encode("ascii"):
        return None
    if stored.column_names != [KEY_HASH_COLUMN] or stored.schema.field(0).type != pa.uint64():
        return None
    return stored


def write_missing_index(
    root: Path, table: str, paths: Sequence[Path], connection: duckdb.DuckDBPyConnection, relation: str
) -> bool:
    """Write the table's index for ``paths`` (read through ``relation`` on ``connection``) unless a
    current one exists or the rows lack the landed hash; True when it wrote one."""
    identity = files_identity(root, paths)
    if read_index(root, table, identity) is not None:
        return False
    hashes = landed_repeated_hashes(connection, relation)
    if hashes is None:
        return False
    write_index(root, table, identity, hashes)
    return True


def write_index(root: Path, table: str, identity: str, hashes: np.ndarray) -> Path:
    """Store ``hashes`` as the table's index for the files ``identity`` names; atomic (a reader sees the
    old file or the new one, never part of one)."""
    path = _index_path(root, table)
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([pa.field(KEY_HASH_COLUMN, pa.uint64())], metadata={_IDENTITY_FIELD: identity})
    stored = pa.table({KEY_HASH_COLUMN: pa.array(np.asarray(hashes, dtype=np.uint64))}, schema=schema)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{table}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        pq.write_table(stored, temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
