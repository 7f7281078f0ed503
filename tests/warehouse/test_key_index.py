"""The key index: written once per set of landed files, used only for exactly those files (D152)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.conform import record_key_hashes
from features import compact
from features.compact import repeated_key_hashes
from features.known_rows import existing_relations
from tests.warehouse.batches import weights_batch
from warehouse import Warehouse
from warehouse.key_index import INDEX_DIR, RECORD_KEY_HASH, index_relation, read_index, repeated


def _rows(batch_id: str, delivered_at: str, records: dict[str, float]) -> pd.DataFrame:
    keys = pd.Series([f"weights:{record}" for record in records])
    return pd.DataFrame(
        {
            "person_key": [record.split("-")[0] for record in records],
            "weight_kg": list(records.values()),
            "_record_key": keys,
            RECORD_KEY_HASH: record_key_hashes(keys),
            "_valid_time": pd.Timestamp("2021-01-05"),
            "_delivered_at": pd.Timestamp(delivered_at),
            "_ingested_at": pd.Timestamp("2026-01-01"),
            "_batch_id": batch_id,
        }
    )


def _land(store: Warehouse, batch_id: str, delivered_at: str, records: dict[str, float]) -> None:
    store.land_batch(
        _rows(batch_id, delivered_at, records),
        weights_batch(batch_id, f"sha-{batch_id}", delivered_at, len(records)),
    )


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    store = Warehouse(tmp_path / "warehouse")
    _land(store, "b1", "2021-02-01", {"a-1": 70.0, "b-1": 60.0, "c-1": 80.0})
    _land(store, "b2", "2021-03-01", {"a-1": 71.0})  # a correction: record a-1 now has two versions
    return store


def _hashes_from_rows(connection) -> np.ndarray:
    values = connection.execute(f"SELECT {RECORD_KEY_HASH} FROM weights").fetchnumpy()[RECORD_KEY_HASH]
    return repeated(np.asarray(values, dtype=np.uint64))


def test_the_index_holds_the_keys_that_repeat_and_a_connection_reads_it(warehouse: Warehouse) -> None:
    assert warehouse.refresh_key_index() == ["weights"]
    connection = warehouse.connect()
    stored = connection.execute(f"SELECT * FROM {index_relation('weights')}").fetchnumpy()["_key_hash"]
    np.testing.assert_array_equal(stored, _hashes_from_rows(connection))
    assert stored.size == 1  # a-1 only


def test_a_current_index_is_not_written_again(warehouse: Warehouse) -> None:
    warehouse.refresh_key_index()
    assert warehouse.refresh_key_index() == []


def test_after_a_new_batch_the_old_index_is_not_used_until_the_next_refresh(warehouse: Warehouse) -> None:
    warehouse.refresh_key_index()
    _land(warehouse, "b3", "2021-04-01", {"b-1": 61.0})
    connection = warehouse.connect()
    assert index_relation("weights") not in existing_relations(connection)
    # read the slow way meanwhile, with the new repeat in it
    assert repeated_key_hashes(connection, "weights").hashes.size == 2
    assert warehouse.refresh_key_index() == ["weights"]
    assert index_relation("weights") in existing_relations(warehouse.connect())


def test_the_engine_takes_the_repeats_from_the_index_without_reading_the_table(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse.refresh_key_index()
    expected = _hashes_from_rows(warehouse.connect())

    def no_scan(*_args: object) -> None:
        raise AssertionError("the table's hashes were read although the index is current")

    monkeypatch.setattr(compact, "landed_repeated_hashes", no_scan)
    found = repeated_key_hashes(warehouse.connect(), '"weights"')
    np.testing.assert_array_equal(found.hashes, expected)
    assert found.expression == RECORD_KEY_HASH


def test_a_damaged_index_file_is_ignored_and_rewritten(warehouse: Warehouse) -> None:
    warehouse.refresh_key_index()
    path = warehouse.root / INDEX_DIR / "weights.parquet"
    path.write_bytes(b"not parquet")
    assert index_relation("weights") not in existing_relations(warehouse.connect())
    assert warehouse.refresh_key_index() == ["weights"]


def test_an_index_of_other_files_is_refused_by_its_identity(warehouse: Warehouse) -> None:
    warehouse.refresh_key_index()
    assert read_index(warehouse.root, "weights", "0" * 64) is None


def test_a_copied_warehouse_keeps_its_index(warehouse: Warehouse, tmp_path: Path) -> None:
    warehouse.refresh_key_index()
    copy = Warehouse(Path(shutil.copytree(warehouse.root, tmp_path / "copy")))
    assert index_relation("weights") in existing_relations(copy.connect())


def test_a_table_without_landed_hashes_gets_no_index(tmp_path: Path) -> None:
    store = Warehouse(tmp_path / "warehouse")
    rows = _rows("b1", "2021-02-01", {"a-1": 70.0}).drop(columns=[RECORD_KEY_HASH])
    store.land_batch(rows, weights_batch("b1", "sha-b1", "2021-02-01", 1))
    assert store.refresh_key_index() == []
    assert not (store.root / INDEX_DIR / "weights.parquet").exists()


def test_deleting_the_index_changes_no_feature_value(warehouse: Warehouse) -> None:
    warehouse.refresh_key_index()
    connection = warehouse.connect()
    with_index = compact.versions_by_candidates_sql(connection, "weights", "_r1")
    indexed = connection.sql(f"SELECT * FROM ({with_index}) ORDER BY _record_key, _delivered_at").df()
    shutil.rmtree(warehouse.root / INDEX_DIR)
    connection = warehouse.connect()
    plain = compact.versions_by_candidates_sql(connection, "weights", "_r2")
    unindexed = connection.sql(f"SELECT * FROM ({plain}) ORDER BY _record_key, _delivered_at").df()
    pd.testing.assert_frame_equal(indexed, unindexed)
    assert indexed["_superseded_at"].notna().sum() == 1
