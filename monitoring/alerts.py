"""From monitored values to review items: a value outside its band (``monitoring.config``) opens one item,
when sampling noise does not explain it (``MonitorConfig.require_evidence``).

An item carries its evidence (the value, the band, the persons behind it, the test's p-value or the
simulation interval), never person data. Its ``item_id`` is a hash of what it is about (metric, list or
date, district, feature), so a rerun of the same monitor run opens nothing twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from monitoring.config import MetricBand, MonitorConfig
from monitoring.drift import ALL_DISTRICTS, SCORE_FEATURE
from screening.drift import psi_noise_bound

HELD_SENTENCE = "Publication is held until an analyst acknowledges this item."


@dataclass(frozen=True)
class ReviewItem:
    """Something an analyst must look at; ``holds_publication`` items stop lists until acknowledged."""

    item_id: str
    metric: str
    value: float
    band: str
    holds_publication: bool
    scope: dict[str, Any]
    evidence: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def item_id_for(metric: str, scope: dict[str, Any]) -> str:
    """A stable ID for a breach of ``metric`` in ``scope`` (the same breach, the same ID)."""
    text = metric + "|" + "|".join(f"{key}={scope[key]}" for key in sorted(scope))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _item(
    band: MetricBand, value: float, scope: dict[str, Any], evidence: dict[str, Any], what: str
) -> ReviewItem:
    message = f"{band.metric} {value:.3f} is outside its band {band.describe()} for {what}." + (
        f" {HELD_SENTENCE}" if band.holds_publication else ""
    )
    return ReviewItem(
        item_id=item_id_for(band.metric, scope),
        metric=band.metric,
        value=float(value),
        band=band.describe(),
        holds_publication=band.holds_publication,
        scope=scope,
        evidence=evidence,
        message=message,
    )


def _breach(config: MonitorConfig, metric: str, value: Any) -> MetricBand | None:
    band = config.band(metric)
    if band is None or value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return None if band.contains(float(value)) else band


def drift_items(drift: pd.DataFrame, config: MonitorConfig, as_of: dt.date) -> list[ReviewItem]:
    """Items for comparable, disclosable drift rows of the alerting dimensions whose PSI leaves its band
    by more than sampling noise at the cell's size explains (decision D105).

    With ``require_evidence`` a row opens an item only when (1) the type-suited test rejects at
    ``drift_alpha`` and (2) the PSI minus the PSI that noise alone exceeds at the cell's sizes and bins
    (``screening.drift.psi_noise_bound`` at ``drift_alpha`` divided by the cells judged in that
    dimension, a Bonferroni share) still leaves the band. A small district's PSI of 0.3 is then noise
    (bound about 0.6 at 90 persons), a district whose source stops (PSI 2 and more) is not, and the
    municipality's cell, with thousands of persons, is judged on the band almost as it stands.
    """
    judged = [
        row
        for row in drift.itertuples(index=False)
        if ("overall" if row.district == ALL_DISTRICTS else "district") in config.alert_dimensions
        and not row.suppressed
        and row.comparable
        and row.n_current is not None
        and row.n_current >= config.min_drift_persons
    ]
    cells = {
        dimension: sum(1 for row in judged if (row.district == ALL_DISTRICTS) == (dimension == "overall"))
        for dimension in ("overall", "district")
    }
    items = []
    for row in judged:
        dimension = "overall" if row.district == ALL_DISTRICTS else "district"
        metric = "score_psi" if row.feature == SCORE_FEATURE else "input_psi"
        band = _breach(config, metric, row.psi)
        if band is None or (config.require_evidence and _explained_by_noise(row.p_value, config.drift_alpha)):
            continue
        alpha = config.drift_alpha / max(1, cells[dimension])
        bins = getattr(row, "bins", None)
        noise = (
            psi_noise_bound(int(bins), int(row.n_reference), int(row.n_current), alpha)
            if config.require_evidence and bins is not None and not pd.isna(bins)
            else 0.0
        )
        if noise and band.contains(float(row.psi) - noise):
            continue
        scope = {"as_of_date": as_of.isoformat(), "district": row.district, "feature": row.feature}
        evidence = {
            "psi": row.psi,
            "psi_noise": round(noise, 6),
            "noise_alpha": alpha,
            "cells_judged": cells[dimension],
            "bins": None if bins is None or pd.isna(bins) else int(bins),
            "test": row.test,
            "statistic": row.statistic,
            "p_value": row.p_value,
            "n_reference": row.n_reference,
            "n_current": row.n_current,
            "reference_scope": row.reference_scope,
        }
        where = "all districts" if row.district == ALL_DISTRICTS else f"district {row.district}"
        what = f"{row.feature} in {where} at {as_of}" + (
            f" (sampling noise at {row.n_current} persons explains up to {noise:.3f})" if noise else ""
        )
        items.append(_item(band, float(row.psi), scope, evidence, what))
    return items


def _explained_by_noise(p_value: float | None, alpha: float) -> bool:
    """A test that ran and did not reject at ``alpha`` explains the PSI by sampling noise."""
    return p_value is not None and not math.isnan(p_value) and p_value >= alpha


Z_99 = 2.576


def _outside(value: Any, low: Any, high: Any) -> bool:
    """Outside ``[low, high]``; True when anything is unknown (noise cannot be ruled out, so judge)."""
    known = [item for item in (value, low, high) if item is not None and not math.isnan(float(item))]
    if len(known) < 3:
        return True
    return not float(low) <= float(value) <= float(high)


def _beyond_noise(metric: str, row: dict[str, Any], expected: dict[str, Any] | None) -> bool:
    """Whether a realised value is outside what outcomes drawn from the list's own risks would give."""
    planned = expected or {}
    if metric in ("observed_expected", "calibration_intercept"):
        return _outside(
            row.get("observed_expected"),
            planned.get("observed_expected_low"),
            planned.get("observed_expected_high"),
        )
    if metric in ("realised_auroc", "auroc_shortfall"):
        return _outside(row.get("auroc"), planned.get("expected_auroc_low"), math.inf)
    if metric == "calibration_slope":
        slope, se = row.get("calibration_slope"), row.get("calibration_slope_se")
        if slope is None or se is None or math.isnan(float(se)):
            return True
        return _outside(slope, 1.0 - Z_99 * float(se), 1.0 + Z_99 * float(se))
    return True


