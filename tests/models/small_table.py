"""A small plain table like a real cohort a data scientist might have: a few thousand people, one row
each, about 6 % with the outcome, a categorical column, and a known true risk."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_small_table(rows: int = 3500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(X, y, true risk): age, sex, counts of past contacts, a lab-like value, a care level category and
    two pure-noise columns; risk is logistic in them with one interaction and one threshold effect."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(65, 98, rows)
    frailty = rng.gamma(2.0, 0.7, rows)
    X = pd.DataFrame(
        {
            "age": age,
            "female": rng.random(rows) < 0.55,
            "admissions_last_year": rng.poisson(0.25 * frailty),
            "gp_contacts_last_year": rng.poisson(2 + 2 * frailty),
            "albumin": rng.normal(40 - 1.5 * frailty, 3),
            "care_level": pd.Categorical(
                rng.choice(["none", "practical", "personal"], rows, p=[0.6, 0.25, 0.15])
            ),
            "noise_1": rng.normal(size=rows),
            "noise_2": rng.integers(0, 10, rows),
        }
    )
    linear = (
        -4.55
        + 0.05 * (age - 80)
        + 0.5 * X["admissions_last_year"].clip(upper=4)
        + 0.7 * frailty
        - 0.25 * X["female"]
        + 0.5 * (X["care_level"] == "personal")
        + 0.4 * (X["albumin"] < 35)
    ).to_numpy(dtype=float)
    risk = 1 / (1 + np.exp(-linear))
    y = (rng.random(rows) < risk).astype(int)
    return X, y, risk
