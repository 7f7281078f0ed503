"""Baselines: the oracle is the truth at the month of each prediction date."""

import numpy as np
import pandas as pd
import pytest

from models.baselines import baseline_risks, oracle_risk


def test_oracle_takes_the_truth_of_the_month_containing_the_prediction_date():
    rows = pd.DataFrame(
        {
            "person_key": ["a", "b", "c"],
            "prediction_date": pd.to_datetime(["2022-01-01", "2022-01-15", "2022-02-01"]),
        }
    )
    truth = pd.DataFrame(
        {
            "person_key": ["a", "b", "b"],
            "month": pd.to_datetime(["2022-01-01", "2022-01-01", "2022-02-01"]),
            "p_admission_12m": [0.1, 0.2, 0.3],
        }
    )
    risk = oracle_risk(rows, truth, "admission_12m")
    np.testing.assert_array_equal(risk[:2], [0.1, 0.2])
    assert np.isnan(risk[2])


def test_oracle_needs_the_target_column():
    with pytest.raises(ValueError, match="p_death_6m"):
        oracle_risk(pd.DataFrame(columns=["person_key", "prediction_date"]), pd.DataFrame(), "death_6m")


def test_baselines_without_their_input_columns_are_left_out():
    rows = pd.DataFrame(
        {"age_years": [70.0, 80, 90, 72], "sex_female": [1, 0, 1, 0], "label": [0.0, 1, 1, 0]}
    )
    assert set(baseline_risks(rows, rows)) == {"age_sex"}


def test_age_sex_baseline_imputes_age_with_the_median_of_the_fit_rows_only():
    fit = pd.DataFrame(
        {
            "age_years": [66.0, 70, 74, 78, 82, 86, 90, 94],
            "sex_female": [1, 0, 1, 0, 1, 0, 1, 0],
            "label": [0.0, 0, 0, 1, 0, 1, 1, 1],
        }
    )
    # test rows much older than the fit rows: their own median (110) must not fill the missing age
    test = pd.DataFrame({"age_years": [np.nan, 80.0, 110, 110, 110], "sex_female": [1, 1, 1, 1, 1]})
    risk = baseline_risks(fit, test)["age_sex"]
    assert risk[0] == pytest.approx(risk[1])  # missing age takes the fit median, 80
