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

Tables are read either through the connection's relations (the person found by joining ``person_key`` to
the cohort's persons in DuckDB) or, when the engine is given each table's Parquet files
(:class:`TableFiles`, the warehouse's landed files), from those files: DuckDB then reads every column but
``person_key``, which carries the row's number across the table's files instead, and the person of each
row number comes from ``person_key`` read once with Arrow as dictionary codes (one look-up per distinct
key of a row group instead of decoding and joining a 32-character string per row; docs/decisions.md
D145). The source SQL, the version rule and the row filters are the same text in both reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from features.aggregates import sql_row_filter
from features.known_rows import Mode, versions_sql
from features.sources import Source
from features.spec import RowFilter

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


@dataclass
class TableFiles:
    """Each table's Parquet files (table -> files, in landing order) and the cohort's persons (sorted
    pseudonyms, person index = position); the person of every row of a table is found once and kept."""

    files: Mapping[str, Sequence[Path]]
    person_keys: pa.Array
    _persons: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def tables(self) -> set[str]:
        """The tables with at least one file (a table with none is missing, as a missing view is)."""
        return {table for table, paths in self.files.items() if paths}

    def persons_of_rows(self, table: str) -> np.ndarray:
        """The cohort person index of each row of ``table`` (its files in order), -1 for rows of persons
        outside the cohort and rows without a person."""
        if table not in self._persons:
            parts = [self._file_persons(Path(path)) for path in self.files[table]]
            self._persons[table] = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        return self._persons[table]

    def _file_persons(self, path: Path) -> np.ndarray:
        keys = pq.read_table(
            path, columns=["person_key"], read_dictionary=["person_key"], use_threads=False
        ).column(0)
        chunks = [
            chunk
            if isinstance(chunk, pa.DictionaryArray)
            else pc.dictionary_encode(pc.cast(chunk, pa.string()))
            for chunk in keys.chunks  # a chunk is not dictionary-encoded where person_key is not text
        ]
        if not chunks:
            return np.empty(0, dtype=np.int64)
        # every row group has its own dictionary: all of them are looked up in the cohort at once
        dictionaries = pa.concat_arrays([pc.cast(chunk.dictionary, pa.string()) for chunk in chunks])
        found = pc.index_in(dictionaries, value_set=self.person_keys)
        person_of_code = pc.fill_null(found, -1).to_numpy().astype(np.int64)
        parts, first = [], 0
        for chunk in chunks:
            size = len(chunk.dictionary)
            of_chunk = np.append(person_of_code[first : first + size], -1)  # a null key -> -1
            parts.append(of_chunk[pc.fill_null(chunk.indices, size).to_numpy()])
            first += size
        return np.concatenate(parts)

    def rows_sql(self, table: str, first_row: int) -> str:
        """The rows of ``table``'s files with ``person_key`` replaced by the row's number, counted from
        ``first_row`` across the files in order (Parquet's ``file_row_number`` plus the rows before)."""
        selects = []
        for path in self.files[table]:
            quoted = str(path).replace("'", "''")
            selects.append(
                f"SELECT * EXCLUDE (file_row_number) REPLACE (file_row_number + {first_row} AS person_key) "
                f"FROM read_parquet('{quoted}', file_row_number = true, hive_partitioning = false)"
            )
            first_row += pq.ParquetFile(path).metadata.num_rows
        return "(" + "\nUNION ALL BY NAME\n".join(selects) + ")"


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


def repeated_key_hashes(connection: duckdb.DuckDBPyConnection, table: str) -> np.ndarray:
    """The 64-bit hashes of ``_record_key`` that occur more than once in ``table``, sorted, each once.

    One scan that hashes every record key and hands the hashes over as integers; the duplicates are found
    by sorting them in NumPy. (A DuckDB ``GROUP BY hash(_record_key) HAVING count(*) > 1`` builds a hash
    table with one entry per record and cost about four times as much CPU on 7 M prescriptions.)
    """
    hashes = connection.execute(f"SELECT hash(_record_key) AS _key_hash FROM {table}").fetchnumpy()
    ordered = np.sort(np.asarray(hashes["_key_hash"], dtype=np.uint64))
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


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
    hashes = repeated_key_hashes(connection, table)
    if hashes.size == 0:
        return f"SELECT *, CAST(NULL AS TIMESTAMP) AS _superseded_at FROM {table}"
    frame = pa.table({"_key_hash": pa.array(hashes, type=pa.uint64())})
    connection.register(f"{repeated}_frame", frame)
    try:
        connection.execute(f"CREATE TEMP TABLE {repeated} AS SELECT _key_hash FROM {repeated}_frame")
    finally:
        connection.unregister(f"{repeated}_frame")
    exact = versions_sql(
        f"(SELECT * FROM {table} WHERE hash(_record_key) IN (SELECT _key_hash FROM {repeated}))"
    )
    return f"""
SELECT *, CAST(NULL AS TIMESTAMP) AS _superseded_at FROM {table}
WHERE hash(_record_key) NOT IN (SELECT _key_hash FROM {repeated})
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
    table_files: TableFiles | None = None,
) -> CompactSource | None:
    """The compact form of ``source`` for the cohort persons of relation ``persons`` (person_key,
    _person), restricted to the valid times the dates can reach; None when none of its tables exist.

    ``dates_relation`` names a relation of (_date_index, prediction_date) for sources with t-columns.
    With ``table_files`` the source's tables are read from those files (the module docstring), not from
    the connection's relations, and ``persons`` is not used.
    """
    present = [table for table in source.tables if table in available]
    if not present:
        return None
    tables = {table: table for table in present}
    person_of_row = None
    if table_files is not None:
        first_row = 0
        for table in present:
            tables[table] = table_files.rows_sql(table, first_row)
            first_row += table_files.persons_of_rows(table).size
        person_of_row = np.concatenate([table_files.persons_of_rows(table) for table in present])
    repeated = {table: f"_tidlig_repeated_keys_{uuid.uuid4().hex[:12]}" for table in present}
    try:
        versions = {
            table: f"({versions_by_candidates_sql(connection, tables[table], repeated[table])})"
            for table in present
        }
        return _read(
            connection,
            source,
            relation=str(source.relation_sql(versions)),
            persons=persons,
            person_of_row=person_of_row,
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
    person_of_row: np.ndarray | None,
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
    if person_of_row is None:  # the person index from the cohort's persons, joined on the pseudonym
        person, join = "p._person", f"JOIN {persons} AS p ON p.person_key = s.person_key"
    else:  # person_key holds the row number; its person is looked up below
        person, join = "s.person_key", ""
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
        SELECT {person} AS _person, d._date_index, d.prediction_date, s.*
        FROM {relation} AS s
        {join}
        JOIN {dates_relation} AS d
          ON s.event_time < d.prediction_date
         AND s.event_time >= d.prediction_date - to_days({int(lookback_days)}) AND {at_date}
        WHERE s.event_time >= $first AND s.event_time < $last {known}
    ) {where}
)"""
    else:
        sql = f"""
SELECT {person} AS _person, epoch_us(s.event_time) AS _time, epoch_us(s._delivered_at) AS _delivered,
       coalesce(epoch_us(s._superseded_at), {FOREVER_US}) AS _superseded{selected}
FROM {relation} AS s
{join}
WHERE s.event_time >= $first AND s.event_time < $last {known}"""
    table = connection.sql(sql, params={"first": first, "last": last}).to_arrow_table()
    if person_of_row is not None:
        person = person_of_row[_column(table, "_person", np.int64)]
        inside = person >= 0  # rows of persons outside the cohort are dropped, as the join drops them
        if not inside.all():
            table = table.filter(pa.array(inside))
            person = person[inside]
        table = table.set_column(table.schema.get_field_index("_person"), "_person", pa.array(person))
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
