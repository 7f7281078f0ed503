"""Warehouse: atomic landing, exactly-once ledger, committed-only views and reads as known at a date."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.warehouse.batches import weights_batch
from warehouse import AlreadyIngestedError, BatchRecord, Warehouse


def _rows(batch_id: str, delivered_at: str, values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_key": list(values),
            "weight_kg": list(values.values()),
            "_record_key": [f"weights:{key}" for key in values],
            "_valid_time": pd.Timestamp("2021-01-05"),
            "_delivered_at": pd.Timestamp(delivered_at),
            "_ingested_at": pd.Timestamp("2026-01-01"),
            "_batch_id": batch_id,
        }
    )


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    store = Warehouse(tmp_path / "warehouse")
    store.land_batch(
        _rows("b1", "2021-02-01", {"a": 70.0, "b": 60.0}), weights_batch("b1", "sha1", "2021-02-01")
    )
    return store


def test_landed_batch_is_visible_in_the_view_and_the_ledger(warehouse: Warehouse) -> None:
    connection = warehouse.connect(read_only=True)
    assert connection.execute("SELECT count(*) FROM weights").fetchone() == (2,)
    assert connection.execute("SELECT status FROM batches").fetchall() == [("landed",)]
    assert warehouse.seen_hashes("weights") == {"sha1"}


def test_the_same_content_never_lands_twice(warehouse: Warehouse) -> None:
    with pytest.raises(AlreadyIngestedError):
        warehouse.land_batch(
            _rows("b2", "2021-02-01", {"a": 70.0}), weights_batch("b2", "sha1", "2021-02-01")
        )
    assert len(warehouse.table("weights")) == 2
    assert not (warehouse.root / "weights" / "batch=b2").exists()


def test_an_uncommitted_partition_is_invisible_and_removed(warehouse: Warehouse) -> None:
    orphan = warehouse.root / "weights" / "batch=crashed"
    orphan.mkdir()
    _rows("crashed", "2021-03-01", {"c": 1.0}).to_parquet(orphan / "part-0.parquet")
    assert len(warehouse.table("weights")) == 2
    assert warehouse.remove_uncommitted_partitions() == [orphan]
    assert not orphan.exists()
    assert (warehouse.root / "weights" / "batch=b1").exists()


def test_a_correction_supersedes_from_its_delivery_date_without_erasing_history(warehouse: Warehouse) -> None:
    warehouse.land_batch(_rows("b2", "2021-03-01", {"a": 68.0}), weights_batch("b2", "sha2", "2021-03-01", 1))
    assert len(warehouse.table("weights")) == 3  # all versions kept
    before = warehouse.table("weights", as_known_at="2021-02-15").set_index("person_key")["weight_kg"]
    after = warehouse.table("weights", as_known_at="2021-03-15").set_index("person_key")["weight_kg"]
    assert before.to_dict() == {"a": 70.0, "b": 60.0}
    assert after.to_dict() == {"a": 68.0, "b": 60.0}


def test_nothing_is_known_before_the_first_delivery(warehouse: Warehouse) -> None:
    assert warehouse.table("weights", as_known_at="2021-01-31").empty


def test_quarantined_batches_are_in_the_ledger_but_not_in_views(warehouse: Warehouse) -> None:
    record = weights_batch("q1", "sha-bad", "2021-03-01")
    warehouse.record_quarantined(record)
    assert warehouse.seen_hashes("weights") == {"sha1", "sha-bad"}
    assert len(warehouse.table("weights")) == 2
    assert warehouse.batches().set_index("batch_id").loc["q1", "status"] == "quarantined"


def test_an_empty_warehouse_reads_as_empty(tmp_path: Path) -> None:
    store = Warehouse(tmp_path / "nothing")
    assert store.batches().empty
    assert store.table("weights").empty
    assert store.tables() == []


def test_only_one_writer_at_a_time(warehouse: Warehouse) -> None:
    from warehouse import CatalogBusyError

    with warehouse.writer_lock(), pytest.raises(CatalogBusyError), Warehouse(warehouse.root).writer_lock():
        pass


def test_a_tie_in_delivery_time_goes_to_the_later_landing_then_the_greater_batch(tmp_path: Path) -> None:
    store = Warehouse(tmp_path / "warehouse")
    first = _rows("b2", "2021-02-01", {"a": 70.0, "b": 60.0}).assign(_ingested_at=pd.Timestamp("2026-01-02"))
    second = _rows("b1", "2021-02-01", {"a": 71.0}).assign(_ingested_at=pd.Timestamp("2026-01-03"))
    third = _rows("b3", "2021-02-01", {"b": 61.0}).assign(_ingested_at=pd.Timestamp("2026-01-02"))
    store.land_batch(first, weights_batch("b2", "sha-b2", "2021-02-01"))
    store.land_batch(second, weights_batch("b1", "sha-b1", "2021-02-01", 1))
    store.land_batch(third, weights_batch("b3", "sha-b3", "2021-02-01", 1))
    known = store.table("weights", as_known_at="2021-03-01").set_index("person_key")["weight_kg"]
    assert known.to_dict() == {"a": 71.0, "b": 61.0}


def test_an_older_catalog_gains_the_new_ledger_columns_in_place(tmp_path: Path) -> None:
    import duckdb

    tmp_path.mkdir(exist_ok=True)
    old = duckdb.connect(str(tmp_path / "catalog.duckdb"))
    old.execute(
        "CREATE TABLE batches (batch_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, delivery VARCHAR NOT "
        "NULL, content_sha256 VARCHAR NOT NULL, rows BIGINT NOT NULL, contract_version VARCHAR NOT NULL, "
        "delivered_at TIMESTAMP, ingested_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL, table_name VARCHAR,"
        " key_version VARCHAR, partition_path VARCHAR, report VARCHAR)"
    )
    old.execute(
        "INSERT INTO batches VALUES ('old', 'weights', '2021-01-01', 'sha-old', 2, '1.0.0', '2021-01-01', "
        "'2026-01-01', 'quarantined', 'weights', 'test-1', NULL, NULL)"
    )
    old.close()
    store = Warehouse(tmp_path)
    assert store.batches()["attempt"].tolist() == [0]
    store.land_batch(_rows("b1", "2021-02-01", {"p1": 70.0}), weights_batch("b1", "sha-1", "2021-02-01"))
    ledger = store.batches()
    assert {"sequence", "previous_delivery", "held_by", "attempt"} <= set(ledger.columns)
    assert sorted(ledger["batch_id"]) == ["b1", "old"]


def test_a_held_batch_released_for_retry_may_land_once(tmp_path: Path) -> None:
    store = Warehouse(tmp_path)
    held = BatchRecord(
        **{
            **weights_batch("held", "sha-h", "2021-01-01").__dict__,
            "status": "quarantined",
            "held_by": "cpr_population",
        }
    )
    store.record_quarantined(held)
    assert list(store.held_batches("weights")["batch_id"]) == ["held"]
    with pytest.raises(AlreadyIngestedError):
        store.land_batch(
            _rows("retry", "2021-01-01", {"p1": 1.0}), weights_batch("retry", "sha-h", "2021-01-01")
        )
    store.release_for_retry(["held"])
    assert store.released_hashes("weights") == {"sha-h"}
    assert "sha-h" not in store.seen_hashes("weights")
    retry = BatchRecord(**{**weights_batch("retry", "sha-h", "2021-01-01").__dict__, "attempt": 1})
    store.land_batch(_rows("retry", "2021-01-01", {"p1": 1.0}), retry)
    assert store.released_hashes("weights") == set()
    assert store.held_batches().empty
    with pytest.raises(AlreadyIngestedError):
        store.land_batch(
            _rows("again", "2021-01-01", {"p1": 1.0}), weights_batch("again", "sha-h", "2021-01-01")
        )


def test_the_key_fingerprint_is_recorded_once_and_another_one_is_refused(tmp_path: Path) -> None:
    from warehouse import PseudonymKeyMismatchError

    store = Warehouse(tmp_path)
    store.verify_key("fp-1", "v1")  # an empty warehouse accepts any key
    store.register_key("fp-1", "v1")
    store.register_key("fp-2", "v2")  # not replaced: only a rotation retires a key
    assert store.active_key() == ("fp-1", "v1")
    store.verify_key("fp-1", "v1")
    with pytest.raises(PseudonymKeyMismatchError, match="rotate-key"):
        store.verify_key("fp-2", "v2")


def test_connections_of_one_ledger_share_the_views_and_a_new_batch_gives_new_ones(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = []
    database = Warehouse._database

    def counted(self: Warehouse, batches: pd.DataFrame):
        built.append(len(batches))
        return database(self, batches)

    monkeypatch.setattr(Warehouse, "_database", counted)
    first, second = warehouse.connect(), warehouse.connect()
    assert second.execute("SELECT count(*) FROM weights").fetchone() == (2,)
    warehouse.land_batch(_rows("b2", "2021-03-01", {"c": 80.0}), weights_batch("b2", "sha2", "2021-03-01", 1))
    third = warehouse.connect()
    assert third.execute("SELECT count(*) FROM weights").fetchone() == (3,)
    assert third.execute("SELECT count(*) FROM batches").fetchone() == (2,)
    assert first.execute("SELECT count(*) FROM weights").fetchone() == (2,)  # as of its own call
    assert built == [1, 2]  # once per ledger state: the second connection reused the first one's


def test_a_connection_keeps_its_temporary_tables_and_frames_to_itself(warehouse: Warehouse) -> None:
    one, other = warehouse.connect(), warehouse.connect()
    one.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS x")
    one.register("frame", pd.DataFrame({"x": [1]}))
    names = {row[0] for row in other.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert not {"scratch", "frame"} & names
    one.close()
    assert other.execute("SELECT count(*) FROM weights").fetchone() == (2,)  # closing one leaves the rest
