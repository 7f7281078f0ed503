"""Data quality over time: per source and month, what was delivered and what became of it.

One row per (source, month of delivery) from the warehouse ledger (``Warehouse.batches()``), as known at
the monitor date (deliveries dated after it are not counted): deliveries (batches), landed, quarantined,
held (quarantined only because an upstream source had not landed; retried once it does), landed batches
with warnings, rows landed, rows refused (in quarantined batches, or left out of landed ones by a
row-level rule), expected extracts missing (``screening.quarantine.missing_deliveries``: a month without
any landed extract, or a gap in the supplier's running numbers), and the batch reports to open (folders
under the quarantine folder, relative to it).

Row counts count records about persons, so a count of 1-4 is withheld (``privacy.shown_count``) and the
row says ``suppressed``; batch counts count deliveries, not persons, and are shown as they are. No
pseudonym, value or file content is read: only the ledger's counts, dates, statuses and report paths.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from privacy import shown_count
from screening.quarantine import DeliveryGap, missing_deliveries

QUALITY_COLUMNS = (
    "source",
    "month",
    "deliveries",
    "landed",
    "quarantined",
    "held",
    "warnings",
    "missing",
    "rows_landed",
    "rows_refused",
    "suppressed",
    "reports",
)


def _report(text: object) -> dict[str, Any]:
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _relative_folder(path: object, quarantine_dir: Path | None) -> str | None:
    """The report's folder relative to the quarantine folder; None when it lies elsewhere."""
    if not isinstance(path, str) or quarantine_dir is None:
        return None
    folder = Path(path).parent
    try:
        return folder.resolve().relative_to(quarantine_dir.resolve()).as_posix()
    except ValueError:
        return None


def _gap_month(gap: DeliveryGap) -> str | None:
    try:
        return str(pd.Period(str(gap.period)[:7], freq="M"))
    except ValueError:
        return None


def ledger_seen(batches: pd.DataFrame, as_of: dt.date) -> list[str]:
    """What a monitor run at ``as_of`` saw of the ledger: ``batch_id:status`` of every delivery dated up to
    ``as_of`` (the deliveries :func:`data_quality_rows` counts and today's features are built from),
    sorted. A delivery landed, quarantined or released since then changes it; an identical ledger gives
    the same list. Batch IDs and statuses only: no row values."""
    if batches.empty:
        return []
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    delivered = pd.to_datetime(batches["delivered_at"])
    known = batches.loc[delivered.notna() & (delivered < end)]
    return sorted(
        f"{batch_id}:{status}"
        for batch_id, status in zip(known["batch_id"].astype(str), known["status"].astype(str), strict=True)
    )


def data_quality_rows(
    batches: pd.DataFrame,
    as_of: dt.date,
    *,
    quarantine_dir: Path | None = None,
    cadences: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Rows of :data:`QUALITY_COLUMNS`, sorted by source and month, for the deliveries dated up to
    ``as_of``. ``cadences`` (source -> ``monthly``/``once``/``continuous``) default to the contracts'."""
    if batches.empty:
        return pd.DataFrame(columns=list(QUALITY_COLUMNS))
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    frame = batches.assign(_delivered=pd.to_datetime(batches["delivered_at"]))
    frame = frame.loc[frame["_delivered"].notna() & (frame["_delivered"] < end)]
    frame = frame.assign(_month=frame["_delivered"].dt.to_period("M").astype(str))
    gaps = missing_deliveries(frame.drop(columns=["_month"]), cadences=cadences, delivered_before=end)
    missing: dict[tuple[str, str], int] = {}
    for gap in gaps:
        month = _gap_month(gap)
        if month is not None:
            missing[(gap.source, month)] = missing.get((gap.source, month), 0) + 1
    keys = set(zip(frame["source"].astype(str), frame["_month"], strict=True)) | set(missing)
    rows = []
    for source, month in sorted(keys):
        mine = frame.loc[(frame["source"] == source) & (frame["_month"] == month)]
        landed = mine.loc[mine["status"] == "landed"]
        quarantined = mine.loc[mine["status"] == "quarantined"]
        held_by = quarantined["held_by"] if "held_by" in quarantined else pd.Series(dtype=object)
        reports = [_report(text) for text in mine["report"]] if "report" in mine else []
        row_rule_refused = sum(
            int(report.get("rows_quarantined") or 0)
            for report, status in zip(reports, mine["status"], strict=True)
            if status == "landed"
        )
        rows_landed = int(pd.to_numeric(landed["rows"], errors="coerce").fillna(0).sum())
        rows_refused = int(pd.to_numeric(quarantined["rows"], errors="coerce").fillna(0).sum())
        rows_refused += row_rule_refused
        shown_landed, shown_refused = shown_count(rows_landed), shown_count(rows_refused)
        folders = sorted(
            {
                folder
                for report in reports
                if (folder := _relative_folder(report.get("report"), quarantine_dir)) is not None
            }
        )
        rows.append(
            {
                "source": source,
                "month": month,
                "deliveries": len(mine),
                "landed": len(landed),
                "quarantined": len(quarantined),
                "held": int(held_by.notna().sum()) + int((mine["status"] == "released").sum()),
                "warnings": sum(
                    1
                    for report, status in zip(reports, mine["status"], strict=True)
                    if status == "landed" and report.get("warnings")
                ),
                "missing": missing.get((source, month), 0),
                "rows_landed": shown_landed,
                "rows_refused": shown_refused,
                "suppressed": shown_landed is None or shown_refused is None,
                "reports": folders,
            }
        )
    return pd.DataFrame(rows, columns=list(QUALITY_COLUMNS))
