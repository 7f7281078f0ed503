"""Baselines scored on exactly the model's test rows: age + sex, HFRS, Charlson and the oracle.

Age + sex is a logistic regression on age, age squared and sex. HFRS and Charlson are the published
scores turned into probabilities by a one-variable logistic regression (their ranking, hence AUROC, is
the score's own). All three are fitted on the non-test rows (train + validation). The oracle is the
synthetic world's hidden true probability at the prediction date: the best any model could do.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.linear_model import LogisticRegression

AGE_COLUMN = "age_years"
SEX_COLUMN = "sex_female"
SCORE_BASELINES = {"hfrs": "hfrs_score_0_to_730d", "charlson": "charlson_index_0_to_1825d"}


def _age_sex_design(frame: pd.DataFrame, age_median: float) -> np.ndarray:
    """Age (missing: ``age_median`` of the fit rows), age squared, sex (missing: 0.5), age x sex."""
    age = frame[AGE_COLUMN].astype("float64").fillna(age_median)
    centred = (age - 75.0) / 10.0
    sex = frame[SEX_COLUMN].astype("float64").fillna(0.5)
    return np.column_stack([centred, centred**2, sex, centred * sex])


def _logistic(design_fit: np.ndarray, y: np.ndarray, design_score: np.ndarray) -> np.ndarray:
    model = LogisticRegression(C=1e6, max_iter=1000).fit(design_fit, y)
    risk: npt.NDArray[np.float64] = model.predict_proba(design_score)[:, 1]
    return risk


def baseline_risks(fit_rows: pd.DataFrame, test_rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Probabilities of each available baseline on ``test_rows`` (same order), fitted on ``fit_rows``.

    A baseline whose input column is absent from the feature table is left out (the caller reports it).
    """
    y = fit_rows["label"].to_numpy()
    risks: dict[str, np.ndarray] = {}
    if AGE_COLUMN in fit_rows.columns and SEX_COLUMN in fit_rows.columns:
        # Imputation is part of the fit: the median comes from the fit rows only, never the test rows.
        age_median = float(fit_rows[AGE_COLUMN].astype("float64").median())
        risks["age_sex"] = _logistic(
            _age_sex_design(fit_rows, age_median), y, _age_sex_design(test_rows, age_median)
        )
    for name, column in SCORE_BASELINES.items():
        if column in fit_rows.columns:
            fit_score = fit_rows[[column]].astype("float64").fillna(0.0).to_numpy()
            test_score = test_rows[[column]].astype("float64").fillna(0.0).to_numpy()
            risks[name] = _logistic(fit_score, y, test_score)
    return risks


def oracle_risk(test_rows: pd.DataFrame, truth: pd.DataFrame, target: str) -> np.ndarray:
    """The hidden true probability ``p_<target>`` for each test row (NaN where the truth has no row).

    ``truth`` must already carry ``person_key`` (pseudonymised CPR) and ``month``; a row is matched to
    the truth month containing its prediction date.
    """
    column = f"p_{target}"
    if column not in truth.columns:
        raise ValueError(f"The truth file has no column '{column}'.")
    return truth_values(test_rows, truth, column)


def truth_values(rows: pd.DataFrame, truth: pd.DataFrame, column: str) -> np.ndarray:
    """``truth[column]`` for each row, matched on person and the month containing its prediction date."""
    # pandas-stubs type Series.dt.to_timestamp() as a DatetimeArray; pandas returns a Series
    month = cast(
        "pd.Series",
        pd.to_datetime(rows["prediction_date"]).dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]"),
    )
    keys = pd.DataFrame({"person_key": rows["person_key"].to_numpy(), "month": month.to_numpy()})
    lookup = truth[["person_key", "month", column]].copy()
    lookup["month"] = (
        pd.to_datetime(lookup["month"]).dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")
    )
    lookup = lookup.drop_duplicates(["person_key", "month"])
    matched = keys.merge(lookup, on=["person_key", "month"], how="left")
    return matched[column].to_numpy(dtype="float64")
