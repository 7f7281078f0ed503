"""Evaluation plots as matplotlib Figures (object API, Agg canvas, no pyplot state, no display).

Each plot shows aggregates only: curves, binned means and suppressed subgroup numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from models.metrics import smoothed_observed_risk
from privacy import COMPLEMENTARY_CELL_TEXT, SMALL_CELL_TEXT


def _figure(width: float = 6.0, height: float = 5.0) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _legend_outside(axes: Axes) -> None:
    """The legend to the right of the axes, so it never covers a curve."""
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)


def roc_plot(y: np.ndarray, risks: dict[str, np.ndarray], title: str) -> Figure:
    """ROC curves of the model and every baseline on the same rows."""
    figure = _figure(7.5, 5.0)
    axes = figure.add_subplot()
    for name, risk in risks.items():
        known = ~np.isnan(risk)
        if len(np.unique(y[known])) < 2:
            continue
        fpr, tpr, _ = roc_curve(y[known], risk[known])
        axes.plot(fpr, tpr, label=name, linewidth=2 if name == "model" else 1)
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":")
    axes.set(xlabel="1 - specificity", ylabel="sensitivity", title=title)
    _legend_outside(axes)
    return figure


def calibration_plot(y: np.ndarray, risk: np.ndarray, title: str, bins: int = 10) -> Figure:
    """Observed vs predicted risk: decile means (points) and the kernel-smoothed curve used for ICI."""
    figure = _figure(7.5, 5.0)
    axes = figure.add_subplot()
    order = np.argsort(risk)
    groups = np.array_split(order, bins)
    axes.scatter([risk[g].mean() for g in groups], [y[g].mean() for g in groups], label="deciles", zorder=3)
    smooth = smoothed_observed_risk(y, risk)
    axes.plot(risk[order], smooth[order], label="smoothed")
    top = float(max(risk.max(), 0.05))
    axes.plot([0, top], [0, top], color="grey", linestyle=":", label="ideal")
    axes.set(xlabel="predicted risk", ylabel="observed risk", title=title)
    _legend_outside(axes)
    return figure


def decision_curve_plot(curve: pd.DataFrame, title: str) -> Figure:
    """Net benefit against threshold probability for each risk, treat-all and treat-none."""
    figure = _figure(7.5, 5.0)
    axes = figure.add_subplot()
    for name, rows in curve.groupby("risk", sort=False):
        style = ":" if name in ("treat_all", "treat_none") else "-"
        axes.plot(rows["threshold"], rows["net_benefit"], style, marker="o", markersize=3, label=name)
    finite = curve["net_benefit"][np.isfinite(curve["net_benefit"])]
    top = float(finite.max()) * 1.1 + 0.005 if len(finite) else 0.05
    # treat-all falls steeply at high thresholds; the models' curves near zero are what matters, so the
    # axis stops a little below zero (as decision-curve software does) instead of following it down
    axes.set_ylim(-max(0.01, 0.3 * top), top)
    axes.set(xlabel="threshold probability", ylabel="net benefit", title=title)
    _legend_outside(axes)
    return figure


def importance_plot(importance: dict[str, float], title: str, top: int = 20) -> Figure:
    """Share of total split gain of the ``top`` most important features."""
    items = list(importance.items())[:top][::-1]
    figure = _figure(7.0, max(3.0, 0.3 * len(items) + 1))
    axes = figure.add_subplot()
    axes.barh([name for name, _ in items], [value for _, value in items])
    axes.set(xlabel="share of total gain", title=title)
    return figure


_COUNTS = frozenset({"persons", "rows", "event_rows"})


def subgroup_plot(table: pd.DataFrame, title: str) -> Figure:
    """The suppressed subgroup table drawn as a figure (small cells show '<5', complementary ones '*')."""
    shown_columns = [c for c in ("subgroup", "level", "persons", "event_rows", "observed_risk") if c in table]
    shown_columns += [c for c in table.columns if c.startswith("auroc_")]
    cells = []
    for row in table.itertuples(index=False):
        values = []
        for column in shown_columns:
            value = getattr(row, column)
            if column in ("subgroup", "level"):
                values.append(str(value))
            elif row.suppressed:
                complementary = bool(getattr(row, "complementary", False))
                values.append(COMPLEMENTARY_CELL_TEXT if complementary else SMALL_CELL_TEXT)
            elif isinstance(value, int | float | np.integer | np.floating) and not np.isnan(value):
                # counts arrive as integers when no row is suppressed, as floats (NaN beside) when one is
                values.append(
                    f"{value:.3f}" if abs(float(value)) < 10 and column not in _COUNTS else f"{value:.0f}"
                )
            else:
                values.append("")
        cells.append(values)
    figure = _figure(min(2.0 + 1.3 * len(shown_columns), 16), 0.3 * len(cells) + 1.2)
    axes = figure.add_subplot()
    axes.axis("off")
    axes.set_title(title)
    if cells:
        table_artist = axes.table(cellText=cells, colLabels=shown_columns, loc="center")
        table_artist.auto_set_font_size(False)
        table_artist.set_fontsize(7)
    return figure
