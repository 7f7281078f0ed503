"""A source blocks publishing while its latest delivery is quarantined and not re-landed."""

import pandas as pd

from screening.quarantine import blocking_quarantines, landed_batch_ids


def batches(rows):
    return pd.DataFrame(rows, columns=["batch_id", "source", "delivered_at", "ingested_at", "status"])


def test_latest_delivery_quarantined_blocks_that_source():
    frame = batches(
        [
            ("b1", "lpr3_contacts", "2024-01-01", "2024-01-02", "landed"),
            ("b2", "lpr3_contacts", "2024-02-01", "2024-02-02", "quarantined"),
            ("b3", "weights", "2024-02-01", "2024-02-02", "landed"),
        ]
    )
    assert blocking_quarantines(frame) == ["lpr3_contacts"]


def test_a_corrected_redelivery_that_landed_clears_the_block():
    frame = batches(
        [
            ("b2", "lpr3_contacts", "2024-02-01", "2024-02-02", "quarantined"),
            ("b4", "lpr3_contacts", "2024-02-01", "2024-02-05", "landed"),
        ]
    )
    assert blocking_quarantines(frame) == []


def test_an_old_quarantine_followed_by_landed_deliveries_does_not_block():
    frame = batches(
        [
            ("b1", "falls", "2024-01-01", "2024-01-02", "quarantined"),
            ("b2", "falls", "2024-02-01", "2024-02-02", "landed"),
        ]
    )
    assert blocking_quarantines(frame) == []


def test_sources_the_models_do_not_need_are_ignored():
    frame = batches([("b2", "weights", "2024-02-01", "2024-02-02", "quarantined")])
    assert blocking_quarantines(frame, needed_sources=["lpr3_contacts"]) == []
    assert blocking_quarantines(frame, needed_sources=["weights"]) == ["weights"]


def test_landed_batch_ids_are_sorted_and_limited_to_what_was_delivered_by_the_date():
    frame = batches(
        [
            ("b9", "a", "2024-01-01", "2024-01-02", "landed"),
            ("b1", "a", "2024-03-01", "2024-03-02", "landed"),
            ("b5", "a", "2024-01-01", "2024-01-02", "quarantined"),
        ]
    )
    assert landed_batch_ids(frame) == ["b1", "b9"]
    assert landed_batch_ids(frame, delivered_before=pd.Timestamp("2024-02-01")) == ["b9"]
