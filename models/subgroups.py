"""Performance by subgroup (sex, age band, district, living alone) with small cells suppressed.

A cell is suppressed when it holds fewer than ``min_cell_persons`` distinct persons, or fewer than that
many persons with, or without, the outcome: then every count and metric in the row is blanked, because
any of them could reveal a handful of identifiable citizens. The levels of each subgroup partition the
test rows, whose totals are published beside the table, so :func:`protect_subgroup_table` also withholds
the smallest other level of a subgroup with one withheld level (complementary suppression, :mod:`privacy`);
that is the table that leaves the platform (``Evaluation.subgroups``: model card, plots, MLflow).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.metrics import auroc
from privacy import MIN_CELL_PERSONS, Relation, protect

AGE_BANDS = (
    (0, 65, "<65"),
    (65, 75, "65-74"),
    (75, 85, "75-84"),
    (85, 200, "85+"),
)
SUBGROUP_COLUMNS = ("sex", "age_band", "district", "living_alone")
VALUE_COLUMNS = ("persons", "rows", "event_rows", "observed_risk", "mean_predicted_risk", "auroc")


def subgroup_levels(rows: pd.DataFrame) -> pd.DataFrame:
    """One column per subgroup dimension present in ``rows`` (str levels, 'unknown' when missing)."""
    levels = pd.DataFrame(index=rows.index)
    if "sex_female" in rows.columns:
        female = rows["sex_female"].astype("float64")
        levels["sex"] = np.where(female.isna(), "unknown", np.where(female == 1, "female", "male"))
    if "age_years" in rows.columns:
        age = rows["age_years"].astype("float64")
        band = pd.Series("unknown", index=rows.index, dtype="object")
        for low, high, name in AGE_BANDS:
            band[(age >= low) & (age < high)] = name
        levels["age_band"] = band
    if "district" in rows.columns:
        levels["district"] = rows["district"].astype("string").fillna("unknown").astype("object")
    if "living_alone" in rows.columns:
        alone = rows["living_alone"].astype("float64")
        levels["living_alone"] = np.where(alone.isna(), "unknown", np.where(alone == 1, "yes", "no"))
    return levels


def subgroup_table(
    rows: pd.DataFrame, risks: dict[str, np.ndarray], min_cell_persons: int = MIN_CELL_PERSONS
) -> pd.DataFrame:
    """Counts, observed and predicted risk and AUROC per subgroup level, for each named risk.

    Columns: subgroup, level, suppressed, persons, rows, event_rows, observed_risk, and per risk name
    ``mean_predicted_risk_<name>`` and ``auroc_<name>``. Suppressed rows have all values blanked (NaN).
    """
    rows = rows.reset_index(drop=True)
    levels = subgroup_levels(rows)
    label = rows["label"].to_numpy(dtype=float)
    persons = rows["person_key"].to_numpy()
    records = []
    for dimension in levels.columns:
        for level, index in levels.groupby(dimension).groups.items():
            mask = rows.index.isin(index)
            in_cell = label[mask]
            cell_persons = persons[mask]
            event_persons = len(set(cell_persons[in_cell == 1]))
            non_event_persons = len(set(cell_persons[in_cell == 0]))
            record: dict[str, object] = {"subgroup": dimension, "level": str(level)}
            small = min(len(set(cell_persons)), event_persons, non_event_persons) < min_cell_persons
            record["suppressed"] = small
            if not small:
                record |= {
                    "persons": len(set(cell_persons)),
                    "rows": int(mask.sum()),
                    "event_rows": int(in_cell.sum()),
                    "observed_risk": float(in_cell.mean()),
                }
                for name, risk in risks.items():
                    cell_risk = np.asarray(risk, dtype=float)[mask]
                    record[f"mean_predicted_risk_{name}"] = float(np.nanmean(cell_risk))
                    record[f"auroc_{name}"] = auroc(in_cell, cell_risk)
            records.append(record)
    table = pd.DataFrame.from_records(records)
    for column in ("persons", "rows", "event_rows", "observed_risk"):
        if column not in table.columns:
            table[column] = np.nan
    return table


_TOTAL = ("__total__", "")


def protect_subgroup_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (from :func:`subgroup_table`) with complementary cells withheld too.

    A subgroup whose levels show all but one withheld level would give that level away as the published
    total (test rows, persons, events) minus the shown levels; the smallest other level (by rows) is then
    withheld as well, marked ``complementary`` True (text: ``*``). A subgroup with one level equals the
    total and is left as it is.
    """
    shown = table.copy()
    shown["complementary"] = False
    if shown.empty:
        return shown
    cells = list(zip(shown["subgroup"], shown["level"], strict=True))
    values: dict[tuple[str, str], float] = {_TOTAL: float("inf")}
    for cell, rows in zip(cells, shown["rows"], strict=True):
        values[cell] = 0.0 if pd.isna(rows) else float(rows)
    levels: dict[str, list[tuple[str, str]]] = {}
    for cell in cells:
        levels.setdefault(cell[0], []).append(cell)
    relations = [Relation(_TOTAL, tuple(group)) for group in levels.values() if len(group) > 1]
    primary = {cell for cell, small in zip(cells, shown["suppressed"].astype(bool), strict=True) if small}
    suppression = protect(values, relations, primary=primary, known={_TOTAL})
    complementary = np.array([cell in suppression.complementary for cell in cells])
    blanked = [c for c in shown.columns if c not in ("subgroup", "level", "suppressed", "complementary")]
    shown.loc[complementary, blanked] = np.nan
    shown.loc[complementary, "suppressed"] = True
    shown["complementary"] = complementary
    return shown


def subgroup_aurocs(table: pd.DataFrame, risk_name: str) -> dict[tuple[str, str], float]:
    """AUROC of one risk per unsuppressed (subgroup, level) cell, from a ``subgroup_table``."""
    column = f"auroc_{risk_name}"
    if column not in table.columns:
        return {}
    shown = table[~table["suppressed"].astype(bool)]
    return {
        (subgroup, level): float(value)
        for subgroup, level, value in zip(shown["subgroup"], shown["level"], shown[column], strict=True)
        if not np.isnan(value)
    }
