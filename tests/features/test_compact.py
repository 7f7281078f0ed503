"""The compact form's version look-up: which record keys can have been corrected."""

import duckdb
import numpy as np

from features.compact import repeated_key_hashes, versions_by_candidates_sql


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
