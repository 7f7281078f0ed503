"""Model card per registered version (Markdown and HTML): the essentials of TRIPOD+AI, aggregates only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import SupportsFloat, cast

import markdown
import numpy as np
import pandas as pd

from models.evaluation import Evaluation
from privacy import COMPLEMENTARY_CELL_TEXT, SMALL_CELL_TEXT

OUTCOME_DEFINITIONS = {
    "admission": "at least one unplanned (acute, physical) hospital admission",
    "death": "death from any cause",
    "frailty": "composite frailty progression (first nursing-home entry, a rise in granted home care or a "
    "worsening FSIII functional score, as defined by the features layer)",
}
METRIC_LABELS = {
    "auroc": "AUROC",
    "auprc": "AUPRC",
    "brier": "Brier",
    "calibration_slope": "Calibration slope",
    "calibration_intercept": "Calibration intercept",
    "ici": "ICI",
}


@dataclass(frozen=True)
class CardContext:
    """Facts about the registered version that the evaluation does not hold."""

    registered_name: str
    version: str
    target: str
    feature_set_version: str
    spec_hash: str
    split: dict[str, str]
    fold_rows: dict[str, int]
    fold_events: dict[str, int]
    censored_rows: int
    gate_text: str
    importance: dict[str, float]
    hyperparameters: dict[str, float | int]
    # e.g. "Platt, fitted on the validation fold plus out-of-fold risks of the training fold (412 events)"
    calibration: str = "fitted on the validation fold"
    # how censored rows were handled, ``models.registry.censoring_text``
    censoring: str = "are excluded for this outcome, not counted as negatives"


def _metric_table(evaluation: Evaluation) -> str:
    names = list(evaluation.metrics)
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for metric, label in METRIC_LABELS.items():
        cells = [evaluation.metrics[name][metric].as_text() for name in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _capacity_table(evaluation: Evaluation) -> str:
    shown = (
        "ppv",
        "sensitivity",
        "number_needed_to_screen",
        "events_captured_share",
        "lead_time_days_median",
    )
    names = list(evaluation.capacity)
    lines = ["| at capacity | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for metric in shown:
        cells = [_number(evaluation.capacity[name].get(metric, float("nan"))) for name in names]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _as_float(value: object) -> float:
    # pandas-stubs type itertuples() fields as any Scalar; these columns are numeric counts and risks
    return float(cast("SupportsFloat", value))


def _number(value: float) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.0f}"


def _subgroup_table(table: pd.DataFrame) -> str:
    risk_columns = [c for c in table.columns if c.startswith("auroc_")]
    header = [
        "subgroup",
        "level",
        "persons",
        "event rows",
        "observed risk",
        "predicted (model)",
        *risk_columns,
    ]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for row in table.itertuples(index=False):
        if row.suppressed:
            mark = COMPLEMENTARY_CELL_TEXT if getattr(row, "complementary", False) else SMALL_CELL_TEXT
            cells = [row.subgroup, row.level] + [mark] * (len(header) - 2)
        else:
            cells = [
                row.subgroup,
                row.level,
                _number(_as_float(row.persons)),
                _number(_as_float(row.event_rows)),
                _number(_as_float(row.observed_risk)),
                _number(float(getattr(row, "mean_predicted_risk_model", float("nan")))),
                *[_number(float(getattr(row, column))) for column in risk_columns],
            ]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines)


def render_model_card(context: CardContext, evaluation: Evaluation) -> str:
    """The model card as Markdown."""
    outcome, horizon = context.target.rsplit("_", 1)
    importance = "\n".join(
        f"{rank}. `{name}` ({share:.1%})"
        for rank, (name, share) in enumerate(list(context.importance.items())[:15], start=1)
    )
    folds = "\n".join(
        f"- **{fold}**: {context.split.get('split_' + fold, '')}, {context.fold_rows.get(fold, 0)} rows, "
        f"{context.fold_events.get(fold, 0)} with the outcome"
        for fold in ("train", "validation", "test")
    )
    model = evaluation.metrics["model"]
    return f"""# Model card: {context.registered_name} version {context.version}

