"""Which date may a list be made for? The data's own end, read from the warehouse's batches ledger.

A list at date t is built from what was delivered by t. Past the last delivery of a source the platform
knows nothing new about it, so scoring "today" years after the data stop would compare a stale
population with the training one and blame drift. Rules:

- the *latest supported date* is the earliest, over the sources that keep delivering, of each source's
  last landed delivery (``delivered_at``): every source has delivered up to it;
- no ``--as-of``: score at the latest supported date;
- an ``--as-of`` later than the latest supported date plus ``tolerance_days`` (one monthly extract cycle by
  default, so weekly lists between monthly registry extracts are fine) is refused with a message naming
  each source's last delivery date.

Sources that stop by design are not waited for: ``lpr2_admissions`` (LPR2 ended in 2019) and
``lmdb_products`` (a reference table delivered once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import duckdb
import pandas as pd

CLOSED_SOURCES = frozenset({"lpr2_admissions", "lmdb_products"})
DEFAULT_TOLERANCE_DAYS = 31


class ScoringDateError(ValueError):
    """The requested scoring date is past the end of the data (or there is no data at all)."""


def last_delivery_dates(
    batches: pd.DataFrame, needed_sources: Iterable[str] | None = None
) -> dict[str, dt.date]:
    """The date of each source's last *landed* delivery (quarantined ones do not count), by source name.

    ``batches`` is the warehouse ledger (``Warehouse.batches()``: ``source``, ``status``, ``delivered_at``).
    ``needed_sources`` None means every source in the ledger except :data:`CLOSED_SOURCES`.
    """
    if batches.empty:
        return {}
    landed = batches.loc[(batches["status"] == "landed") & batches["delivered_at"].notna()]
    latest = pd.to_datetime(landed["delivered_at"]).groupby(landed["source"]).max()
    wanted = set(latest.index) - CLOSED_SOURCES if needed_sources is None else set(needed_sources)
    return {str(source): latest[source].date() for source in sorted(wanted) if source in latest.index}


def latest_supported_date(batches: pd.DataFrame, needed_sources: Iterable[str] | None = None) -> dt.date:
    """The latest date every needed source has delivered up to (see module docstring).

    Raises :class:`ScoringDateError` when no needed source has landed a delivery, or (naming it) when a
    needed source has none.
    """
    needed = None if needed_sources is None else sorted(set(needed_sources))
    dates = last_delivery_dates(batches, needed)
    missing = [] if needed is None else [source for source in needed if source not in dates]
    if missing:
        raise ScoringDateError(
            f"No landed delivery of {', '.join(missing)} in the warehouse. Ingest it (`tidlig ingest`) "
            "before scoring."
        )
    if not dates:
        raise ScoringDateError("The warehouse has no landed delivery. Run `tidlig ingest` first.")
    return min(dates.values())


def resolve_scoring_date(
    requested: dt.date | None,
    batches: pd.DataFrame,
    *,
    needed_sources: Iterable[str] | None = None,
    tolerance_days: int = DEFAULT_TOLERANCE_DAYS,
) -> dt.date:
    """``requested`` if the data support it, the latest supported date when ``requested`` is None.

    Raises :class:`ScoringDateError` for a date past the end of the data; the message names the last
    delivery date of every needed source and says what to do.
    """
    needed = None if needed_sources is None else list(needed_sources)
    latest = latest_supported_date(batches, needed)
    if requested is None:
        return latest
    if requested > latest + dt.timedelta(days=tolerance_days):
        dates = last_delivery_dates(batches, needed)
        listing = "; ".join(f"{source} {day.isoformat()}" for source, day in dates.items())
        raise ScoringDateError(
            f"Cannot score at {requested.isoformat()}: the data end before it. Last delivery per source: "
            f"{listing}. The latest date the data support is {latest.isoformat()} (a list may be made up "
            f"to {tolerance_days} days after it). Score without --as-of to use it, or ingest the missing "
            "deliveries first."
        )
    return requested


# Event tables whose history feeds the windowed features (reference tables and the population are left out).
HISTORY_TABLES = (
    "hospital_contacts",
    "prescriptions",
    "gp_services",
    "fsiii_functional_ability",
    "home_care",
    "home_nursing_visits",
    "falls",
)


def history_start(
    connection: duckdb.DuckDBPyConnection, tables: Sequence[str] = HISTORY_TABLES
) -> dt.date | None:
    """The first date from which every one of ``tables`` that has landed holds history: the latest of
    their earliest ``_valid_time``. None when none has landed.

    Drift checks use it to tell a window longer than the available history (``screening.drift``).
    ``connection`` is ``Warehouse.connect()``.
    """
    present = {
        row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    starts = []
    for table in tables:
        if table in present:
            first = connection.execute(f'SELECT min("_valid_time") FROM "{table}"').fetchone()
            if first and first[0] is not None:
                starts.append(pd.Timestamp(first[0]).date())
    return max(starts) if starts else None
