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
    assert regex.positions.tolist() == [3, 17] and regex.failing_rows == 2
    assert breaches[("DDD_PER_PACK", "expect_column_values_to_be_between")].positions.tolist() == [40]


def test_the_frame_is_not_fingerprinted(validator: ContractValidator, monkeypatch) -> None:
    """GX's batch fingerprint (a hash of every row, unused by Tidlig) is skipped: it cost a tenth of the
    60k ingest's CPU."""
    from great_expectations.execution_engine import pandas_execution_engine

    calls = []
    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", lambda df: calls.append(df))
    validator.validate(products(50), load_contract("lmdb_products"))
    assert calls == []
