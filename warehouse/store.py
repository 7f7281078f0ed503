"""The warehouse: Parquet partitions per batch and a DuckDB catalog that says which batches count.

Layout: ``<warehouse_dir>/<table>/batch=<batch_id>/part-0.parquet`` and ``<warehouse_dir>/catalog.duckdb``.
A batch is *committed* when its row in the catalog's ``batches`` table says ``landed``; readers only ever
see committed batches, so a partition written by a process that died before its catalog commit is
invisible (and removed by the next ``remove_uncommitted_partitions``).

Landing is: write to a temporary folder, fsync, rename into place, fsync the folder, then insert the
catalog row in one DuckDB transaction that first checks the content hash has not landed already. The
catalog doubles as the ledger of content hashes that makes every delivery land exactly once.

One writer at a time (``writer_lock``); any number of readers. Readers copy the catalog's committed batch
list into an in-memory DuckDB connection, so they hold no lock on the catalog file while they work.
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import hashlib
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse import key_index

# Per (process, warehouse folder): the ledger state and the in-memory database whose cursors
# ``Warehouse.connect`` hands out (D153). The process ID keeps a forked child from using its parent's.
_SHARED_DATABASES: dict[tuple[int, str], tuple[str, duckdb.DuckDBPyConnection]] = {}
_SHARED_LOCK = threading.Lock()
CATALOG_FILE = "catalog.duckdb"
PARTITION_FILE = "part-0.parquet"
READ_OPTIONS = "union_by_name = true, hive_partitioning = false"
_READ_OPTIONS = READ_OPTIONS
# Test hook for the crash test: kill this process after the partition is in place, before the commit.
CRASH_HOOK_VARIABLE = "TIDLIG_CRASH_BEFORE_CATALOG_COMMIT"

_BATCHES_DDL = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,
    delivery VARCHAR NOT NULL,
    content_sha256 VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    contract_version VARCHAR NOT NULL,
    delivered_at TIMESTAMP,
    ingested_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,
    table_name VARCHAR,
    key_version VARCHAR,
    partition_path VARCHAR,
    report VARCHAR,
    sequence BIGINT,
    previous_delivery VARCHAR,
    held_by VARCHAR,
    attempt INTEGER
)
"""
# Columns added after the first catalogs were written: added in place to an older catalog.
_LEDGER_MIGRATIONS = (
    "ALTER TABLE batches ADD COLUMN IF NOT EXISTS sequence BIGINT",
    "ALTER TABLE batches ADD COLUMN IF NOT EXISTS previous_delivery VARCHAR",
    "ALTER TABLE batches ADD COLUMN IF NOT EXISTS held_by VARCHAR",
    "ALTER TABLE batches ADD COLUMN IF NOT EXISTS attempt INTEGER",
)
_KEYS_DDL = """
CREATE TABLE IF NOT EXISTS pseudonym_keys (
    fingerprint VARCHAR NOT NULL,
    key_version VARCHAR NOT NULL,
    registered_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP,
    note VARCHAR
)
"""


def _parquet_source(paths: list[Path]) -> str:
    """The DuckDB relation reading these landed files as one table (columns matched by name)."""
    listing = ", ".join(f"'{path}'" for path in paths)
    return f"read_parquet([{listing}], {_READ_OPTIONS})"


class CatalogBusyError(RuntimeError):
    """Another process holds the catalog for longer than we are willing to wait."""


class AlreadyIngestedError(RuntimeError):
    """The content hash of a batch is already in the ledger: landing it again would duplicate rows."""


class PseudonymKeyMismatchError(RuntimeError):
    """The configured pseudonymisation key is not the one this warehouse was filled with."""


# Status of a quarantined batch that was released for its one retry (kept in the ledger for the record;
# its content hash may be taken again, once).
RELEASED = "released"


