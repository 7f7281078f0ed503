"""The compact form of one source for the numba engine: integer persons, microsecond times, date ranges.

One DuckDB query per source reads only what the spec needs, from the same row versions and row-filter SQL
as the reference engine (``features.sources``, ``features.known_rows.versions_sql``,
``features.aggregates.sql_row_filter``), so "as known at t" and every filter have one definition:

- ``person``: the cohort person index (pseudonyms stay outside; rows of persons outside the cohort are
  dropped by the join);
- ``time``: valid time in microseconds since 1970;
- ``known_from``, ``known_until``: the row version is known at prediction-date indices
  ``known_from <= j < known_until``: the clip of its ``[_delivered_at, _superseded_at)`` interval to the
  sorted dates (as occurred: the final versions, at every date);
- ``flags``: one bit per row filter, 64 to a word;
- ``values``: the numeric columns aggregated (NaN = missing); ``codes``: dictionary codes of the
  categorical columns (-1 = missing) with their ``dictionaries``.

Sources with columns that depend on the prediction date itself (``Source.t_columns``, e.g. a hospital
contact cut at t) are read once per (row version, date) it can reach, each such row known at that one date.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.aggregates import sql_row_filter
from features.known_rows import Mode, existing_relations, versions_sql
from features.sources import Source
from features.spec import RowFilter
from warehouse.key_index import (
    KEY_HASH_COLUMN,
    RECORD_KEY_HASH,
    index_relation,
    landed_repeated_hashes,
    repeated,
)

FOREVER_US = np.iinfo(np.int64).max
BITS_PER_WORD = 64


@dataclass
class CompactSource:
    """Row versions of one source in arrays (see the module docstring); all have one entry per row."""

    person: np.ndarray
    time: np.ndarray
    known_from: np.ndarray
    known_until: np.ndarray
    flags: np.ndarray  # uint64, shape (words, rows)
    values: np.ndarray  # float64, shape (numeric columns, rows)
    codes: np.ndarray  # int64, shape (categorical columns, rows)
    dictionaries: list[np.ndarray]

    @property
    def rows(self) -> int:
        return int(self.person.shape[0])


def dates_in_microseconds(dates: Sequence[pd.Timestamp]) -> np.ndarray:
    """Prediction dates as int64 microseconds since 1970 (sorted as given)."""
    return np.array([pd.Timestamp(date).value // 1000 for date in dates], dtype=np.int64)


def _flag_words_sql(source: Source, row_filters: Sequence[RowFilter]) -> list[str]:
    """One UBIGINT expression per 64 filters: bit ``n % 64`` of word ``n // 64`` is set when the row
    passes filter n."""
    words = []
    for first in range(0, len(row_filters), BITS_PER_WORD):
        terms = [
            f"(CASE WHEN {sql_row_filter(row_filter, source)} THEN CAST({1 << offset} AS UBIGINT) "
            "ELSE CAST(0 AS UBIGINT) END)"
            for offset, row_filter in enumerate(row_filters[first : first + BITS_PER_WORD])
        ]
        words.append(" | ".join(terms))
    return words


# The 64-bit hash of ``_record_key`` that ingest lands with every row (D150); the name is
# ``warehouse.key_index.RECORD_KEY_HASH``, kept here under the engine's own word for it.
LANDED_KEY_HASH = RECORD_KEY_HASH


@dataclass(frozen=True)
class RepeatedKeys:
    """The key hashes that occur more than once in a table, sorted, each once, and the SQL expression
    that gave them (the landed hash, or DuckDB's ``hash(_record_key)`` where some rows have none)."""

    hashes: np.ndarray
    expression: str


def repeated_key_hashes(connection: duckdb.DuckDBPyConnection, table: str) -> RepeatedKeys:
    """The 64-bit hashes of ``_record_key`` that occur more than once in ``table``.

    One scan hands the hashes over as integers; the duplicates are found by sorting them in NumPy. (A
    DuckDB ``GROUP BY hash(_record_key) HAVING count(*) > 1`` builds a hash table with one entry per record
    and cost about four times as much CPU on 7 M prescriptions.) Where every row carries the landed hash
    (``_record_key_hash``) that column is read, 8 bytes a row, unless the warehouse's key index for the
    table's current files is registered on the connection (``warehouse.key_index``, D152): then nothing
    of the table is read at all; otherwise (a table with a batch landed
    before the column existed, or written by other means) every key is decoded and hashed by DuckDB. The
    two are never mixed within a table, so equal keys always have equal hashes.
    """
    indexed = index_relation(table.strip('"'))
    if indexed in existing_relations(connection):
        stored = connection.execute(f"SELECT {KEY_HASH_COLUMN} FROM {indexed}").fetchnumpy()[KEY_HASH_COLUMN]
        return RepeatedKeys(np.asarray(stored, dtype=np.uint64), LANDED_KEY_HASH)
    landed = landed_repeated_hashes(connection, table)
    if landed is not None:
        return RepeatedKeys(landed, LANDED_KEY_HASH)
    expression = "hash(_record_key)"
    hashes = connection.execute(f"SELECT {expression} AS _key_hash FROM {table}").fetchnumpy()["_key_hash"]
    return RepeatedKeys(repeated(np.asarray(hashes, dtype=np.uint64)), expression)


def versions_by_candidates_sql(connection: duckdb.DuckDBPyConnection, table: str, repeated: str) -> str:
    """The relation of ``versions_sql(table)`` (every version with ``_superseded_at``), evaluated cheaply.

    A version can only be superseded when its record key occurs more than once. Record keys are long
    strings, and ordering every row by them (the window of ``versions_sql``) is most of the cost of
    reading a large source. So: find the 64-bit hashes of record keys that occur more than once
    (:func:`repeated_key_hashes`, into the temporary table ``repeated``), give the rows whose key hash is
    unique ``_superseded_at = NULL``, and apply ``versions_sql`` itself, partitioned by the real keys, to the
    rows whose hash repeats. A hash collision only sends a few more rows through the exact path, so the
    relation is the same. When no hash repeats (a table without corrections) the relation is the table
    itself with ``_superseded_at = NULL``, read without hashing again.
    """
    repeated_keys = repeated_key_hashes(connection, table)
    if repeated_keys.hashes.size == 0:
        return f"SELECT *, CAST(NULL AS TIMESTAMP) AS _superseded_at FROM {table}"
    frame = pa.table({"_key_hash": pa.array(repeated_keys.hashes, type=pa.uint64())})
    connection.register(f"{repeated}_frame", frame)
    try:
        connection.execute(f"CREATE TEMP TABLE {repeated} AS SELECT _key_hash FROM {repeated}_frame")
    finally:
        connection.unregister(f"{repeated}_frame")
    key_hash = repeated_keys.expression
    exact = versions_sql(f"(SELECT * FROM {table} WHERE {key_hash} IN (SELECT _key_hash FROM {repeated}))")
    return f"""
SELECT *, CAST(NULL AS TIMESTAMP) AS _superseded_at FROM {table}
WHERE {key_hash} NOT IN (SELECT _key_hash FROM {repeated})
UNION ALL BY NAME
SELECT * FROM ({exact})"""


def read_source(
    connection: duckdb.DuckDBPyConnection,
    source: Source,
    *,
    available: set[str],
    persons: str,
    dates: Sequence[pd.Timestamp],
    mode: Mode,
    lookback_days: int,
    row_filters: Sequence[RowFilter],
    numeric_columns: Sequence[str],
    categorical_columns: Sequence[str],
    dates_relation: str,
) -> CompactSource | None:
    """The compact form of ``source`` for the cohort persons of relation ``persons`` (person_key,
    _person), restricted to the valid times the dates can reach; None when none of its tables exist.

    ``dates_relation`` names a relation of (_date_index, prediction_date) for sources with t-columns.
    """
    present = [table for table in source.tables if table in available]
    if not present:
        return None
    repeated = {table: f"_tidlig_repeated_keys_{uuid.uuid4().hex[:12]}" for table in present}
    try:
        versions = {
            table: f"({versions_by_candidates_sql(connection, table, repeated[table])})" for table in present
        }
        return _read(
            connection,
            source,
            relation=str(source.relation_sql(versions)),
            persons=persons,
            dates=dates,
            mode=mode,
            lookback_days=lookback_days,
            row_filters=row_filters,
            numeric_columns=numeric_columns,
            categorical_columns=categorical_columns,
            dates_relation=dates_relation,
        )
    finally:
        for name in repeated.values():
            connection.execute(f"DROP TABLE IF EXISTS {name}")


def _read(
    connection: duckdb.DuckDBPyConnection,
    source: Source,
    *,
    relation: str,
    persons: str,
    dates: Sequence[pd.Timestamp],
    mode: Mode,
    lookback_days: int,
    row_filters: Sequence[RowFilter],
    numeric_columns: Sequence[str],
    categorical_columns: Sequence[str],
    dates_relation: str,
) -> CompactSource:
    first = (dates[0] - pd.Timedelta(days=lookback_days)).to_pydatetime()
    last = dates[-1].to_pydatetime()
    known = "AND s._delivered_at <= $last" if mode == "as_known" else "AND s._superseded_at IS NULL"
    words = _flag_words_sql(source, row_filters)
    outputs = [
        *(f"{word} AS _flags_{index}" for index, word in enumerate(words)),
        *(
            f"coalesce(CAST({column} AS DOUBLE), CAST('NaN' AS DOUBLE)) AS _value_{i}"
            for i, column in enumerate(numeric_columns)
        ),
        *(f"CAST({column} AS VARCHAR) AS _code_{i}" for i, column in enumerate(categorical_columns)),
    ]
    selected = "".join(f", {output}" for output in outputs)
    if source.t_columns:
        at_date = (
            "s._delivered_at <= d.prediction_date "
            "AND (s._superseded_at IS NULL OR s._superseded_at > d.prediction_date)"
            if mode == "as_known"
            else "TRUE"
        )
        t_columns = "".join(f", {sql} AS {name}" for name, sql in source.t_columns)
        where = f"WHERE {source.t_where}" if source.t_where else ""
        sql = f"""
SELECT _person, epoch_us(event_time) AS _time, _date_index AS _known_from, _date_index + 1 AS _known_until
       {selected}
FROM (
    SELECT *{t_columns} FROM (
        SELECT p._person, d._date_index, d.prediction_date, s.*
        FROM {relation} AS s
        JOIN {persons} AS p ON p.person_key = s.person_key
        JOIN {dates_relation} AS d
          ON s.event_time < d.prediction_date
         AND s.event_time >= d.prediction_date - to_days({int(lookback_days)}) AND {at_date}
        WHERE s.event_time >= $first AND s.event_time < $last {known}
    ) {where}
)"""
    else:
        sql = f"""
SELECT p._person, epoch_us(s.event_time) AS _time, epoch_us(s._delivered_at) AS _delivered,
       coalesce(epoch_us(s._superseded_at), {FOREVER_US}) AS _superseded{selected}
FROM {relation} AS s
JOIN {persons} AS p ON p.person_key = s.person_key
WHERE s.event_time >= $first AND s.event_time < $last {known}"""
    table = connection.sql(sql, params={"first": first, "last": last}).to_arrow_table()
    return _compact(
        table,
        source,
        dates=dates,
        mode=mode,
        words=len(words),
        numeric=len(numeric_columns),
        categorical=len(categorical_columns),
    )


def _column(table: pa.Table, name: str, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(table.column(name).to_numpy(), dtype=dtype)


def _compact(
    table: pa.Table,
    source: Source,
    *,
    dates: Sequence[pd.Timestamp],
    mode: Mode,
    words: int,
    numeric: int,
    categorical: int,
) -> CompactSource:
    rows = table.num_rows
    time = _column(table, "_time", np.int64)
    if source.t_columns:
        known_from = _column(table, "_known_from", np.int64)
        known_until = _column(table, "_known_until", np.int64)
    elif mode == "as_known":
        dates_us = dates_in_microseconds(dates)
        known_from = np.searchsorted(dates_us, _column(table, "_delivered", np.int64), side="left")
        known_until = np.searchsorted(dates_us, _column(table, "_superseded", np.int64), side="left")
    else:
        known_from = np.zeros(rows, dtype=np.int64)
        known_until = np.full(rows, len(dates), dtype=np.int64)
    flags = np.zeros((max(words, 1), rows), dtype=np.uint64)
    for index in range(words):
        flags[index] = _column(table, f"_flags_{index}", np.uint64)
    values = np.full((max(numeric, 1), rows), np.nan)
    for index in range(numeric):
        values[index] = _column(table, f"_value_{index}", np.float64)
    codes = np.full((max(categorical, 1), rows), -1, dtype=np.int64)
    dictionaries: list[np.ndarray] = []
    for index in range(categorical):
        column = table.column(f"_code_{index}")
        encoded = pc.dictionary_encode(column.combine_chunks())  # one hash pass; nulls stay null
        codes[index] = pc.fill_null(encoded.indices, -1).to_numpy()
        dictionaries.append(np.asarray(encoded.dictionary.to_pylist(), dtype=object))
    return CompactSource(
        person=_column(table, "_person", np.int64),
        time=time,
        known_from=np.ascontiguousarray(known_from, dtype=np.int64),
        known_until=np.ascontiguousarray(known_until, dtype=np.int64),
        flags=flags,
        values=values,
        codes=codes,
        dictionaries=dictionaries,
    )
