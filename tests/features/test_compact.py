"""The compact form's version look-up: which record keys can have been corrected."""

import duckdb
import numpy as np

from features.compact import LANDED_KEY_HASH, repeated_key_hashes, versions_by_candidates_sql


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
    repeated = repeated_key_hashes(connection, "t")
    assert np.array_equal(repeated.hashes, np.sort(np.array(expected, dtype=np.uint64)))
    assert repeated.expression == "hash(_record_key)"  # no landed hash in this table


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


def _with_landed_hash(connection: duckdb.DuckDBPyConnection, hashes: dict[str, int | None]) -> None:
    """Add the landed hash column with the given value per record key (None: a row without one)."""
    cases = " ".join(
        f"WHEN '{key}' THEN {'NULL' if value is None else value}" for key, value in hashes.items()
    )
    connection.execute(f"ALTER TABLE t ADD COLUMN {LANDED_KEY_HASH} UBIGINT")
    connection.execute(f"UPDATE t SET {LANDED_KEY_HASH} = CASE _record_key {cases} END")


def test_the_landed_key_hash_is_read_when_every_row_has_one() -> None:
    connection = duckdb.connect()
    _table(connection, ["a", "b", "a", "c"])
    _with_landed_hash(connection, {"a": 7, "b": 11, "c": 13})
    repeated = repeated_key_hashes(connection, "t")
    assert repeated.expression == LANDED_KEY_HASH
    assert repeated.hashes.tolist() == [7]


def test_a_table_where_some_rows_have_no_landed_hash_hashes_every_key_itself() -> None:
    """Batches landed before the column existed have none; mixing the two hashes would hide corrections."""
    connection = duckdb.connect()
    _table(connection, ["a", "b", "a", "c"])
    _with_landed_hash(connection, {"a": 7, "b": 11, "c": None})
    repeated = repeated_key_hashes(connection, "t")
    assert repeated.expression == "hash(_record_key)"
    expected = connection.execute("SELECT hash('a')").fetchone()
    assert expected is not None
    assert repeated.hashes.tolist() == [expected[0]]


def test_the_versions_are_the_same_read_through_the_landed_hash_or_through_the_keys() -> None:
    keys = ["a", "b", "a", "c", "c", "d", "a"]
    plain, landed = duckdb.connect(), duckdb.connect()
    _table(plain, keys)
    _table(landed, keys)
    _with_landed_hash(landed, {"a": 1, "b": 1, "c": 2, "d": 3})  # a and b collide: more exact work, same rows
    query = "SELECT _record_key, _delivered_at, _superseded_at FROM ({}) ORDER BY 1, 2"
    rows = [
        connection.execute(query.format(versions_by_candidates_sql(connection, "t", "_r"))).fetchall()
        for connection in (plain, landed)
    ]
    assert rows[0] == rows[1]
    assert sum(superseded is not None for _, _, superseded in rows[0]) == 3  # a twice, c once