def expected_items(expected: pd.DataFrame, config: MonitorConfig) -> list[ReviewItem]:
    """Items for lists whose expected AUROC or PPV (before labels) leaves its band."""
    if "district" not in config.alert_dimensions:
        return []
    items = []
    for row in expected.to_dict("records"):
        for metric, column, low, high in (
            ("expected_auroc", "expected_auroc", "expected_auroc_low", "expected_auroc_high"),
            ("expected_ppv", "expected_ppv", "expected_ppv_low", "expected_ppv_high"),
        ):
            band = _breach(config, metric, row[column])
            if band is None:
                continue
            scope = {"list_id": row["list_id"], "stage": "expected"}
            evidence = {
                "district": row["district"],
                "as_of_date": str(row["as_of_date"]),
                "persons": row["persons"],
                "interval": [row[low], row[high]],
                "method": row["method"],
            }
            what = f"the list of district {row['district']} at {row['as_of_date']}"
            items.append(_item(band, float(row[column]), scope, evidence, what))
    return items


REALISED_METRICS = {
    "realised_auroc": "auroc",
    "calibration_slope": "calibration_slope",
    "calibration_intercept": "calibration_intercept",
    "observed_expected": "observed_expected",
}


def realised_items(realised: pd.DataFrame, expected: pd.DataFrame, config: MonitorConfig) -> list[ReviewItem]:
    """Items for matured (or half-matured) lists whose realised metrics leave their bands, and for a
    realised AUROC that falls short of the list's expected AUROC by more than the band allows."""
    by_list = {str(row["list_id"]): row for row in expected.to_dict("records")}
    items = []
    for row in realised.to_dict("records"):
        if row["suppressed"] or (row["maturity"] == "partial" and not config.alert_on_partial):
            continue
        # A list belongs to one district, so its overall cell is the district's; its district cell repeats it.
        if row["dimension"] != "overall" and (
            row["dimension"] == "district" or row["dimension"] not in config.alert_dimensions
        ):
            continue
        values = {metric: row[column] for metric, column in REALISED_METRICS.items()}
        list_expected = by_list.get(str(row["list_id"]))
        expected_value = None if list_expected is None else list_expected.get("expected_auroc")
        if row["dimension"] == "overall" and expected_value is not None and row["auroc"] is not None:
            values["auroc_shortfall"] = float(expected_value) - float(row["auroc"])
        for metric, value in values.items():
            band = _breach(config, metric, value)
            if band is None or (config.require_evidence and not _beyond_noise(metric, row, list_expected)):
                continue
            scope = {
                "list_id": row["list_id"],
                "stage": row["maturity"],
                "dimension": row["dimension"],
                "group": row["group"],
            }
            evidence = {
                "persons": row["persons"],
                "events": row["events"],
                "observed_until": str(row["observed_until"]),
                "expected_auroc": expected_value,
                "realised_auroc": row["auroc"],
                "observed_expected": row["observed_expected"],
                "noise_interval_auroc": None
                if list_expected is None
                else [list_expected.get("expected_auroc_low"), list_expected.get("expected_auroc_high")],
                "noise_interval_observed_expected": None
                if list_expected is None
                else [
                    list_expected.get("observed_expected_low"),
                    list_expected.get("observed_expected_high"),
                ],
                "calibration_slope_se": row.get("calibration_slope_se"),
            }
            what = (
                f"the list of district {row['district']} at {row['as_of_date']} ({row['maturity']}"
                + ("" if row["dimension"] == "overall" else f", {row['dimension']} {row['group']}")
                + ")"
            )
            items.append(_item(band, float(value), scope, evidence, what))
    return items


def visit_items(visits: pd.DataFrame, config: MonitorConfig, as_of: dt.date) -> list[ReviewItem]:
    """Items for lists whose visit yield (new problems per completed visit) leaves its band."""
    items = []
    for row in visits.to_dict("records"):
        band = _breach(config, "visit_yield", row["yield_rate"])
        if band is None:
            continue
        scope = {"list_id": row["list_id"], "stage": "visits", "as_of_date": as_of.isoformat()}
        evidence = {"visits_done": row["visits_done"], "new_problems": row["new_problems"]}
        items.append(_item(band, float(row["yield_rate"]), scope, evidence, f"list {row['list_id'][:12]}"))
    return items