## Intended use
Ranks older citizens in a Danish municipality by their calibrated risk of
**{OUTCOME_DEFINITIONS[outcome]}** within **{horizon.rstrip("m")} months** of the prediction date,
so that care staff can offer a preventive visit or review to those at highest risk within a fixed
capacity per district. Intended users: municipal
elderly-care managers, visiting nurses and preventive-visit staff, through the Tidlig screening lists and
review app. It supports, and never replaces, professional judgement; it is not a diagnostic device and
must not be used to withhold care.

## Data, population and dates
- Feature set version `{context.feature_set_version}` (spec hash `{context.spec_hash}`); one row per citizen
  per prediction date, as known at that date (point in time).
- Temporal split with a {context.split.get("split_horizon_months", "")}-month gap between folds, so no
  training label overlaps the test period:
{folds}
- Censored rows (follow-up ended before the horizon), {context.censored_rows} rows,
  {context.censoring}. Prediction dates where fewer than half the rows are labelled
  are left out whole.

## Outcome definition
`{context.target}`: {OUTCOME_DEFINITIONS[outcome]} in the window (prediction date, prediction date +
{horizon}], from the labels of the features layer.

## Model
LightGBM gradient boosting (deterministic, row-wise, fixed seeds), hyperparameters by random search with
early stopping on the validation fold; probabilities calibrated: {context.calibration}.
Chosen hyperparameters: {", ".join(f"{k}={v:.4g}" for k, v in context.hyperparameters.items())}.

## Performance on the temporal test period ({evaluation.test_rows} rows, {evaluation.test_persons} persons,
{evaluation.test_events} with the outcome)
Point estimate (95 % person-clustered bootstrap interval). Baselines on the same rows: `age_sex` (logistic
regression on age and sex), `hfrs` (Hospital Frailty Risk Score), `charlson` (Charlson index) and, on
synthetic data only, `oracle` (the generator's hidden true risk: the best achievable).

{_metric_table(evaluation)}

### At capacity (top k per district and prediction date)
{_capacity_table(evaluation)}

### Calibration
Calibration slope {model["calibration_slope"].as_text()},
intercept {model["calibration_intercept"].as_text()}, ICI {model["ici"].as_text(4)}.
In the large: mean risk {evaluation.mean_risk:.4f} against an observed event rate of
{evaluation.observed_rate_weighted:.4f} weighted for censoring ({evaluation.observed_rate:.4f} unweighted).
The lists show calibrated probabilities.

## Performance by subgroup
Cells with fewer than 5 persons, or fewer than 5 persons with or without the outcome, are suppressed (`<5`);
cells marked `*` are withheld so that a suppressed cell cannot be worked out from the totals above.

{_subgroup_table(evaluation.subgroups)}

## Most important features (share of total gain)
{importance}

Per-person explanations are LightGBM's own SHAP values (log-odds scale), turned into plain-language
reasons by the screening layer.

## Promotion decision
```
{context.gate_text}
```

## Limitations
- Trained and evaluated on the data of one period; performance can drift when practice, coding or the
  population change. Retrain on schedule and watch the drift report.
- Registry data arrive with delay; features use only what was known at the prediction date, so a recent
  admission may not yet be visible.
- Censoring weights assume that, within the strata named above, moving away has nothing to do with the
  outcome; where it has, risks and metrics may still be biased. Test metrics are computed on the rows
  with known labels, unweighted.
- Subgroups with few persons are suppressed and cannot be assessed here.
- On synthetic data the numbers describe the simulator, not real Danish citizens.
"""


def render_model_card_html(markdown_text: str) -> str:
    """The Markdown card as a standalone HTML page."""
    body: str = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"])
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Tidlig model card</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}"
        "</style></head><body>" + body + "</body></html>"
    )
