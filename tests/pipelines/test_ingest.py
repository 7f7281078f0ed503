"""The `tidlig ingest` Prefect flow, run for real once (Prefect's ephemeral server costs seconds), and the
command's refusal without a key. Behaviour in detail is specified in tests/data_contracts/test_intake.py."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from features.known_rows import existing_relations
from pipelines.cli import cli
from pipelines.settings import Settings
from tests.data_contracts import tiny_world
from warehouse import Warehouse
from warehouse.key_index import index_relation


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict, str]:
    """One real flow run over the tiny world with one broken delivery; returns settings, result, output."""
    settings = tiny_world.write_tiny_world(tmp_path_factory.mktemp("flow") / "home", deployment="operational")
    assert settings.landing_dir is not None
    path = settings.landing_dir / "sssy_services" / tiny_world.SECOND_EXTRACT / "sssy_services.csv"
    path.write_text(path.read_text().replace("800101", "80010X", 1))
    runner = CliRunner()
    result = runner.invoke(cli, ["--home", str(settings.home), "--demo", "ingest"], catch_exceptions=False)
    from pipelines.ingest_flow import build_context, render_summary, run_ingest, selected_sources

    outcomes = run_ingest(build_context(settings, echo=lambda _: None), selected_sources(None))
    again = {
        "outcomes": [{"landed": o.landed, "quarantined": o.quarantined} for o in outcomes],
        "summary": render_summary(outcomes, settings.quarantine_dir),
    }
    return settings, again, result.output


def test_the_flow_lands_clean_deliveries_and_quarantines_the_broken_one(flow_run) -> None:
    settings, _, output = flow_run
    assert "quarantined 1 batch(es)" in output
    assert "sssy_services" in output
    store = Warehouse(settings.warehouse_dir)
    assert "gp_services" not in store.tables()
    assert len(store.table("population")) == tiny_world.CITIZENS + 1


def test_the_run_leaves_a_current_key_index_for_every_landed_table(flow_run) -> None:
    settings, _, output = flow_run
    store = Warehouse(settings.warehouse_dir)
    assert "Key index written for" in output
    assert store.refresh_key_index() == []  # every table's index is already of its current files
    relations = existing_relations(store.connect())
    assert {index_relation(table) for table in store.tables()} <= relations


def test_a_second_run_takes_nothing(flow_run) -> None:
    _, again, _ = flow_run
    assert all(not o["landed"] and not o["quarantined"] for o in again["outcomes"])
    assert "Landed 0 batch(es)" in again["summary"]


def test_the_summary_artifact_holds_counts_only(flow_run) -> None:
    database = Path(os.environ["PREFECT_HOME"]) / "prefect.db"
    with sqlite3.connect(database) as connection:
        artifacts = [
            row[0] for row in connection.execute("SELECT data FROM artifact WHERE key = 'ingest-summary'")
        ]
    assert artifacts
    assert "Ingest summary" in artifacts[0]


def test_progress_is_logged_to_the_prefect_run_so_the_ui_shows_it(flow_run) -> None:
    from prefect.logging.handlers import APILogHandler

    # Prefect ships log lines in the background: the flow returns before the last batch is written
    APILogHandler().flush()
    database = Path(os.environ["PREFECT_HOME"]) / "prefect.db"
    with sqlite3.connect(database) as connection:
        messages = [row[0] for row in connection.execute("SELECT message FROM log")]
    assert any(message.startswith("Ingesting from") for message in messages)
    assert any("quarantined sssy_services" in message for message in messages)


def test_no_raw_cpr_in_warehouse_reports_or_prefect_database(flow_run) -> None:
    settings, _, output = flow_run
    folders = [settings.warehouse_dir, settings.quarantine_dir, Path(os.environ["PREFECT_HOME"])]
    blobs = [output.encode()]
    for folder in folders:
        blobs += [path.read_bytes() for path in Path(folder).rglob("*") if path.is_file()]  # type: ignore[arg-type]
    for cpr in tiny_world.cprs():
        assert not any(cpr.encode() in blob for blob in blobs)
    assert not any(b"tidlig-demo-key-NOT-SECRET" in blob for blob in blobs[1:])


def test_the_key_store_is_separate_from_the_warehouse(flow_run) -> None:
    settings, _, _ = flow_run
    keystore = Path(str(settings.keystore_url).removeprefix("sqlite:///"))
    with sqlite3.connect(keystore) as connection:
        assert connection.execute("SELECT count(*) FROM keystore").fetchone() == (tiny_world.CITIZENS,)
    assert not keystore.is_relative_to(settings.warehouse_dir)


def test_ingest_refuses_to_run_without_a_pseudonym_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIDLIG_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("TIDLIG_DEMO", raising=False)
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "ingest"])
    assert result.exit_code != 0
    assert "TIDLIG_PSEUDONYM_KEY" in result.output
    assert not (tmp_path / "warehouse").exists()


def test_ingest_and_contracts_have_help() -> None:
    runner = CliRunner()
    assert "exactly once" in runner.invoke(cli, ["ingest", "--help"]).output
    assert "docs" in runner.invoke(cli, ["contracts", "--help"]).output


def test_contract_docs_are_rendered_per_contract(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--home", str(tmp_path), "contracts", "docs", "--out", str(tmp_path / "d")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "d" / "lpr3_contacts.md").read_text().startswith("# lpr3_contacts")
    assert "<table>" in (tmp_path / "d" / "deaths.html").read_text()
    listing = CliRunner().invoke(cli, ["contracts", "list"]).output
    assert "cpr_population" in listing


def test_reports_are_valid_json_naming_file_and_rule(flow_run) -> None:
    settings, _, _ = flow_run
    (report_path,) = Path(settings.quarantine_dir).rglob("report.json")
    report = json.loads(report_path.read_text())
    assert report["where"].endswith("sssy_services.csv")
    assert report["findings"][0]["row_numbers"] == [1]
