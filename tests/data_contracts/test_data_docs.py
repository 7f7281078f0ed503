"""Great Expectations Data Docs of every validation run: built into the home, without any row value."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.contract import load_contract
from data_contracts.data_docs import DataDocs, read_pages, value_free_result
from data_contracts.validation import ContractValidator
from pipelines.ingest_flow import build_context, build_data_docs, run_ingest, selected_sources
from pipelines.settings import Settings
from tests.data_contracts import tiny_world
from warehouse import Warehouse

BAD_CPR = "3113999999"  # CPR-shaped, day 31 of month 13: breaks the CPR date rule
BAD_SEX = "QQQX"


def broken_population(settings: Settings) -> None:
    """The second population extract with a duplicated citizen, an impossible CPR and an unknown sex."""
    path = settings.landing_dir / "cpr_population" / tiny_world.SECOND_EXTRACT / "cpr_population.csv"  # type: ignore[operator]
    frame = pd.read_csv(path, dtype=str)
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    frame.loc[2, "PNR"] = BAD_CPR
    frame.loc[3, "KOEN"] = BAD_SEX
    frame.to_csv(path, index=False)


@pytest.fixture(scope="module")
def docs_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path | None]:
    settings = tiny_world.write_tiny_world(tmp_path_factory.mktemp("docs") / "home")
    broken_population(settings)
    context = build_context(settings, echo=lambda _: None)
    run_ingest(context, selected_sources(["cpr_population", "deaths"]))
    return settings, build_data_docs(context)


def every_text(folder: Path) -> str:
    return "\n".join(
        path.read_text(encoding="utf-8", errors="replace") for path in folder.rglob("*") if path.is_file()
    )


def test_every_validation_run_gets_a_page_and_the_site_an_index(docs_home):
    settings, index = docs_home
    assert index == settings.data_docs_dir / "site" / "index.html"
    assert index.is_file()
    pages = read_pages(settings.data_docs_dir)
    assert {page["source"] for page in pages} == {"cpr_population", "deaths"}
    population = next(page for page in pages if page["source"] == "cpr_population")
    assert not population["success"]
    assert population["unsuccessful"] >= 2
    assert population["deliveries"] == f"{tiny_world.FIRST_EXTRACT}..{tiny_world.SECOND_EXTRACT}"
    page = settings.data_docs_dir / "site" / population["page"]
    text = page.read_text(encoding="utf-8")
    assert "expect_compound_columns_to_be_unique" in text or "unique" in text
    assert "PNR" in text  # the rule's column is named: that is the point of the page


def test_no_cpr_pseudonym_or_row_value_appears_anywhere_in_the_docs(docs_home):
    settings, _ = docs_home
    text = every_text(settings.data_docs_dir)
    assert BAD_CPR not in text
    assert BAD_SEX not in text
    assert all(cpr not in text for cpr in tiny_world.cprs())
    assert "Borger Nummer" not in text
    connection = Warehouse(settings.warehouse_dir).connect(read_only=True)  # type: ignore[arg-type]
    try:
        keys = [row[0] for row in connection.execute("SELECT DISTINCT person_key FROM population").fetchall()]
    finally:
        connection.close()
    assert keys
    assert all(key not in text for key in keys)


def test_gx_results_do_hold_the_values_that_the_docs_leave_out():
    """The stripping is what keeps them out: GX's own result quotes the failing CPR and value."""
    contract = load_contract("cpr_population")
    frame = tiny_world.population_frame().rename(columns=str)
    frame.loc[0, "KOEN"] = BAD_SEX
    validator = ContractValidator()
    batch = validator._batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(validator.suite(contract), result_format={"result_format": "COMPLETE"})
    assert BAD_SEX in json.dumps(result.to_json_dict(), default=str)
    assert BAD_SEX not in json.dumps(value_free_result(result), default=str)


def test_a_build_without_new_results_writes_nothing(tmp_path):
    docs = DataDocs(tmp_path / "data_docs")
    assert docs.build() is None
    assert read_pages(tmp_path / "data_docs") == []
