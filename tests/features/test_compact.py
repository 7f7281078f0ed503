"""The compact form's version look-up: which record keys can have been corrected."""

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from features.compact import TableFiles, repeated_key_hashes, versions_by_candidates_sql


def _table(connection: duckdb.DuckDBPyConnection, keys: list[str]) -> None:
    connection.execute(
        "CREATE TABLE t AS SELECT unnest($keys) AS _record_key, "
        "TIMESTAMP '2024-01-01' + to_days(CAST(generate_subscripts($keys, 1) AS INTEGER)) AS _delivered_at, "
        "TIMESTAMP '2024-01-01' AS _ingested_at, 'b1' AS _batch_id",
        {"keys": keys},
    )


def test_only_record_keys_that_occur_more_than_once_are_candidates_for_correction() -> None:
    connection = duckdb.connect()
    _table(connection, ["a", "b", "a", "c", "c", "c"])
    expected = connection.execute("SELECT hash('a'), hash('c')").fetchone()
    assert expected is not None
    assert np.array_equal(repeated_key_hashes(connection, "t"), np.sort(np.array(expected, dtype=np.uint64)))


def test_a_table_without_repeated_keys_is_read_as_is_with_nothing_superseded() -> None:
    connection = duckdb.connect()
    _table(connection, ["a", "b", "c"])
    relation = versions_by_candidates_sql(connection, "t", "_unused")
    rows = connection.execute(f"SELECT count(*), count(_superseded_at) FROM ({relation})").fetchone()
    assert rows == (3, 0)


def test_versions_of_repeated_keys_are_superseded_by_the_next_delivery() -> None:
    connection = duckdb.connect()
    _table(connection, ["a", "b", "a"])
    relation = versions_by_candidates_sql(connection, "t", "_repeated_test")
    rows = connection.execute(
        f"SELECT _record_key, _delivered_at, _superseded_at FROM ({relation}) ORDER BY 1, 2"
    ).fetchall()
    assert [(key, superseded is None) for key, _, superseded in rows] == [
        ("a", False),
        ("a", True),
        ("b", True),
    ]
    assert rows[0][2] == rows[1][1]


def test_the_person_of_each_landed_row_is_its_cohort_index_and_minus_one_outside(tmp_path) -> None:
    paths = []
    for number, keys in enumerate((["b", "x", "a", "b", None], ["c", "a"])):
        path = tmp_path / f"part-{number}.parquet"
        pq.write_table(pa.table({"person_key": pa.array(keys, pa.string())}), path, row_group_size=2)
        paths.append(path)
    files = TableFiles({"t": paths, "empty": []}, pa.array(["a", "b", "c"]))
    assert files.persons_of_rows("t").tolist() == [1, -1, 0, 1, -1, 2, 0]
    assert files.tables == {"t"}


def test_landed_rows_carry_their_row_number_across_the_files_in_person_key(tmp_path) -> None:
    paths = []
    for number, values in enumerate(([10, 11, 12], [13, 14])):
        path = tmp_path / f"part-{number}.parquet"
        pq.write_table(pa.table({"person_key": ["a"] * len(values), "v": values}), path, row_group_size=2)
        paths.append(path)
    files = TableFiles({"t": paths}, pa.array(["a"]))
    rows = duckdb.connect().execute(f"SELECT person_key, v FROM {files.rows_sql('t', 100)}").fetchall()
    assert sorted(rows) == [(100, 10), (101, 11), (102, 12), (103, 13), (104, 14)]
