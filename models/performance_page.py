"""An interactive model-performance page (one self-contained HTML file, logged to MLflow with every run).

What a care manager and an analyst ask of a model before go-live, on its temporal test rows:
- **capacity**: with k visits per district per list, how many flagged citizens have the outcome (PPV), how
  many of all outcomes are caught (sensitivity), for the model and each baseline (a slider over k);
- **threshold**: the same at a risk threshold instead of a fixed capacity (a second slider);
- **calibration**: observed against predicted risk per tenth of predicted risk;
- **subgroups**: the suppressed subgroup table, one metric at a time, risks side by side.

Only aggregates enter the page. A count of 1 to ``min_cell_persons - 1`` rows is withheld (the platform's
rule, :mod:`privacy`), together with every number computed from it, so nothing small can be recovered by
subtraction from the page: every cell of a flagged set's two-by-two table (flagged or not, with or without
the outcome) must reach the minimum, or the whole row is withheld. The page needs no network: the
data are embedded as JSON and drawn with a few lines of plain JavaScript into SVG.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.capacity import flag_top_k
from privacy import Relation, is_small, protect

CAPACITY_GRID: tuple[int, ...] = (5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200)
THRESHOLD_GRID: tuple[float, ...] = tuple(round(0.01 * step, 2) for step in range(1, 61))
CALIBRATION_BINS = 10
PAGE_TEMPLATE = Path(__file__).with_name("performance_page.html")


@dataclass(frozen=True)
class PerformanceSummary:
    """Aggregates behind the page; ``as_dict`` is exactly what is embedded in it."""

    title: str
    test_rows: int
    test_events: int
    min_cell: int
    capacity: dict[str, list[dict[str, float | int | None]]]
    threshold: dict[str, list[dict[str, float | int | None]]]
    calibration: dict[str, list[dict[str, float | int | None]]]
    subgroups: list[dict[str, object]]

    def as_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "test_rows": self.test_rows,
            "test_events": self.test_events,
            "min_cell": self.min_cell,
            "capacity": self.capacity,
            "threshold": self.threshold,
            "calibration": self.calibration,
            "subgroups": self.subgroups,
        }


def _flagged_row(
    setting: float, flagged: np.ndarray, y: np.ndarray, min_cell: int
) -> dict[str, float | int | None]:
    """PPV and sensitivity of one flagged set, withheld whole when any of its counts is small."""
    flagged_count = int(flagged.sum())
    events = int(y[flagged].sum())
    total_events = int(y.sum())
    missed = total_events - events
    not_flagged_without = len(y) - flagged_count - missed
    cells = (events, flagged_count - events, missed, not_flagged_without)
    if any(is_small(cell, min_cell) for cell in cells) or total_events == 0:
        return {"setting": setting, "flagged": None, "events": None, "ppv": None, "sensitivity": None}
    return {
        "setting": setting,
        "flagged": flagged_count,
        "events": events,
        "ppv": round(events / flagged_count, 4) if flagged_count else None,
        "sensitivity": round(events / total_events, 4),
    }


def capacity_curve(
    rows: pd.DataFrame, y: np.ndarray, risk: np.ndarray, min_cell: int, grid: Sequence[int] = CAPACITY_GRID
) -> list[dict[str, float | int | None]]:
    """For each capacity k: the top-k per (prediction date, district) flagged, pooled over lists."""
    return [_flagged_row(k, flag_top_k(rows, risk, k), y, min_cell) for k in grid]


def threshold_curve(
    y: np.ndarray, risk: np.ndarray, min_cell: int, grid: Sequence[float] = THRESHOLD_GRID
) -> list[dict[str, float | int | None]]:
    """For each threshold t: every row with risk >= t flagged."""
    return [_flagged_row(t, risk >= t, y, min_cell) for t in grid]


def calibration_bins(
    y: np.ndarray, risk: np.ndarray, min_cell: int, bins: int = CALIBRATION_BINS
) -> list[dict[str, float | int | None]]:
    """Mean predicted and observed risk per tenth of predicted risk.

    A bin whose rows, events or non-events are small is withheld; so is a second bin where one alone
    would be given away by the total number of events the page shows (complementary suppression).
    """
    groups = np.array_split(np.argsort(risk, kind="stable"), bins)
    events = {index: int(y[group].sum()) for index, group in enumerate(groups)}
    small = {
        index
        for index, group in enumerate(groups)
        if any(is_small(cell, min_cell) for cell in (len(group), events[index], len(group) - events[index]))
    }
    suppression = protect(
        {**events, "total": int(y.sum())},
        [Relation("total", tuple(events))],
        primary=small,
        known={"total"},
        minimum=min_cell,
    )
    result: list[dict[str, float | int | None]] = []
    for index, group in enumerate(groups):
        if index in suppression.withheld or len(group) == 0:
            result.append({"rows": None, "predicted": None, "observed": None})
            continue
        result.append(
            {
                "rows": len(group),
                "predicted": round(float(risk[group].mean()), 4),
                "observed": round(float(y[group].mean()), 4),
            }
        )
    return result


def subgroup_records(table: pd.DataFrame, risk_names: Sequence[str]) -> list[dict[str, object]]:
    """The (already suppressed) subgroup table as records: counts, observed risk, and per risk its AUROC
    and mean predicted risk; suppressed rows carry no numbers at all."""
    records: list[dict[str, object]] = []
    for row in table.to_dict("records"):
        record: dict[str, object] = {
            "subgroup": str(row["subgroup"]),
            "level": str(row["level"]),
            "suppressed": bool(row.get("suppressed", False)),
        }
        if record["suppressed"] and bool(row.get("complementary", False)):
            record["complementary"] = True
        if not record["suppressed"]:
            for column in ("persons", "event_rows", "observed_risk"):
                record[column] = _number(row.get(column))
            for name in risk_names:
                record[f"auroc_{name}"] = _number(row.get(f"auroc_{name}"))
                record[f"mean_predicted_risk_{name}"] = _number(row.get(f"mean_predicted_risk_{name}"))
        records.append(record)
    return records


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if np.isnan(number) else round(number, 4)


def summarise_performance(
    rows: pd.DataFrame,
    risks: Mapping[str, np.ndarray],
    subgroups: pd.DataFrame,
    *,
    title: str,
    min_cell: int = 5,
) -> PerformanceSummary:
    """Aggregates for the page from the test rows (``label``, ``prediction_date``, ``district``) and the
    risks per name (same row order). Risks with missing values (the oracle off the simulated months) are
    evaluated on their known rows."""
    y_all = rows["label"].to_numpy(dtype=float)
    capacity: dict[str, list[dict[str, float | int | None]]] = {}
    threshold: dict[str, list[dict[str, float | int | None]]] = {}
    calibration: dict[str, list[dict[str, float | int | None]]] = {}
    for name, raw in risks.items():
        risk = np.asarray(raw, dtype=float)
        known = ~np.isnan(risk)
        y, r = y_all[known], risk[known]
        capacity[name] = capacity_curve(rows.loc[known], y, r, min_cell)
        threshold[name] = threshold_curve(y, r, min_cell)
        calibration[name] = calibration_bins(y, r, min_cell)
    return PerformanceSummary(
        title=title,
        test_rows=len(rows),
        test_events=int(y_all.sum()),
        min_cell=min_cell,
        capacity=capacity,
        threshold=threshold,
        calibration=calibration,
        subgroups=subgroup_records(subgroups, list(risks)),
    )


def render_performance_page(summary: PerformanceSummary) -> str:
    """The self-contained HTML page (no network, no external script)."""
    data = json.dumps(summary.as_dict(), separators=(",", ":"), sort_keys=True)
    # JSON inside <script>: "</" would end the element early.
    data = data.replace("</", "<\\/")
    template = PAGE_TEMPLATE.read_text(encoding="utf-8")
    return template.replace("__TITLE__", html.escape(summary.title)).replace("__DATA__", data)
