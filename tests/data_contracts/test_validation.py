"""Validation with the contracts' GX suites: breaches come back as rules and positions, nothing else."""

from __future__ import annotations

import pandas as pd
import pytest

from data_contracts.contract import load_contract
from data_contracts.validation import ContractValidator


def products(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "VNR": [f"{100000 + i}" for i in range(rows)],
            "ATC": ["N02BE01"] * rows,
            "PRODUCT_NAME": [f"Produkt {i}" for i in range(rows)],
            "PACKSIZE": [20.0] * rows,
            "DDD_PER_PACK": [10.0] * rows,
            "_delivery": ["2024-01-01"] * rows,
        }
    )


@pytest.fixture(scope="module")
def validator() -> ContractValidator:
    return ContractValidator()


def test_a_clean_frame_breaks_no_rule(validator: ContractValidator) -> None:
    assert validator.validate(products(50), load_contract("lmdb_products")) == []


def test_breaches_name_the_rule_and_the_failing_positions(validator: ContractValidator) -> None:
    frame = products(50)
    frame.loc[[3, 17], "VNR"] = "12AB"
    frame.loc[40, "DDD_PER_PACK"] = -1.0
    breaches = {
        (b.column, b.expectation): b for b in validator.validate(frame, load_contract("lmdb_products"))
    }
    regex = breaches[("VNR", "expect_column_values_to_match_regex")]
    assert regex.positions.tolist() == [3, 17]
    assert regex.failing_rows == 2
    assert breaches[("DDD_PER_PACK", "expect_column_values_to_be_between")].positions.tolist() == [40]


def test_the_frame_is_not_fingerprinted(validator: ContractValidator, monkeypatch) -> None:
    """GX's batch fingerprint (a hash of every row, unused by Tidlig) is skipped: it cost a tenth of the
    60k ingest's CPU."""
    from great_expectations.execution_engine import pandas_execution_engine

    calls = []
    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", calls.append)
    validator.validate(products(50), load_contract("lmdb_products"))
    assert calls == []


def services(rows: int) -> pd.DataFrame:
    days = pd.date_range("2023-09-01", periods=rows, freq="D")
    return pd.DataFrame(
        {
            "PNR": ["0101401234"] * rows,
            "SPECIALE": ["800101"] * rows,
            "HONUGE": ["2402"] * rows,
            "BEHANDLINGSDATO": pd.Series(days, dtype="datetime64[us]"),
            "YDLANT": pd.array([i % 50 + 1 for i in range(rows)], dtype="Int64"),
            "YDLTID": ["dag"] * rows,
            "_delivery": ["2024-02-01"] * rows,
            "_delivered_at": pd.Series([pd.Timestamp("2024-02-01")] * rows, dtype="datetime64[us]"),
            "_birth_date": pd.Series([pd.Timestamp("1940-01-01")] * rows, dtype="datetime64[us]"),
            "_cpr_date_valid": [True] * rows,
            "_person_known": [True] * rows,
        }
    )


def test_ranges_and_missing_values_of_integer_columns_are_found_as_before(
    validator: ContractValidator, monkeypatch
) -> None:
    """Integer columns reach GX as exact floats (its range check is vectorised only for NumPy types):
    out-of-range and missing values are found at the same positions, and no Python call per value."""
    from great_expectations.expectations.metrics.column_map_metrics import column_values_between

    frame = services(120)
    frame.loc[[5, 99], "YDLANT"] = 101
    frame.loc[7, "YDLANT"] = 0
    frame.loc[50, "YDLANT"] = pd.NA
    per_value = []
    original = pd.Series.map
    monkeypatch.setattr(
        pd.Series, "map", lambda self, *a, **k: per_value.append(1) or original(self, *a, **k)
    )
    breaches = {
        (b.column, b.expectation): b for b in validator.validate(frame, load_contract("sssy_services"))
    }
    assert breaches[("YDLANT", "expect_column_values_to_be_between")].positions.tolist() == [5, 7, 99]
    assert breaches[("YDLANT", "expect_column_values_to_not_be_null")].positions.tolist() == [50]
    assert set(breaches) == {
        ("YDLANT", "expect_column_values_to_be_between"),
        ("YDLANT", "expect_column_values_to_not_be_null"),
    }
    assert column_values_between is not None
    assert per_value == []
    assert str(frame["YDLANT"].dtype) == "Int64"  # the caller's frame is not changed