@dataclass(frozen=True)
class BatchRecord:
    """One row of the catalog's ``batches`` table (the ledger)."""

    batch_id: str
    source: str
    delivery: str
    content_sha256: str
    rows: int
    contract_version: str
    delivered_at: pd.Timestamp | None
    ingested_at: pd.Timestamp
    status: str
    table_name: str | None = None
    key_version: str | None = None
    partition_path: str | None = None
    report: str | None = None
    sequence: int | None = None  # the supplier's running number of the delivery (from its manifest)
    previous_delivery: str | None = None  # the delivery the supplier says came before this one
    held_by: str | None = None  # quarantined only because of this upstream source: retried once it lands
    attempt: int = 0  # 1 for the one retry of a held batch


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _make_durable(paths: list[Path]) -> None:
    """Flush files and folders to disk. On Linux one ``syncfs`` of their file system replaces an fsync
    per path (landing a few hundred small batches would otherwise spend most of its time in fsync)."""
    if not paths:
        return
    syncfs = getattr(_libc(), "syncfs", None) if sys.platform.startswith("linux") else None
    if syncfs is not None:
        descriptor = os.open(paths[0], os.O_RDONLY)
        try:
            if syncfs(descriptor) == 0:
                return
        finally:
            os.close(descriptor)
    for path in paths:
        _fsync(path)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


