"""Contracts: every suite loads completely into Great Expectations and states severity and rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_contracts.contract import (
    INGEST_ORDER,
    SUITES_DIR,
    ContractError,
    available_sources,
    load_contract,
    load_suite,
)

CONTEXT_COLUMNS = {
    "_delivery",
    "_delivered_at",
    "_birth_date",
    "_person_known",
    "_contact_known",
    "_product_known",
    "_cpr_date_valid",
}


def test_every_source_of_the_interface_has_a_contract() -> None:
    assert available_sources() == list(INGEST_ORDER)


@pytest.mark.parametrize("source", INGEST_ORDER)
def test_suite_loads_with_as_many_expectations_as_its_file(source: str) -> None:
    contract = load_contract(source)
    on_file = json.loads(contract.path.read_text())["expectations"]
    assert len(load_suite(contract).expectations) == len(on_file) > 0


@pytest.mark.parametrize("source", INGEST_ORDER)
def test_expectations_name_only_contract_or_context_columns(source: str) -> None:
    contract = load_contract(source)
    allowed = set(contract.source_columns) | CONTEXT_COLUMNS
    for expectation in contract.expectations:
        kwargs = expectation["kwargs"]
        named = [
            kwargs.get("column"),
            kwargs.get("column_A"),
            kwargs.get("column_B"),
            *kwargs.get("column_list", []),
        ]
        assert {name for name in named if name} <= allowed, expectation


def test_population_order_comes_before_everything_that_needs_it() -> None:
    order = list(INGEST_ORDER)
    assert order[0] == "cpr_population"
    assert order.index("lpr3_contacts") < order.index("lpr3_diagnoses")
    assert order.index("lmdb_products") < order.index("lmdb_prescriptions")


def _copy_suite(tmp_path: Path, source: str, change) -> Path:
    document = json.loads((SUITES_DIR / f"{source}.json").read_text())
    change(document)
    (tmp_path / f"{source}.json").write_text(json.dumps(document))
    return tmp_path


def test_loading_fails_loudly_on_an_unknown_expectation_type(tmp_path: Path) -> None:
    def add_unknown(document: dict) -> None:
        document["expectations"].append(
            {
                "type": "expect_something_gx_does_not_know",
                "kwargs": {"column": "PNR"},
                "meta": {"severity": "blocking", "rule": "x"},
            }
        )

    contract = load_contract("deaths", _copy_suite(tmp_path, "deaths", add_unknown))
    with pytest.raises(ContractError, match="expect"):
        load_suite(contract)


def test_an_expectation_without_severity_is_rejected(tmp_path: Path) -> None:
    def drop_severity(document: dict) -> None:
        del document["expectations"][0]["meta"]["severity"]

    with pytest.raises(ContractError, match="severity"):
        load_contract("deaths", _copy_suite(tmp_path, "deaths", drop_severity))


def test_a_missing_contract_names_the_expected_file(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match=r"nothing\.json"):
        load_contract("nothing", tmp_path)
