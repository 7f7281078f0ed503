"""Refused precisely: CPR rules, control totals, truncation at any position, columns outside the contract,
and reports a person can read (Markdown, JSON and HTML, naming the line)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from data_contracts.deliveries import CONTROL_FILE
from pipelines.settings import Settings
from tests.data_contracts import tiny_world
from tests.data_contracts.test_intake import ingest, reports
from warehouse import Warehouse

IMPOSSIBLE = "3102401234"  # 31 February 1940
NINE_DIGITS = "101401234"  # 0101401234 with its leading zero lost


def _population_path(world: Settings, extract: str = tiny_world.FIRST_EXTRACT) -> Path:
    return world.landing_dir / "cpr_population" / extract / "cpr_population.csv"  # type: ignore[operator]


def _replace_cpr(path: Path, row: int, cpr: str) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row, "PNR"] = cpr
    frame.to_csv(path, index=False)


def test_a_cpr_number_with_an_impossible_date_quarantines_the_population_delivery_naming_the_rule(
    world: Settings,
) -> None:
    _replace_cpr(_population_path(world), 2, IMPOSSIBLE)
    outcomes = ingest(world, ["cpr_population"])
    assert [q["delivery"] for q in outcomes["cpr_population"].quarantined] == [tiny_world.FIRST_EXTRACT]
    (report,) = [r for r in reports(world, "cpr_population") if r["delivery"] == tiny_world.FIRST_EXTRACT]
    (finding,) = [f for f in report["findings"] if f["column"] == "_cpr_date_valid"]
    assert "real date" in finding["rule"]
    assert "7th digit" in finding["rule"]
    assert finding["row_numbers"] == [3]
    assert IMPOSSIBLE not in json.dumps(report)


def test_a_cpr_with_an_impossible_date_in_a_care_table_is_quarantined_alone_and_counted(
    world: Settings,
) -> None:
    engine = sa.create_engine(world.care_db_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE weights SET cpr = :cpr WHERE id = 2"), {"cpr": IMPOSSIBLE})
    engine.dispose()
    outcomes = ingest(world, ["cpr_population", "weights"])
    assert not outcomes["weights"].quarantined
    january = next(item for item in outcomes["weights"].landed if item["delivery"] == "registered-2021-01")
    assert january["rows"] == 2
    assert january["rows_quarantined"] == 1
    (report,) = reports(world, "weights")
    assert report["status"] == "landed"
    (finding,) = [f for f in report["findings"] if f["severity"] == "rows"]
    assert finding["row_numbers"] == [2]
    assert finding["row_reference"] == "record_id"
    weights = Warehouse(world.warehouse_dir).table("weights")
    assert len(weights) == 2


def test_a_cpr_that_fails_modulus_11_is_accepted_and_counted(world: Settings) -> None:
    outcomes = ingest(world, ["cpr_population"])
    assert not outcomes["cpr_population"].quarantined
    ledger = Warehouse(world.warehouse_dir).batches()
    first = ledger[ledger["delivery"] == tiny_world.FIRST_EXTRACT].iloc[0]
    counted = json.loads(first["report"])["counted"]
    (count,) = counted.values()
    assert "modulus-11" in next(iter(counted))
    assert 0 < count <= tiny_world.CITIZENS


def test_a_nine_digit_cpr_is_refused_with_the_lost_leading_zero_as_likely_cause(world: Settings) -> None:
    _replace_cpr(_population_path(world), 0, NINE_DIGITS)
    outcomes = ingest(world, ["cpr_population"])
    (quarantined, *_) = outcomes["cpr_population"].quarantined
    assert "9 digits" in str(quarantined["reason"])
    (report,) = [r for r in reports(world, "cpr_population") if r["delivery"] == tiny_world.FIRST_EXTRACT]
    (finding,) = [f for f in report["findings"] if f["expectation"] == "CPR number with 9 digits"]
    assert "leading zero" in finding["rule"]
    assert "spreadsheet" in finding["rule"]
    assert finding["row_numbers"] == [1]


def _write_control(path: Path, rows: int, sha256: str | None = None) -> None:
    import hashlib

    digest = sha256 or hashlib.sha256(path.read_bytes()).hexdigest()
    control = {"source": path.stem, "extract_date": path.parent.name, "sequence": 1, "previous_extract": None}
    control["files"] = [{"name": path.name, "rows": rows, "sha256": digest}]
    (path.parent / CONTROL_FILE).write_text(json.dumps(control))


def test_a_file_cut_at_a_line_boundary_is_caught_by_its_control_totals(world: Settings) -> None:
    path = _population_path(world)
    _write_control(path, tiny_world.CITIZENS)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:8]))  # header + 7 rows; ends with a line break
    outcomes = ingest(world, ["cpr_population"])
    (quarantined, *_) = outcomes["cpr_population"].quarantined
    reason = str(quarantined["reason"])
    assert "control totals" in reason
    assert "SHA-256" in reason
    assert "12 rows" in reason
    assert "7 data rows" in reason
    assert "line 8" in reason


def test_a_file_whose_row_count_disagrees_with_matching_checksummed_control_totals_is_refused(
    world: Settings,
) -> None:
    path = _population_path(world)
    _write_control(path, tiny_world.CITIZENS + 5)
    outcomes = ingest(world, ["cpr_population"])
    (quarantined, *_) = outcomes["cpr_population"].quarantined
    assert "declare 17" in str(quarantined["reason"])
    assert "has 12 data rows" in str(quarantined["reason"])


def test_a_file_that_matches_its_control_totals_lands_with_its_running_number(world: Settings) -> None:
    path = _population_path(world)
    _write_control(path, tiny_world.CITIZENS)
    ingest(world, ["cpr_population"])
    ledger = Warehouse(world.warehouse_dir).batches()
    first = ledger[ledger["delivery"] == tiny_world.FIRST_EXTRACT].iloc[0]
    assert first["status"] == "landed"
    assert first["sequence"] == 1


def test_without_control_totals_a_delivery_far_smaller_than_the_recent_ones_is_warned_about(
    world: Settings,
) -> None:
    landing = world.landing_dir
    assert landing is not None
    base = tiny_world.population_frame()
    for month in (3, 4, 5):
        spell = base.assign(BOP_VFRA=f"2021-{month - 1:02d}-02")
        tiny_world.write_csv(landing, "cpr_population", f"2021-{month:02d}-01", spell)
    tiny_world.write_csv(landing, "cpr_population", "2021-06-01", base.iloc[:3].assign(BOP_VFRA="2021-05-02"))
    outcomes = ingest(world, ["cpr_population"])
    june = next(item for item in outcomes["cpr_population"].landed if item["delivery"] == "2021-06-01")
    assert any("far below the median" in warning and "incomplete" in warning for warning in june["warnings"])


def test_a_file_cut_inside_a_row_names_the_line_in_every_report_format(world: Settings) -> None:
    path = world.landing_dir / "deaths" / tiny_world.SECOND_EXTRACT / "deaths.csv"  # type: ignore[operator]
    path.write_text("PNR,DODDATO,DODSAARSAG\n0101401234,2021-01-15,\n0202411235,2021-0")
    ingest(world, ["cpr_population", "deaths"])
    assert world.quarantine_dir is not None
    (folder,) = [p.parent for p in (world.quarantine_dir / "deaths").rglob("report.json")]
    assert "truncated" in json.loads((folder / "report.json").read_text())["reason"]
    assert "line 3" in (folder / "report.md").read_text()
    page = (folder / "report.html").read_text()
    assert page.startswith("<!doctype html>")
    assert "line 3" in page
    assert "<script" not in page
    assert "0202411235" not in page


def test_a_row_with_too_many_fields_is_refused_naming_its_line(world: Settings) -> None:
    path = world.landing_dir / "deaths" / tiny_world.SECOND_EXTRACT / "deaths.csv"  # type: ignore[operator]
    path.write_text("PNR,DODDATO,DODSAARSAG\n0101401234,2021-01-15,\n0202411235,2021-01-16,,extra\n")
    outcomes = ingest(world, ["cpr_population", "deaths"])
    (quarantined,) = outcomes["deaths"].quarantined
    assert "at line 3" in str(quarantined["reason"])
    assert "0202411235" not in str(quarantined["reason"])


def test_columns_outside_the_contract_are_dropped_and_named_with_a_stronger_warning_for_personal_data(
    world: Settings,
) -> None:
    path = world.landing_dir / "lmdb_prescriptions" / tiny_world.SECOND_EXTRACT / "lmdb_prescriptions.csv"  # type: ignore[operator]
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["FULDT_NAVN"] = "Karen Blixen"
    frame["TELEFON"] = "12345678"
    frame["LAEGE_KODE"] = "x"
    frame.to_csv(path, index=False)
    outcomes = ingest(world, ["cpr_population", "lmdb_products", "lmdb_prescriptions"])
    (landed,) = outcomes["lmdb_prescriptions"].landed
    warnings = landed["warnings"]
    assert sum("FULDT_NAVN" in w and "personal data" in w for w in warnings) == 1
    assert sum("TELEFON" in w and "personal data" in w for w in warnings) == 1
    assert sum("LAEGE_KODE" in w and "personal data" not in w and "dropped" in w for w in warnings) == 1
    prescriptions = Warehouse(world.warehouse_dir).table("prescriptions")
    assert "Karen Blixen" not in prescriptions.to_csv()
    (report,) = reports(world, "lmdb_prescriptions")
    assert "Karen Blixen" not in json.dumps(report)
    assert "12345678" not in json.dumps(report)


def test_a_column_outside_the_contract_in_a_care_table_is_named_too(world: Settings) -> None:
    engine = sa.create_engine(world.care_db_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE falls ADD COLUMN adresse TEXT"))
    engine.dispose()
    outcomes = ingest(world, ["cpr_population", "falls"])
    assert all(
        any("adresse" in w and "personal data" in w for w in item["warnings"])
        for item in outcomes["falls"].landed
    )
