"""The scoring date: the latest date the data support by default, refused past the end of the data."""

import datetime as dt

import pandas as pd
import pytest

from screening.as_of import (
    ScoringDateError,
    history_start,
    last_delivery_dates,
    latest_supported_date,
    resolve_scoring_date,
)


def ledger(*rows):
    return pd.DataFrame(
        [
            {"batch_id": f"b{i}", "source": source, "status": status, "delivered_at": pd.Timestamp(day)}
            for i, (source, day, status) in enumerate(rows)
        ]
    )


BATCHES = ledger(
    ("cpr_population", "2024-01-01", "landed"),
    ("cpr_population", "2024-02-01", "landed"),
    ("lpr3_contacts", "2024-02-01", "landed"),
    ("lmdb_prescriptions", "2024-01-01", "landed"),
    ("lmdb_prescriptions", "2024-02-01", "quarantined"),
    ("home_care", "2024-02-14 09:30", "landed"),
    ("lpr2_admissions", "2019-01-01", "landed"),
    ("lmdb_products", "2019-01-01", "landed"),
)


def test_last_delivery_per_source_counts_landed_batches_and_skips_closed_sources():
    assert last_delivery_dates(BATCHES) == {
        "cpr_population": dt.date(2024, 2, 1),
        "home_care": dt.date(2024, 2, 14),
        "lmdb_prescriptions": dt.date(2024, 1, 1),
        "lpr3_contacts": dt.date(2024, 2, 1),
    }


def test_the_latest_supported_date_is_where_every_source_has_delivered():
    assert latest_supported_date(BATCHES) == dt.date(2024, 1, 1)  # prescriptions' February was quarantined
    assert latest_supported_date(BATCHES, ["cpr_population", "lpr3_contacts"]) == dt.date(2024, 2, 1)


def test_no_date_means_the_latest_supported_date():
    assert resolve_scoring_date(None, BATCHES) == dt.date(2024, 1, 1)


def test_a_date_within_one_delivery_cycle_is_allowed():
    assert resolve_scoring_date(dt.date(2024, 1, 29), BATCHES) == dt.date(2024, 1, 29)
    assert resolve_scoring_date(dt.date(2023, 6, 1), BATCHES) == dt.date(2023, 6, 1)


def test_scoring_past_the_end_of_the_data_names_each_sources_last_delivery():
    with pytest.raises(ScoringDateError) as error:
        resolve_scoring_date(dt.date(2026, 12, 1), BATCHES)
    message = str(error.value)
    assert "lmdb_prescriptions 2024-01-01" in message
    assert "cpr_population 2024-02-01" in message
    assert "latest date the data support is 2024-01-01" in message
    assert "without --as-of" in message
    assert "lpr2_admissions" not in message


def test_an_empty_warehouse_or_a_missing_needed_source_says_to_ingest():
    with pytest.raises(ScoringDateError, match="tidlig ingest"):
        latest_supported_date(ledger())
    with pytest.raises(ScoringDateError, match="falls"):
        latest_supported_date(BATCHES, ["falls", "cpr_population"])


def test_the_real_warehouse_ledger_gives_the_data_end(tmp_path):
    from warehouse import BatchRecord, Warehouse

    warehouse = Warehouse(tmp_path / "warehouse")
    for number, (source, day) in enumerate((("weights", "2024-01-01"), ("falls", "2024-03-01"))):
        rows = pd.DataFrame(
            {
                "person_key": ["p1"],
                "value": [1.0],
                "_record_key": [f"{source}:p1"],
                "_valid_time": pd.Timestamp("2023-12-01" if source == "falls" else "2023-06-01"),
                "_delivered_at": pd.Timestamp(day),
                "_ingested_at": pd.Timestamp("2026-01-01"),
                "_batch_id": f"b{number}",
            }
        )
        record = BatchRecord(
            batch_id=f"b{number}",
            source=source,
            delivery=day,
            content_sha256=f"{number:064d}",
            rows=1,
            contract_version="1.0.0",
            delivered_at=pd.Timestamp(day),
            ingested_at=pd.Timestamp("2026-01-01"),
            status="landed",
            table_name=source,
            key_version="test-1",
        )
        warehouse.land_batch(rows, record)
    assert resolve_scoring_date(None, warehouse.batches()) == dt.date(2024, 1, 1)
    connection = warehouse.connect()
    assert history_start(connection, ("weights", "falls", "home_care")) == dt.date(2023, 12, 1)
    assert history_start(connection, ("home_care",)) is None
    connection.close()
    with pytest.raises(ScoringDateError, match="falls 2024-03-01; weights 2024-01-01"):
        resolve_scoring_date(dt.date(2025, 1, 1), warehouse.batches())
