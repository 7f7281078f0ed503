"""Subgroup tables: every cell under 5 persons (with or without the outcome) is suppressed."""

import numpy as np
import pandas as pd

from models.subgroups import protect_subgroup_table, subgroup_aurocs, subgroup_table


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


def test_a_withheld_level_cannot_be_recovered_from_the_published_totals():
    rows, risk = _rows()
    table = subgroup_table(rows, {"model": risk})
    district = table[table["subgroup"] == "district"].set_index("level")
    # without protection: tiny's rows are the published test rows minus big's rows
    assert len(rows) - district.loc["big", "rows"] == 3
    protected = protect_subgroup_table(table)
    district = protected[protected["subgroup"] == "district"].set_index("level")
    assert district["suppressed"].all()
    assert district.loc["big", "complementary"]
    assert not district.loc["tiny", "complementary"]
    assert district[["persons", "rows", "event_rows", "auroc_model"]].isna().all().all()


def test_protection_leaves_subgroups_without_small_levels_as_they_are():
    rows, risk = _rows()
    table = subgroup_table(rows, {"model": risk})
    protected = protect_subgroup_table(table)
    sex = protected[protected["subgroup"] == "sex"]
    assert not sex["suppressed"].any()
    assert sex["rows"].sum() == len(rows)


def test_the_smallest_other_level_is_the_complement():
    rows, risk = _rows()
    rows["district"] = ["a"] * 200 + ["b"] * 120 + ["c"] * 77 + ["tiny"] * 3
    protected = protect_subgroup_table(subgroup_table(rows, {"model": risk})).set_index(["subgroup", "level"])
    assert protected.loc[("district", "c"), "complementary"]
    assert not protected.loc[("district", "a"), "suppressed"]
    assert not protected.loc[("district", "b"), "suppressed"]
