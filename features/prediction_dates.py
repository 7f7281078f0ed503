"""Prediction dates: choosing them (monthly or quarterly) and handing them to DuckDB."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Literal, TypeAlias

import duckdb
import numpy as np
import pandas as pd

Frequency = Literal["month", "quarter"]
# What pd.Timestamp() accepts as one date: an ISO string, a date/datetime (a Timestamp is one), a datetime64.
DateLike: TypeAlias = str | date | np.datetime64


def normalise_prediction_dates(prediction_dates: Sequence[object]) -> list[pd.Timestamp]:
    """Sorted, distinct, timezone-naive timestamps; raises ValueError when empty or unparseable."""
    if len(prediction_dates) == 0:
        raise ValueError("No prediction dates given; pass at least one date (e.g. 2023-01-01).")
    try:
        stamps = pd.to_datetime(pd.Series(list(prediction_dates)))
    except (ValueError, TypeError) as error:
        raise ValueError(f"Prediction dates must be dates or ISO strings: {error}") from None
    if stamps.isna().any():
        raise ValueError("A prediction date is missing (NaT); give every date explicitly.")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(None)
    return [pd.Timestamp(value) for value in sorted(set(stamps.astype("datetime64[us]")))]


def choose_prediction_dates(start: DateLike, end: DateLike, every: Frequency = "month") -> list[pd.Timestamp]:
    """First days of months (or of quarters: January, April, July, October) from ``start`` to ``end``,
    both inclusive; ``start`` is rounded up to the next such first day."""
    if every not in ("month", "quarter"):
        raise ValueError(f"Frequency {every!r} must be 'month' or 'quarter'.")
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    if first > last:
        raise ValueError(f"Start {first.date()} is after end {last.date()}; swap them.")
    step = 1 if every == "month" else 3
    month = pd.Timestamp(year=first.year, month=first.month, day=1)
    if month < first:
        month += pd.DateOffset(months=1)
    while every == "quarter" and (month.month - 1) % 3:
        month += pd.DateOffset(months=1)
    dates = []
    while month <= last:
        dates.append(month)
        month += pd.DateOffset(months=step)
    return dates


@contextmanager
def register_prediction_dates(
    connection: duckdb.DuckDBPyConnection, dates: Sequence[pd.Timestamp]
) -> Iterator[str]:
    """Register the dates as a one-column relation; yields SQL usable after FROM/JOIN (a subquery)."""
    name = f"_tidlig_prediction_dates_{uuid.uuid4().hex}"
    frame = pd.DataFrame({"prediction_date": pd.to_datetime(pd.Series(list(dates))).astype("datetime64[us]")})
    connection.register(name, frame)
    try:
        yield f"(SELECT CAST(prediction_date AS TIMESTAMP) AS prediction_date FROM {name})"
    finally:
        connection.unregister(name)


@contextmanager
def register_frame(connection: duckdb.DuckDBPyConnection, frame: pd.DataFrame, stem: str) -> Iterator[str]:
    """Register a pandas frame under a fresh name for the duration of the block; yields the name."""
    name = f"_tidlig_{stem}_{uuid.uuid4().hex}"
    connection.register(name, frame)
    try:
        yield name
    finally:
        connection.unregister(name)
