"""What a list of fixed length per district achieves: the numbers a care manager plans with.

A list flags the ``capacity`` highest-risk citizens of each district at each prediction date.
- ``ppv``: share of flagged rows with the outcome; ``number_needed_to_screen`` = 1 / ppv.
- ``sensitivity``: share of rows with the outcome that were flagged (per prediction date, pooled).
- ``events_captured_share``: share of persons with an outcome event in the test period who were flagged
  at some prediction date before their first event (the person view, across dates).
- ``lead_time_days_median``: for those persons, days from the first flag to the event.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def flag_top_k(rows: pd.DataFrame, risk: np.ndarray, capacity: int) -> np.ndarray:
    """Boolean flag for the ``capacity`` highest-risk rows per (prediction_date, district).

    A table without ``district`` is one list per date; without ``prediction_date``, one list per
    district (or one list). Ties are broken by row order (stable), so the same input always gives the
    same list.
    """
    ranking = pd.DataFrame(
        {
            "prediction_date": (
                rows["prediction_date"].to_numpy() if "prediction_date" in rows.columns else 0
            ),
            "district": (
                rows["district"].astype("string").fillna("unknown").to_numpy()
                if "district" in rows.columns
                else "all"
            ),
            "risk": np.asarray(risk, dtype=float),
        },
        index=range(len(rows)),
    )
    rank = ranking.groupby(["prediction_date", "district"])["risk"].rank(method="first", ascending=False)
    return (rank <= capacity).to_numpy()


def capacity_metrics(rows: pd.DataFrame, risk: np.ndarray, capacity: int) -> dict[str, float]:
    """PPV, sensitivity, number needed to screen, events captured and lead time at ``capacity``.

    ``rows`` needs label; person_key, prediction_date, district and (for the person view) event_date
    are used when present (see ``flag_top_k``).
    """
    flagged = flag_top_k(rows, risk, capacity)
    label = rows["label"].to_numpy(dtype=float)
    flagged_count = int(flagged.sum())
    true_positives = float(label[flagged].sum())
    ppv = true_positives / flagged_count if flagged_count else float("nan")
    result = {
        "capacity_per_district": float(capacity),
        "flagged_rows": float(flagged_count),
        "ppv": ppv,
        "sensitivity": float(true_positives / label.sum()) if label.sum() else float("nan"),
        "number_needed_to_screen": 1 / ppv if ppv and not np.isnan(ppv) else float("nan"),
    }
    result |= _person_view(rows, flagged)
    return result


def _person_view(rows: pd.DataFrame, flagged: np.ndarray) -> dict[str, float]:
    if not {"event_date", "person_key", "prediction_date"} <= set(rows.columns):
        return {"events_captured_share": float("nan"), "lead_time_days_median": float("nan")}
    frame = pd.DataFrame(
        {
            "person_key": rows["person_key"].to_numpy(),
            "prediction_date": pd.to_datetime(rows["prediction_date"]).to_numpy(),
            "event_date": pd.to_datetime(rows["event_date"]).to_numpy(),
            "label": rows["label"].to_numpy(dtype=float),
            "flagged": flagged,
        }
    )
    events = frame[frame["label"] == 1].groupby("person_key")["event_date"].min().dropna()
    if events.empty:
        return {"events_captured_share": float("nan"), "lead_time_days_median": float("nan")}
    frame = frame.join(events.rename("first_event"), on="person_key")
    before = frame[frame["flagged"] & (frame["prediction_date"] < frame["first_event"])]
    first_flag = before.groupby("person_key")["prediction_date"].min()
    lead = (events.loc[first_flag.index] - first_flag).dt.days
    return {
        "events_captured_share": len(first_flag) / len(events),
        "lead_time_days_median": float(lead.median()) if len(lead) else float("nan"),
    }