class Warehouse:
    """Parquet + DuckDB warehouse rooted at ``warehouse_dir`` (created on first write)."""

    def __init__(self, warehouse_dir: Path) -> None:
        self.root = Path(warehouse_dir)
        self.catalog_path = self.root / CATALOG_FILE
        self._writer_connection: duckdb.DuckDBPyConnection | None = None
        self._ledger: pd.DataFrame | None = None  # the writer's copy of ``batches``
        self._key_checked: tuple[str, str] | None = None  # verified and recorded under the writer lock

    # ----- catalog access -------------------------------------------------------------------------
    @contextmanager
    def _catalog(self, read_only: bool = False, attempts: int = 50) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection to the catalog; retries while another process holds its lock.

        Inside ``writer_lock`` the writer's own connection is reused (opening one costs ~25 ms).
        """
        if self._writer_connection is not None:
            yield self._writer_connection
            return
        if not read_only:
            self.root.mkdir(parents=True, exist_ok=True)
        for attempt in range(attempts):
            try:
                connection = duckdb.connect(str(self.catalog_path), read_only=read_only)
                break
            except duckdb.IOException as error:
                if "lock" not in str(error).lower() or attempt == attempts - 1:
                    raise CatalogBusyError(
                        f"The warehouse catalog {self.catalog_path} is locked by another process. "
                        "Wait for the running ingest to finish and try again."
                    ) from error
                time.sleep(0.1)
        try:
            if not read_only:
                connection.execute(_BATCHES_DDL)
                for statement in _LEDGER_MIGRATIONS:
                    connection.execute(statement)
                connection.execute(_KEYS_DDL)
            yield connection
        finally:
            connection.close()

    def batches(self) -> pd.DataFrame:
        """The whole ledger (landed and quarantined batches), oldest first; empty before the first write."""
        columns = list(BatchRecord.__dataclass_fields__)
        if self._ledger is not None:
            return self._ledger.copy()
        if not self.catalog_path.exists():
            return pd.DataFrame(columns=columns)
        with self._catalog(read_only=True) as connection:
            exists = connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'batches'"
            ).fetchone()
            if not exists or not exists[0]:
                return pd.DataFrame(columns=columns)
            frame = connection.execute("SELECT * FROM batches ORDER BY ingested_at, batch_id").df()
        for column in columns:  # a catalog written before the newer ledger columns existed
            if column not in frame.columns:
                frame[column] = 0 if column == "attempt" else None
        return frame[columns]

    def seen_hashes(self, source: str | None = None) -> set[str]:
        """Content hashes already taken (landed or quarantined), optionally for one source; a batch
        released for its retry is not counted as taken."""
        ledger = self.batches()
        if source is not None:
            ledger = ledger[ledger["source"] == source]
        return set(ledger.loc[ledger["status"] != RELEASED, "content_sha256"])

    def released_hashes(self, source: str) -> set[str]:
        """Content hashes of ``source`` released for their one retry and not yet taken again."""
        ledger = self.batches()
        mine = ledger[ledger["source"] == source]
        released = set(mine.loc[mine["status"] == RELEASED, "content_sha256"])
        return released - set(mine.loc[mine["status"] != RELEASED, "content_sha256"])

    def held_batches(self, source: str | None = None) -> pd.DataFrame:
        """Quarantined batches held only because of an upstream source and not yet retried."""
        ledger = self.batches()
        held = ledger[
            (ledger["status"] == "quarantined")
            & ledger["held_by"].notna()
            & (ledger["attempt"].fillna(0).astype(int) == 0)
        ]
        return held if source is None else held[held["source"] == source]

    def release_for_retry(self, batch_ids: list[str]) -> None:
        """Mark held batches ``released``: their content is taken once more by the next intake."""
        if not batch_ids:
            return
        with self._catalog() as connection:
            connection.execute(
                f"UPDATE batches SET status = '{RELEASED}' WHERE status = 'quarantined' AND held_by IS NOT "
                "NULL AND coalesce(attempt, 0) = 0 AND batch_id IN (SELECT unnest(?))",
                [list(batch_ids)],
            )
        if self._ledger is not None:
            chosen = self._ledger["batch_id"].isin(batch_ids) & (self._ledger["status"] == "quarantined")
            self._ledger.loc[chosen, "status"] = RELEASED

    # ----- the pseudonymisation key ---------------------------------------------------------------
    def key_history(self) -> pd.DataFrame:
        """Fingerprints of the keys this warehouse was filled with (never the keys), oldest first."""
        columns = ["fingerprint", "key_version", "registered_at", "retired_at", "note"]
        if self._writer_connection is None and not self.catalog_path.exists():
            return pd.DataFrame(columns=columns)
        with self._catalog(read_only=self._writer_connection is None) as connection:
            exists = connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'pseudonym_keys'"
            ).fetchone()
            if not exists or not exists[0]:
                return pd.DataFrame(columns=columns)
            return connection.execute("SELECT * FROM pseudonym_keys ORDER BY registered_at").df()

    def active_key(self) -> tuple[str, str] | None:
        """(fingerprint, key_version) of the key in use, or None before the first ingest."""
        history = self.key_history()
        active = history[history["retired_at"].isna()]
        if active.empty:
            return None
        row = active.iloc[-1]
        return str(row["fingerprint"]), str(row["key_version"])

    def verify_key(self, fingerprint: str, key_version: str) -> None:
        """Raise PseudonymKeyMismatchError unless the key is the one this warehouse was filled with.

        A warehouse without a recorded key accepts any key, unless it already holds landed batches of
        another key version (a catalog written before fingerprints were recorded).
        """
        if self._writer_connection is not None and self._key_checked == (fingerprint, key_version):
            return  # nobody else can change the key while this process holds the writer lock
        active = self.active_key()
        if active is None:
            ledger = self.batches()
            versions = set(ledger.loc[ledger["status"] == "landed", "key_version"].dropna()) - {key_version}
            if versions:
                raise PseudonymKeyMismatchError(
                    f"The warehouse {self.root} holds batches pseudonymised with key version(s) "
                    f"{', '.join(sorted(versions))}, but the configured key is version {key_version}. "
                    "Nothing was ingested. Configure the key the warehouse was filled with, or change keys "
                    "with `tidlig contracts rotate-key` (docs/production.md, 'Rotating the key')."
                )
            return
        if active[0] != fingerprint:
            raise PseudonymKeyMismatchError(
                f"The configured pseudonymisation key (version {key_version}, fingerprint {fingerprint}) is "
                f"not the key the warehouse {self.root} was filled with (version {active[1]}, fingerprint "
                f"{active[0]}). Nothing was ingested: pseudonyms from two keys would split every citizen "
                "in two. Configure the right key, or change keys on purpose with `tidlig contracts "
                "rotate-key` (docs/production.md, 'Rotating the key')."
            )

    def retire_key(self, fingerprint: str, note: str) -> None:
        """Mark the active key retired (only ``data_contracts.key_rotation`` does this)."""
        self._key_checked = None
        with self._catalog() as connection:
            connection.execute(
                "UPDATE pseudonym_keys SET retired_at = ?, note = coalesce(note, '') || '; ' || ? "
                "WHERE fingerprint = ? AND retired_at IS NULL",
                [pd.Timestamp.now(tz="UTC").tz_localize(None), note, fingerprint],
            )

    def register_key(self, fingerprint: str, key_version: str, note: str = "first ingest") -> None:
        """Record the key's fingerprint if none is recorded yet (needs the writer lock in practice)."""
        if self._writer_connection is not None and self._key_checked == (fingerprint, key_version):
            return
        if self.active_key() is not None:
            if self._writer_connection is not None and self.active_key() == (fingerprint, key_version):
                self._key_checked = (fingerprint, key_version)
            return
        with self._catalog() as connection:
            connection.execute(
                "INSERT INTO pseudonym_keys VALUES (?, ?, ?, NULL, ?)",
                [fingerprint, key_version, pd.Timestamp.now(tz="UTC").tz_localize(None), note],
            )
        if self._writer_connection is not None:
            self._key_checked = (fingerprint, key_version)

    def latest_delivered_at(self, source: str) -> pd.Timestamp | None:
        """The watermark of a care table: the latest ``delivered_at`` among its batches, or None."""
        ledger = self.batches()
        times = ledger.loc[ledger["source"] == source, "delivered_at"].dropna()
        return None if times.empty else pd.Timestamp(times.max())

    # ----- writing --------------------------------------------------------------------------------
    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Exclusive lock for one ingest at a time (released when the process dies).

        While held, this object keeps one read-write connection to the catalog; other processes that
        read the catalog wait (up to a few seconds) and then get CatalogBusyError.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".writer.lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                raise CatalogBusyError(
                    f"Another ingest is writing to {self.root}. Wait for it to finish."
                ) from error
            try:
                with self._catalog() as connection:
                    self._writer_connection = connection
                    self._ledger = self.batches()
                    yield
            finally:
                self._writer_connection = None
                self._ledger = None
                self._key_checked = None
                fcntl.flock(handle, fcntl.LOCK_UN)

    def remove_uncommitted_partitions(self) -> list[Path]:
        """Delete partitions and temporary folders that no committed batch owns (left by a crash)."""
        committed = set(self.batches().query("status == 'landed'")["partition_path"].dropna())
        removed: list[Path] = []
        if not self.root.exists():
            return removed
        for table_dir in self.root.iterdir():
            if not table_dir.is_dir():
                continue
            for folder in table_dir.iterdir():
                relative = str(folder.relative_to(self.root))
                is_partition = folder.name.startswith("batch=")
                is_temporary = folder.name.startswith(".tmp-")
                if (is_partition and relative not in committed) or is_temporary:
                    shutil.rmtree(folder)
                    removed.append(folder)
        return removed

    def land_batch(self, frame: pd.DataFrame, batch: BatchRecord) -> Path:
        """Land ``frame`` as batch ``batch.batch_id`` of table ``batch.table_name``, atomically.

        Raises AlreadyIngestedError (leaving nothing behind) when the content hash already landed.
        """
        return self.land_batches([(frame, batch)])[0]

    def land_batches(self, batches: list[tuple[pd.DataFrame, BatchRecord]]) -> list[Path]:
        """Land several batches at once: all of them or none (one catalog transaction).

        Each frame is written to a temporary folder, made durable, renamed to
        ``<table>/batch=<id>``, made durable again, and only then are the catalog rows committed. A crash
        before the commit leaves partitions no reader sees (``remove_uncommitted_partitions`` deletes
        them). Raises AlreadyIngestedError, landing none, when any content hash already landed.
        """
        if not batches:
            return []
        placed: list[tuple[Path, Path]] = []  # (temporary folder, final folder)
        for frame, batch in batches:
            assert batch.table_name is not None
            table_dir = self.root / batch.table_name
            final_dir = table_dir / f"batch={batch.batch_id}"
            temporary_dir = table_dir / f".tmp-{batch.batch_id}"
            for leftover in (temporary_dir, final_dir):  # uncommitted leftovers (committed ids are unique)
                if leftover.exists():
                    shutil.rmtree(leftover)
            temporary_dir.mkdir(parents=True)
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), temporary_dir / PARTITION_FILE)
            placed.append((temporary_dir, final_dir))
        return self._publish(placed, [batch for _, batch in batches])

    def _publish(self, placed: list[tuple[Path, Path]], batches: list[BatchRecord]) -> list[Path]:
        """Make the written temporary folders durable, rename them to their partitions and commit."""
        _make_durable([temporary / PARTITION_FILE for temporary, _ in placed])
        for temporary_dir, final_dir in placed:
            temporary_dir.rename(final_dir)
        _make_durable([final for _, final in placed] + sorted({final.parent for _, final in placed}))
        sources = {batch.source for batch in batches}
        if os.environ.get(CRASH_HOOK_VARIABLE) in sources:
            os.kill(os.getpid(), signal.SIGKILL)
        records = [
            BatchRecord(
                **{
                    **asdict(batch),
                    "status": "landed",
                    "partition_path": str(final.relative_to(self.root)),
                }
            )
            for batch, (_, final) in zip(batches, placed, strict=True)
        ]
        try:
            self._commit(records)
        except BaseException:
            for _, final in placed:
                shutil.rmtree(final, ignore_errors=True)
            raise
        return [final / PARTITION_FILE for _, final in placed]

    def stage_part(self, batch: BatchRecord, number: int, frame: pd.DataFrame) -> Path:
        """Write one part of a batch that is landed in parts (a delivery file read in chunks) to the
        batch's temporary folder, where no reader looks; ``land_staged`` or ``discard_staged`` ends it."""
        assert batch.table_name is not None
        temporary_dir = self.root / batch.table_name / f".tmp-{batch.batch_id}"
        if number == 0:
            for leftover in (temporary_dir, temporary_dir.parent / f"batch={batch.batch_id}"):
                if leftover.exists():
                    shutil.rmtree(leftover)
            temporary_dir.mkdir(parents=True)
        path = temporary_dir / f"part-{number:05d}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        return path

    def discard_staged(self, batch: BatchRecord) -> None:
        """Delete the staged parts of a batch that will not land."""
        assert batch.table_name is not None
        shutil.rmtree(self.root / batch.table_name / f".tmp-{batch.batch_id}", ignore_errors=True)

    def land_staged(self, batch: BatchRecord, parts: list[Path], keep: list[np.ndarray]) -> Path:
        """Land the staged ``parts`` (rows where ``keep`` is True, in order) as one batch, atomically.

        The parts are streamed, one at a time, into the batch's single partition file under one schema
        (a column that is empty in some part takes the type it has elsewhere), then published and
        committed exactly as ``land_batches`` does. Raises AlreadyIngestedError, landing nothing, when the
        content hash already landed.
        """
        assert batch.table_name is not None
        assert parts
        temporary_dir = parts[0].parent
        schemas = [pq.read_schema(part) for part in parts]
        schema = pa.unify_schemas(schemas, promote_options="permissive").with_metadata(schemas[0].metadata)
        with pq.ParquetWriter(temporary_dir / PARTITION_FILE, schema) as writer:
            for part, mask in zip(parts, keep, strict=True):
                table = pq.read_table(part).filter(pa.array(mask))
                writer.write_table(table.select(schema.names).cast(schema))
                part.unlink()
        final_dir = temporary_dir.parent / f"batch={batch.batch_id}"
        return self._publish([(temporary_dir, final_dir)], [batch])[0]

    def record_quarantined(self, batch: BatchRecord) -> None:
        """Add a quarantined batch to the ledger so the same content is not taken again."""
        self._commit([BatchRecord(**{**asdict(batch), "status": "quarantined", "partition_path": None})])

    def _commit(self, records: list[BatchRecord]) -> None:
        """Insert ledger rows in one transaction, refusing all if any content hash is already there."""
        rows = pd.DataFrame(
            [asdict(record) for record in records], columns=list(BatchRecord.__dataclass_fields__)
        )
        for column in ("delivered_at", "ingested_at"):
            rows[column] = pd.to_datetime(rows[column]).astype("datetime64[us]")
        rows["rows"] = rows["rows"].astype("int64")
        rows["sequence"] = rows["sequence"].astype("Int64")
        rows["attempt"] = rows["attempt"].astype("int32")
        with self._catalog() as connection:
            connection.register("_new_batches", rows)
            connection.execute("BEGIN TRANSACTION")
            try:
                duplicate = connection.execute(
                    "SELECT n.source, n.delivery FROM _new_batches n JOIN batches b "
                    "ON b.source = n.source AND b.content_sha256 = n.content_sha256 "
                    f"WHERE b.status <> '{RELEASED}' LIMIT 1"
                ).fetchone()
                if duplicate:
                    raise AlreadyIngestedError(
                        f"{duplicate[0]} delivery {duplicate[1]} is already in the ledger; not taken again."
                    )
                names = ", ".join(rows.columns)
                connection.execute(f"INSERT INTO batches ({names}) SELECT {names} FROM _new_batches")
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            finally:
                connection.unregister("_new_batches")
        if self._ledger is not None:
            self._ledger = pd.concat([self._ledger, rows], ignore_index=True) if len(self._ledger) else rows

    # ----- reading --------------------------------------------------------------------------------
    def landed_files(self, ledger: pd.DataFrame | None = None) -> dict[str, list[Path]]:
        """Partition files of committed batches, per table, in landing order (of ``ledger``, the
        ``batches()`` frame when the caller has read it already)."""
        ledger = self.batches() if ledger is None else ledger
        landed = ledger[ledger["status"] == "landed"]
        files: dict[str, list[Path]] = {}
        for table_name, partition in zip(landed["table_name"], landed["partition_path"], strict=True):
            files.setdefault(table_name, []).append(self.root / partition / PARTITION_FILE)
        return files

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per landed table plus a ``batches`` table.

        Views cover committed batches only (as of this call). A table whose key index was computed from
        exactly these files also gets it, as ``warehouse.key_index.index_relation(table)`` (D152).
        ``read_only`` is accepted for the documented interface; the connection never writes to the
        warehouse either way.

        The connection is a cursor of an in-memory database this process keeps per warehouse and ledger
        state (D153): defining the views reads every landed file's schema (0.2 s at 60k), so it is done
        once per state, and every later call with the same ledger and key index gets a new cursor of it
        at once. A cursor's temporary tables and registered frames are its own; close it when done.
        """
        del read_only
        batches = self.batches()
        state = self._connection_state(batches)
        key = (os.getpid(), str(self.root))
        with _SHARED_LOCK:
            cached = _SHARED_DATABASES.get(key)
            if cached is None or cached[0] != state:
                cached = (state, self._database(batches))
                _SHARED_DATABASES[key] = cached  # a replaced database lives on while its cursors do
            return cached[1].cursor()

    def _connection_state(self, batches: pd.DataFrame) -> str:
        """What a connection's views depend on: the ledger's rows and the key index files' times."""
        digest = hashlib.sha256(pd.util.hash_pandas_object(batches, index=False).to_numpy().tobytes())
        folder = self.root / key_index.INDEX_DIR
        if folder.is_dir():
            for entry in sorted(os.scandir(folder), key=lambda item: item.name):
                stat = entry.stat()
                digest.update(f"{entry.name}:{stat.st_mtime_ns}:{stat.st_size};".encode())
        return digest.hexdigest()

    def _database(self, batches: pd.DataFrame) -> duckdb.DuckDBPyConnection:
        """A new in-memory database with the ``batches`` table, the table views and the key indexes."""
        connection = duckdb.connect()
        connection.register("_batches_frame", batches)
        connection.execute("CREATE TABLE batches AS SELECT * FROM _batches_frame")
        connection.unregister("_batches_frame")
        for table_name, paths in self.landed_files(batches).items():
            connection.execute(f'CREATE VIEW "{table_name}" AS SELECT * FROM {_parquet_source(paths)}')
            index = key_index.read_index(self.root, table_name, key_index.files_identity(self.root, paths))
            if index is not None:
                name = key_index.index_relation(table_name)
                connection.register(f"{name}_frame", index)
                connection.execute(f'CREATE TABLE "{name}" AS SELECT * FROM "{name}_frame"')
                connection.unregister(f"{name}_frame")
        return connection

    def refresh_key_index(self) -> list[str]:
        """Write the key index of every landed table whose index is missing or of other files; returns
        the tables written. The ingest run calls this once at its end, under the writer lock."""
        written = []
        connection = duckdb.connect()
        try:
            for table_name, paths in self.landed_files().items():
                source = _parquet_source(paths)
                if key_index.write_missing_index(self.root, table_name, paths, connection, source):
                    written.append(table_name)
        finally:
            connection.close()
        return written

    def tables(self) -> list[str]:
        """Names of tables with at least one landed batch."""
        return sorted(self.landed_files())

    def table(self, name: str, as_known_at: pd.Timestamp | str | None = None) -> pd.DataFrame:
        """All versions of every row of table ``name`` (empty frame if nothing landed), or, with
        ``as_known_at=t``, the rows as known at ``t`` (``features.known_rows.known_at_sql``): per
        ``_record_key`` the latest version delivered by ``t``, then only facts with ``_valid_time < t``.
        """
        files = self.landed_files().get(name)
        if not files:
            return pd.DataFrame()
        source = _parquet_source(files)
        connection = duckdb.connect()
        try:
            if as_known_at is None:
                return connection.execute(f"SELECT * FROM {source}").df()
            # The as-known rule has one home, the features layer's known_rows (docs/decisions.md D21);
            # imported here, lazily, because this is a convenience for tests and notebooks.
            from features.known_rows import known_at_sql

            moment = pd.Timestamp(as_known_at).to_pydatetime()
            return connection.execute(known_at_sql(source, "?"), [moment, moment]).df()
        finally:
            connection.close()
