"""Every fault the synthetic generator injects is caught: the right batch is quarantined, with the right rule
and row numbers, and the clean deliveries land."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipelines.ingest_flow import build_context, run_ingest, selected_sources
from pipelines.settings import Settings
from warehouse import Warehouse

pytestmark = pytest.mark.slow

# What the report must say for each fault kind (reason or a finding's rule/expectation).
EXPECTED_WORDS = {
    "duplicate_rows": ("duplicate", "twice"),
    "invalid_codes": ("code",),
    "malformed_cpr": ("CPR number",),
    "future_dates": ("not in the future", "not after the time the row was registered"),
    "dates_before_birth": ("birth date",),
    "negative_minutes": ("0 to 10080",),
    "missing_required": ("always filled in",),
    "missing_column": ("lacks required column",),
    "wrong_type": ("values",),
    "non_utf8_encoding": ("UTF-8",),
    "empty_delivery": ("no data rows",),
    "truncated_file": ("truncated",),
    "truncated_at_line": ("control totals",),
}


@pytest.fixture(scope="module")
def faulty_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict]:
    home = tmp_path_factory.mktemp("faults")
    world = home / "world"
    command = [sys.executable, "-m", "pipelines.cli", "--home", str(home), "--demo", "synth"]
    command += ["--citizens", "1500", "--years", "3", "--seed", "3", "--out", str(world), "--faults", "all"]
    subprocess.run(command, check=True, capture_output=True)
    settings = Settings(home=home, demo=True, deployment="research")
    run_ingest(build_context(settings, echo=lambda _: None), selected_sources(None))
    return settings, json.loads((world / "manifest.json").read_text())


def _reports(settings: Settings) -> list[dict]:
    assert settings.quarantine_dir is not None
    return [json.loads(path.read_text()) for path in settings.quarantine_dir.rglob("report.json")]


def _text(report: dict) -> str:
    parts = [report["reason"]] + [f"{f['rule']} {f['expectation']} {f['column']}" for f in report["findings"]]
    return " ".join(parts)


def test_the_world_has_every_fault_kind(faulty_world: tuple[Settings, dict]) -> None:
    _, manifest = faulty_world
    from synthetic.faults import FAULT_KINDS

    assert {fault["kind"] for fault in manifest["faults"]} == set(FAULT_KINDS)


def test_every_file_fault_quarantines_its_delivery_with_the_right_rule_and_rows(
    faulty_world: tuple[Settings, dict],
) -> None:
    settings, manifest = faulty_world
    reports = _reports(settings)
    for fault in (f for f in manifest["faults"] if "file" in f):
        matching = [
            r for r in reports if r["source"] == fault["source"] and r["delivery"] == fault["delivery"]
        ]
        assert matching, f"{fault['kind']} in {fault['file']} was not quarantined"
        (report,) = matching
        assert any(word in _text(report) for word in EXPECTED_WORDS[fault["kind"]]), fault["kind"]
        flagged = {number for finding in report["findings"] for number in finding["row_numbers"]}
        if report["findings"] and fault["rows"] and fault["kind"] != "non_utf8_encoding":
            assert {row + 1 for row in fault["rows"]} <= flagged, fault["kind"]


def test_every_care_fault_quarantines_the_increments_holding_its_records(
    faulty_world: tuple[Settings, dict],
) -> None:
    settings, manifest = faulty_world
    reports = [r for r in _reports(settings) if r["where"].startswith("care table")]
    for fault in (f for f in manifest["faults"] if "table" in f):
        mine = [r for r in reports if r["source"] == fault["table"]]
        flagged = {
            number
            for report in mine
            for finding in report["findings"]
            if any(word in _text(report) for word in EXPECTED_WORDS[fault["kind"]])
            for number in finding["row_numbers"]
        }
        assert set(fault["rows"]) <= flagged, f"{fault['kind']} in care table {fault['table']}"


def test_clean_deliveries_land_and_faults_stay_out(faulty_world: tuple[Settings, dict]) -> None:
    settings, manifest = faulty_world
    batches = Warehouse(settings.warehouse_dir).batches()
    quarantined = batches[batches["status"] == "quarantined"]
    landed = batches[batches["status"] == "landed"]
    assert len(landed) > 10 * len(quarantined)
    # At most the faulty deliveries plus diagnoses cascading from a quarantined contacts delivery.
    file_faults = {(f["source"], f["delivery"]) for f in manifest["faults"] if "file" in f}
    registry = quarantined[~quarantined["delivery"].str.startswith("registered-")]
    extra = set(zip(registry["source"], registry["delivery"], strict=True)) - file_faults
    assert {source for source, _ in extra} <= {"lpr3_diagnoses"}
