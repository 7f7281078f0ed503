"""Subgroup tables: every cell under 5 persons (with or without the outcome) is suppressed."""

import numpy as np
import pandas as pd

from models.subgroups import subgroup_aurocs, subgroup_table


def _rows():
    rng = np.random.default_rng(4)
    n = 400
    rows = pd.DataFrame(
        {
            "person_key": [f"p{i}" for i in range(n)],
            "age_years": rng.uniform(66, 95, n),
            "sex_female": rng.random(n) < 0.5,
            "living_alone": rng.random(n) < 0.5,
            "district": ["big"] * (n - 3) + ["tiny"] * 3,
            "label": (rng.random(n) < 0.3).astype(float),
        }
    )
    return rows, rng.random(n)


def test_cells_with_fewer_than_five_persons_are_blanked():
    rows, risk = _rows()
    table = subgroup_table(rows, {"model": risk})
    tiny = table[(table["subgroup"] == "district") & (table["level"] == "tiny")].iloc[0]
    assert tiny["suppressed"]
    assert tiny[["persons", "rows", "event_rows", "observed_risk", "auroc_model"]].isna().all()


def test_cells_with_fewer_than_five_events_are_blanked():
    rows, risk = _rows()
    rows.loc[rows["sex_female"], "label"] = 0.0
    rows.loc[rows.index[rows["sex_female"]][:4], "label"] = 1.0
    table = subgroup_table(rows, {"model": risk})
    female = table[(table["subgroup"] == "sex") & (table["level"] == "female")].iloc[0]
    assert female["suppressed"]


def test_large_cells_are_shown_with_counts_and_auroc():
    rows, risk = _rows()
    table = subgroup_table(rows, {"model": risk})
    big = table[(table["subgroup"] == "district") & (table["level"] == "big")].iloc[0]
    assert not big["suppressed"]
    assert big["persons"] == 397
    assert set(table["subgroup"]) == {"sex", "age_band", "district", "living_alone"}
    assert ("district", "tiny") not in subgroup_aurocs(table, "model")
    assert ("district", "big") in subgroup_aurocs(table, "model")
