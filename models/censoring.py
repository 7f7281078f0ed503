"""Inverse probability of censoring weights (IPCW) for labels over a fixed horizon.

A row's label becomes known at its *known time*: the outcome, a competing death, or the end of the
horizon, whichever comes first. The row is censored when its follow-up (leaving the area, or the end of
data) ends before that. Dropping censored rows alone is biased even when leaving has nothing to do with
risk: a row whose event comes early is known before it could leave, a row without an event has to stay
for the whole horizon, so the rows kept hold too many events and a model trained and calibrated on them
overstates risk. Weighting each kept row by ``1 / G(u-)``, the probability of still being followed just
before its known time ``u``, gives back the population the rows were drawn from (inverse probability of
censoring weighting, Robins and Rotnitzky 1992; for risk models e.g. Vock et al. 2016).

``G`` is the Kaplan-Meier estimate of the follow-up time, the end of follow-up being the "event" and the
known time ending a row's time at risk of it, within strata: each prediction date apart (so the end of
data and any change of moving patterns over calendar time are in), crossed with ``STRATUM_COLUMNS``
(age in thirds, sex, living alone) where the frame has them. A stratum with fewer than
``MIN_STRATUM_ROWS`` rows is estimated with the rest of its date instead. ``G`` is floored at
``MIN_FOLLOWED`` so that no row weighs more than 1 / ``MIN_FOLLOWED``. The weights are not rescaled: at
each date they sum to about the number of rows there, censored ones included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.labels import FOLLOW_UP_END

STRATUM_COLUMNS: tuple[str, ...] = ("age_years", "sex_female", "living_alone")
MIN_STRATUM_ROWS = 500
MIN_FOLLOWED = 0.1
_NUMERIC_BINS = 3  # a stratum column with more distinct values than this is cut into thirds


@dataclass(frozen=True)
class CensoringWeights:
    """One weight per row of the frame it was computed for (NaN on censored rows, which are dropped),
    and what the estimate rests on: the strata used, the rows censored, and how many weights were capped."""

    weights: np.ndarray
    strata_columns: tuple[str, ...]
    strata: int
    censored_rows: int
    capped_rows: int


def horizon_months_of(target: str) -> int | None:
    """The horizon of a platform target (``admission_12m`` -> 12), None for a label of one's own."""
    stem, _, horizon = target.rpartition("_")
    if stem and horizon.endswith("m") and horizon[:-1].isdigit():
        return int(horizon[:-1])
    return None


def known_times(frame: pd.DataFrame, target: str, horizon_months: int) -> pd.Series:
    """When each row's label became known: its event, its competing death, else the horizon's end.

    Uses ``<target>_event_date`` and, for admission, ``<target>_competing_death`` with the date of death
    from ``death_<h>m_event_date`` (the labels ``features.labels`` writes). Censored rows get the horizon
    end too; only their follow-up end matters for them.
    """
    t = pd.to_datetime(frame["prediction_date"]).astype("datetime64[us]")
    known = t + pd.DateOffset(months=horizon_months)
    event = frame.get(f"{target}_event_date")
    if event is not None:
        event = pd.to_datetime(event).astype("datetime64[us]")
        known = known.where(event.isna(), event)
    competing = frame.get(f"{target}_competing_death")
    death = frame.get(f"death_{horizon_months}m_event_date")
    if competing is not None:
        if death is None:
            raise ValueError(
                f"The labels mark competing deaths for '{target}' but have no "
                f"'death_{horizon_months}m_event_date' column to date them; rebuild the labels."
            )
        died = competing.fillna(False).astype(bool) & death.notna()
        known = known.where(~died, pd.to_datetime(death).astype("datetime64[us]"))
    return known


