"""Plots people read in MLflow: every number of the subgroup table shown, no legend over a curve."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.plots import calibration_plot, decision_curve_plot, roc_plot, subgroup_plot


def _cell_texts(figure) -> list[str]:
    table = figure.axes[0].tables[0]
    return [cell.get_text().get_text() for cell in table.get_celld().values()]


def test_the_subgroup_figure_shows_integer_counts_when_nothing_is_suppressed():
    table = pd.DataFrame(
        {
            "subgroup": ["sex", "sex"],
            "level": ["female", "male"],
            "suppressed": [False, False],
            "persons": [1636, 1364],
            "event_rows": [295, 296],
            "observed_risk": [0.09, 0.109],
            "auroc_model": [0.714, 0.682],
        }
    )
    texts = _cell_texts(subgroup_plot(table, "Subgroups"))
    assert {"1636", "1364", "295", "296", "0.714"} <= set(texts)


def test_a_suppressed_subgroup_row_shows_only_the_withheld_mark():
    table = pd.DataFrame(
        {
            "subgroup": ["age_band", "age_band"],
            "level": ["<65", "65-74"],
            "suppressed": [True, False],
            "persons": [np.nan, 978.0],
            "event_rows": [np.nan, 102.0],
            "observed_risk": [np.nan, 0.054],
        }
    )
    texts = _cell_texts(subgroup_plot(table, "Subgroups"))
    assert texts.count("<5") == 3
    assert {"978", "102"} <= set(texts)


def _legend_outside_axes(figure) -> bool:
    figure.canvas.draw()
    axes = figure.axes[0]
    legend = axes.get_legend().get_window_extent()
    return legend.x0 >= axes.get_window_extent().x1


def test_legends_stand_beside_the_curves_not_on_them():
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.2).astype(float)
    risks = {"model": rng.random(500), "age_sex": rng.random(500)}
    curve = pd.DataFrame(
        {"risk": ["model", "model", "treat_all", "treat_all"], "threshold": [0.1, 0.2] * 2,
         "net_benefit": [0.02, 0.01, 0.05, -0.4]}
    )  # fmt: skip
    assert _legend_outside_axes(roc_plot(y, risks, "ROC"))
    assert _legend_outside_axes(calibration_plot(y, risks["model"], "Calibration"))
    assert _legend_outside_axes(decision_curve_plot(curve, "Decision curve"))
