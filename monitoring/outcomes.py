"""After labels: how a published list really did, once its outcomes have matured (or half-matured).

For every cell (``overall``, each ``district``, ``sex``, ``age_band``): persons with a known outcome,
events, realised AUROC, calibration (slope and intercept on the logit scale, observed/expected events), PPV
at capacity (events among the listed), the share of all events the list captured, and the lead time (days
from the list's date to the event, median over the listed persons with an event). The slope's Wald
standard error is kept so an alert can tell a real miscalibration from a small district's noise.

Censored persons (``event`` NaN: died of another cause first, moved away, end of data) are left out, as in
the training harness (docs/features.md). A *partial* evaluation, halfway through the horizon, reports
discrimination and capture only: the risks are for the whole horizon, so calibration is judged only when
the list has matured. Cells that could single out a person are suppressed (``monitoring.disclosure``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd

from models.metrics import auroc, calibration_intercept, calibration_slope, fit_logistic, logit
from monitoring.disclosure import cell_is_disclosable, disclosable_count
from screening.analytics import age_band

Maturity = Literal["partial", "mature"]
OUTCOME_COLUMNS = (
    "dimension",
    "group",
    "persons",
    "events",
    "auroc",
    "calibration_slope",
    "calibration_slope_se",
    "calibration_intercept",
    "observed_expected",
    "listed",
    "listed_events",
    "ppv_at_capacity",
    "share_of_events_captured",
    "lead_time_median_days",
    "suppressed",
)
DIMENSIONS = ("overall", "district", "sex", "age_band")


def realised_rows(scored: pd.DataFrame, *, as_of: dt.date, maturity: Maturity) -> pd.DataFrame:
    """One row per cell (:data:`OUTCOME_COLUMNS`) for one list.

    ``scored``: one row per person scored at the list with ``risk``, ``listed`` (bool), ``event`` (1.0/0.0,
    NaN censored), ``event_date`` (or NaT), ``district``, and optionally ``age_years``, ``sex_female``.
    """
    frame = pd.DataFrame(
        {
            "risk": pd.to_numeric(scored["risk"], errors="coerce").to_numpy(dtype=float),
            "listed": scored["listed"].astype(bool).to_numpy(),
            "event": pd.to_numeric(scored["event"], errors="coerce").to_numpy(dtype=float),
            "event_date": pd.to_datetime(scored.get("event_date", pd.NaT)),
            "district": scored["district"].astype(str).to_numpy(),
            "sex": np.where(pd.to_numeric(scored["sex_female"], errors="coerce") > 0, "F", "M")
            if "sex_female" in scored
            else "unknown",
            "age_band": age_band(scored["age_years"]).to_numpy() if "age_years" in scored else "unknown",
        }
    )
    frame["overall"] = "all"
    known = frame.loc[~np.isnan(frame["event"])]
    rows = []
    for dimension in DIMENSIONS:
        for group, cell in known.groupby(dimension, sort=True):
            rows.append(_cell_row(str(dimension), str(group), cell, as_of=as_of, maturity=maturity))
    return pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS))


def _cell_row(
    dimension: str,
    group: str,
    cell: pd.DataFrame,
    *,
    as_of: dt.date,
    maturity: Maturity,
) -> dict[str, object]:
    y = cell["event"].to_numpy(dtype=float)
    p = cell["risk"].to_numpy(dtype=float)
    events = int(y.sum())
    listed = cell.loc[cell["listed"]]
    listed_events = int(listed["event"].sum())
    row: dict[str, object] = dict.fromkeys(OUTCOME_COLUMNS)
    row |= {"dimension": dimension, "group": group, "suppressed": False}
    small = not cell_is_disclosable(len(cell)) or disclosable_count(events) is None
    small = small or disclosable_count(len(cell) - events) is None
    if small:
        return row | {"suppressed": True}
    row |= {
        "persons": len(cell),
        "events": events,
        "auroc": auroc(y, p),
        "listed": disclosable_count(len(listed)),
        "listed_events": disclosable_count(listed_events),
    }
    if maturity == "mature":
        expected = float(p.sum())
        row |= {
            "calibration_slope": calibration_slope(y, p),
            "calibration_slope_se": _slope_standard_error(y, p),
            "calibration_intercept": calibration_intercept(y, p),
            "observed_expected": events / expected if expected > 0 else None,
        }
    if row["listed"] is not None and row["listed_events"] is not None:
        row["ppv_at_capacity"] = listed_events / len(listed) if len(listed) else None
        # The share of the cell's events; the overall cell's share is the list's capture.
        row["share_of_events_captured"] = listed_events / events if events else None
        if listed_events:
            lead = (listed["event_date"].dropna() - pd.Timestamp(as_of)).dt.days
            row["lead_time_median_days"] = float(lead.median()) if len(lead) else None
    return row


def _slope_standard_error(y: np.ndarray, p: np.ndarray) -> float:
    """The Wald standard error of the calibration slope (from the logistic fit's information matrix)."""
    lp = logit(p)
    x = np.column_stack([np.ones_like(lp), lp])
    beta = fit_logistic(x, y, np.zeros_like(lp))
    mu = 1 / (1 + np.exp(-(x @ beta)))
    information = x.T @ (x * (mu * (1 - mu))[:, None])
    try:
        return float(np.sqrt(np.linalg.inv(information)[1, 1]))
    except np.linalg.LinAlgError:
        return float("nan")
