"""Is the data fresh and whole enough to publish? Checks on the warehouse catalog's ``batches`` table.

A source blocks publishing when its most recent delivery was quarantined and no batch of that source
delivered at the same time or later has landed since (a fixed re-delivery clears the block). Older
quarantined deliveries that were followed by landed ones do not block: the ingest layer reports those.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

BATCH_COLUMNS = ("batch_id", "source", "delivered_at", "ingested_at", "status")


def blocking_quarantines(batches: pd.DataFrame, needed_sources: Iterable[str] | None = None) -> list[str]:
    """Sorted names of the needed sources whose latest delivery is quarantined and not yet re-landed.

    ``batches`` has at least the columns in :data:`BATCH_COLUMNS` (status ``landed`` or ``quarantined``).
    ``needed_sources`` None means every source in the catalog is needed.
    """
    missing = set(BATCH_COLUMNS) - set(batches.columns)
    if missing:
        raise ValueError(f"The batches table lacks column(s) {sorted(missing)}; expected {BATCH_COLUMNS}.")
    needed = None if needed_sources is None else set(needed_sources)
    frame = batches.assign(
        _delivered=pd.to_datetime(batches["delivered_at"]), _ingested=pd.to_datetime(batches["ingested_at"])
    )
    blocked = []
    for source, rows in frame.groupby("source", sort=True):
        if needed is not None and source not in needed:
            continue
        latest_delivery = rows["_delivered"].max()
        latest = rows.loc[rows["_delivered"] == latest_delivery]
        if (latest["status"] == "landed").any():
            continue
        quarantined_at = latest["_ingested"].max()
        relanded = rows.loc[
            (rows["status"] == "landed")
            & (rows["_delivered"] >= latest_delivery)
            & (rows["_ingested"] > quarantined_at)
        ]
        if relanded.empty:
            blocked.append(str(source))
    return blocked


def landed_batch_ids(batches: pd.DataFrame, delivered_before: pd.Timestamp | None = None) -> list[str]:
    """Sorted IDs of the landed batches (optionally only those delivered at or before a moment)."""
    landed = batches.loc[batches["status"] == "landed"]
    if delivered_before is not None:
        landed = landed.loc[pd.to_datetime(landed["delivered_at"]) <= delivered_before]
    return sorted(landed["batch_id"].astype(str))