def followed_before(times: np.ndarray, ended: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Kaplan-Meier ``G(q-)``: the share still followed just before each time in ``query``.

    ``times`` are the rows' times (days after the prediction date), ``ended`` True where the time is the
    end of follow-up (the event for this estimate) and False where the row left the risk set at a known
    label. A row at risk at time ``s`` has ``times >= s``; an end of follow-up at exactly ``q`` does not
    count for ``G(q-)``.
    """
    ordered = np.sort(times)
    end_times, end_counts = np.unique(times[ended], return_counts=True)
    if end_times.size == 0:
        return np.ones(len(query))
    at_risk = len(times) - np.searchsorted(ordered, end_times, side="left")
    survival = np.cumprod(1.0 - end_counts / at_risk)
    before = np.searchsorted(end_times, query, side="left")
    result: np.ndarray = np.where(before == 0, 1.0, survival[np.maximum(before - 1, 0)])
    return result


def _stratum_codes(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One code per row: the prediction date crossed with each stratum column (numbers cut in thirds)."""
    parts = [pd.to_datetime(frame["prediction_date"]).astype("int64").astype(str)]
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        if values.nunique() > _NUMERIC_BINS:
            edges = np.unique(np.nanquantile(values, [1 / 3, 2 / 3]))
            binned = pd.Series(np.digitize(values, edges), index=frame.index).astype(str)
        else:
            binned = values.astype(str)
        parts.append(binned.where(values.notna(), "missing"))
    code = parts[0]
    for part in parts[1:]:
        code = code + "|" + part
    return code


def censoring_weights(
    frame: pd.DataFrame,
    target: str,
    horizon_months: int,
    *,
    stratum_columns: Sequence[str] = STRATUM_COLUMNS,
) -> CensoringWeights:
    """IPCW for every row of ``frame`` (features joined to labels, censored rows still in): ``1 / G(u-)``
    for rows with a known label, NaN for censored rows. See the module docstring for the estimate.

    ``frame`` needs ``prediction_date``, ``follow_up_end``, ``<target>_censored`` and the event columns
    ``known_times`` reads; raises ValueError naming what is missing.
    """
    needed = ["prediction_date", FOLLOW_UP_END, f"{target}_censored"]
    missing = [column for column in needed if column not in frame.columns]
    if missing:
        raise ValueError(
            f"Weighting '{target}' for censoring needs the label column(s) {', '.join(missing)}; rebuild the "
            "features (`tidlig features`) to add them, or train with censoring 'exclude'."
        )
    columns = tuple(column for column in stratum_columns if column in frame.columns)
    t = pd.to_datetime(frame["prediction_date"]).astype("datetime64[us]")
    censored = frame[f"{target}_censored"].fillna(True).astype(bool).to_numpy()
    follow_up_end = pd.to_datetime(frame[FOLLOW_UP_END]).astype("datetime64[us]")
    known = known_times(frame, target, horizon_months)
    ends = np.where(censored, follow_up_end, known).astype("datetime64[us]")
    days = (ends - t.to_numpy()).astype("timedelta64[us]").astype("int64") / 86_400e6
    fine = _stratum_codes(frame, columns).to_numpy()
    coarse = _stratum_codes(frame, ()).to_numpy()
    fine_sizes = pd.Series(fine).map(pd.Series(fine).value_counts()).to_numpy()
    stratum = np.where(fine_sizes >= MIN_STRATUM_ROWS, fine, coarse)
    followed = np.ones(len(frame))
    codes, index = np.unique(stratum, return_inverse=True)
    order = np.argsort(index, kind="stable")
    for rows in np.split(order, np.cumsum(np.bincount(index, minlength=len(codes)))[:-1]):
        followed[rows] = followed_before(days[rows], censored[rows], days[rows])
    capped = (~censored) & (followed < MIN_FOLLOWED)
    weights = np.where(censored, np.nan, 1.0 / np.maximum(followed, MIN_FOLLOWED))
    return CensoringWeights(
        weights=weights,
        strata_columns=columns,
        strata=len(codes),
        censored_rows=int(censored.sum()),
        capped_rows=int(capped.sum()),
    )
