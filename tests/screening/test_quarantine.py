"""A source blocks publishing while its latest delivery is quarantined and not re-landed."""

import pandas as pd

from screening.quarantine import (
    blocking_quarantines,
    landed_batch_ids,
    missing_deliveries,
    publication_blockers,
)


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


def ledger(rows):
    """Ledger rows with running numbers: (batch, source, delivery, sequence, previous, status)."""
    return pd.DataFrame(
        [
            {
                "batch_id": batch,
                "source": source,
                "delivery": delivery,
                "delivered_at": delivery,
                "ingested_at": "2024-06-01",
                "status": status,
                "sequence": sequence,
                "previous_delivery": previous,
            }
            for batch, source, delivery, sequence, previous, status in rows
        ]
    )


MONTHLY = {"lmdb_prescriptions": "monthly", "weights": "continuous"}


def test_a_missing_extract_in_the_middle_blocks_with_source_and_period_named():
    frame = ledger(
        [
            ("b1", "lmdb_prescriptions", "2024-01-01", 1, None, "landed"),
            ("b3", "lmdb_prescriptions", "2024-03-01", 3, "2024-02-01", "landed"),
        ]
    )
    (gap,) = missing_deliveries(frame, cadences=MONTHLY)
    assert (gap.source, gap.period, gap.sequence, gap.status) == (
        "lmdb_prescriptions",
        "2024-02-01",
        2,
        "never delivered",
    )
    (reason,) = publication_blockers(frame, ["lmdb_prescriptions"], cadences=MONTHLY)
    assert "lmdb_prescriptions" in reason
    assert "2024-02-01" in reason
    assert blocking_quarantines(frame) == []  # the old check alone let this through


def test_a_quarantined_extract_in_the_middle_is_a_gap_until_it_is_re_landed():
    rows = [
        ("b1", "lmdb_prescriptions", "2024-01-01", 1, None, "landed"),
        ("b2", "lmdb_prescriptions", "2024-02-01", 2, "2024-01-01", "quarantined"),
        ("b3", "lmdb_prescriptions", "2024-03-01", 3, "2024-02-01", "landed"),
    ]
    (gap,) = missing_deliveries(ledger(rows), cadences=MONTHLY)
    assert gap.status == "quarantined, not re-landed"
    rows.append(("b2-fixed", "lmdb_prescriptions", "2024-02-01", 2, "2024-01-01", "landed"))
    assert missing_deliveries(ledger(rows), cadences=MONTHLY) == []


def test_a_gap_in_a_source_the_lists_do_not_need_does_not_block_them():
    frame = ledger(
        [
            ("b1", "lmdb_prescriptions", "2024-01-01", 1, None, "landed"),
            ("b3", "lmdb_prescriptions", "2024-03-01", 3, "2024-02-01", "landed"),
        ]
    )
    assert publication_blockers(frame, ["cpr_population"], cadences=MONTHLY) == []


def test_without_running_numbers_every_month_between_first_and_latest_extract_is_expected():
    frame = ledger(
        [
            ("b1", "lmdb_prescriptions", "2024-01-01", None, None, "landed"),
            ("b3", "lmdb_prescriptions", "2024-03-01", None, None, "landed"),
            ("w1", "weights", "2024-01-05", None, None, "landed"),
            ("w3", "weights", "2024-03-05", None, None, "landed"),
        ]
    )
    (gap,) = missing_deliveries(frame, cadences=MONTHLY)
    assert (gap.source, gap.period) == ("lmdb_prescriptions", "2024-02")


def test_scoring_as_of_a_date_ignores_deliveries_made_after_it():
    frame = ledger(
        [
            ("b1", "lmdb_prescriptions", "2024-01-01", 1, None, "landed"),
            ("b3", "lmdb_prescriptions", "2024-03-01", 3, "2024-02-01", "landed"),
        ]
    )
    assert missing_deliveries(frame, cadences=MONTHLY, delivered_before=pd.Timestamp("2024-01-31")) == []


def test_the_existing_checks_still_accept_a_ledger_without_running_numbers():
    frame = batches([("b1", "deaths", "2024-01-01", "2024-01-02", "landed")])
    assert publication_blockers(frame, cadences={"deaths": "monthly"}) == []
