"""Is the data fresh and whole enough to publish? Checks on the warehouse catalog's ``batches`` table.

Two checks, both on the ledger only:

- ``blocking_quarantines``: a source blocks publishing when its most recent delivery was quarantined and no
  batch of that source delivered at the same time or later has landed since (a fixed re-delivery clears it).
- ``missing_deliveries``: the expected sequence of deliveries per source. Where the supplier ships control
  totals, each delivery carries a running number and names the previous extract; a number with no landed
  batch (never delivered, or quarantined and not re-landed) is a gap. Where no running numbers are known,
  a monthly source must have a landed extract in every month between its first and its latest one.
  Each gap names the source and the period.

``publication_blockers`` combines both into the sentences a refused scoring run records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True)
class DeliveryGap:
    """An expected delivery of a source that has not landed, with the period it covers."""

    source: str
    period: str  # the missing extract's date, or "YYYY-MM" for a month without any extract
    sequence: int | None  # the supplier's running number, where known
    status: str  # "never delivered" or "quarantined, not re-landed"

    def sentence(self) -> str:
        number = f" (no. {self.sequence})" if self.sequence is not None else ""
        return f"{self.source}: the extract for {self.period}{number} is missing ({self.status})"


def _cadences(sources: Iterable[str]) -> dict[str, str]:
    from data_contracts.contract import ContractError, load_contract

    cadences = {}
    for source in sources:
        try:
            cadences[source] = load_contract(source).cadence
        except ContractError:
            cadences[source] = "continuous"
    return cadences


def missing_deliveries(
    batches: pd.DataFrame,
    needed_sources: Iterable[str] | None = None,
    *,
    cadences: Mapping[str, str] | None = None,
    delivered_before: pd.Timestamp | None = None,
) -> list[DeliveryGap]:
    """The gaps in each needed source's expected sequence of deliveries, oldest first per source.

    ``batches`` is the ledger (``Warehouse.batches()``); its optional columns ``sequence`` and
    ``previous_delivery`` come from the suppliers' control totals. ``cadences`` maps source -> ``monthly``,
    ``once`` or ``continuous`` (care records: never a gap); by default the contracts say. With
    ``delivered_before`` only deliveries up to that moment count (scoring as of a date).
    """
    missing = set(BATCH_COLUMNS) - set(batches.columns)
    if missing:
        raise ValueError(f"The batches table lacks column(s) {sorted(missing)}; expected {BATCH_COLUMNS}.")
    frame = batches.assign(_delivered=pd.to_datetime(batches["delivered_at"]))
    if delivered_before is not None:
        frame = frame[frame["_delivered"] <= pd.Timestamp(delivered_before)]
    for column in ("sequence", "previous_delivery", "delivery"):
        if column not in frame.columns:
            frame[column] = None
    sources = sorted(set(frame["source"]) if needed_sources is None else set(needed_sources))
    cadence_of = dict(cadences) if cadences is not None else _cadences(sources)
    gaps: list[DeliveryGap] = []
    for source in sources:
        rows = frame[frame["source"] == source]
        if rows.empty or cadence_of.get(source, "monthly") != "monthly":
            continue
        landed = rows[rows["status"] == "landed"]
        numbered = rows[rows["sequence"].notna()]
        if not numbered.empty:
            gaps += _sequence_gaps(source, rows, landed)
        else:
            gaps += _month_gaps(source, rows, landed)
    return gaps


def _sequence_gaps(source: str, rows: pd.DataFrame, landed: pd.DataFrame) -> list[DeliveryGap]:
    sequence = pd.to_numeric(rows["sequence"], errors="coerce")
    landed_numbers = set(pd.to_numeric(landed["sequence"], errors="coerce").dropna().astype(int))
    if not landed_numbers:
        return []
    first = int(sequence.min())
    label_of: dict[int, str] = {}
    for number, label in zip(sequence, rows["delivery"], strict=True):
        if pd.notna(number):
            label_of.setdefault(int(number), str(label))
    for number, previous in zip(sequence, rows["previous_delivery"], strict=True):
        if pd.notna(number) and isinstance(previous, str) and previous:
            label_of.setdefault(int(number) - 1, previous)
    gaps = []
    for number in range(first, max(landed_numbers) + 1):
        if number in landed_numbers:
            continue
        seen = number in set(sequence.dropna().astype(int))
        gaps.append(
            DeliveryGap(
                source,
                label_of.get(number, f"the delivery between no. {number - 1} and no. {number + 1}"),
                number,
                "quarantined, not re-landed" if seen else "never delivered",
            )
        )
    return gaps


def _month_gaps(source: str, rows: pd.DataFrame, landed: pd.DataFrame) -> list[DeliveryGap]:
    if landed.empty:
        return []
    months = landed["_delivered"].dt.to_period("M")
    quarantined_months = set(rows.loc[rows["status"] == "quarantined", "_delivered"].dt.to_period("M"))
    present = set(months)
    gaps = []
    for month in pd.period_range(months.min(), months.max(), freq="M"):
        if month not in present:
            status = "quarantined, not re-landed" if month in quarantined_months else "never delivered"
            gaps.append(DeliveryGap(source, str(month), None, status))
    return gaps


def publication_blockers(
    batches: pd.DataFrame,
    needed_sources: Iterable[str] | None = None,
    *,
    cadences: Mapping[str, str] | None = None,
    delivered_before: pd.Timestamp | None = None,
) -> list[str]:
    """Every reason not to publish lists that need ``needed_sources``: a latest delivery quarantined and
    not re-landed, and each gap in a source's expected sequence (source and period named). Empty: publish.
    """
    reasons = [
        f"{source}: its latest delivery was quarantined and no corrected delivery has landed since"
        for source in blocking_quarantines(batches, needed_sources)
    ]
    reasons += [
        gap.sentence()
        for gap in missing_deliveries(
            batches, needed_sources, cadences=cadences, delivered_before=delivered_before
        )
    ]
    return reasons
