"""Intake of deliveries (plain functions, no Prefect): clean ones land, broken ones are quarantined."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from data_contracts.intake import SourceOutcome
from pipelines.ingest_flow import build_context, run_ingest, selected_sources
from pipelines.settings import Settings
from tests.data_contracts import tiny_world
from warehouse import Warehouse


def ingest(settings: Settings, sources: list[str] | None = None) -> dict[str, SourceOutcome]:
    context = build_context(settings, echo=lambda _: None)
    return {o.source: o for o in run_ingest(context, selected_sources(sources))}


@pytest.fixture
def world(tmp_path: Path) -> Settings:
    return tiny_world.write_tiny_world(tmp_path / "home")


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, SourceOutcome]]:
    """The tiny world ingested once, for the tests that only read what landed."""
    settings = tiny_world.write_tiny_world(tmp_path_factory.mktemp("landed") / "home")
    return settings, ingest(settings)


def reports(settings: Settings, source: str) -> list[dict]:
    assert settings.quarantine_dir is not None
    return [
        json.loads(p.read_text()) for p in sorted((settings.quarantine_dir / source).rglob("report.json"))
    ]


def test_clean_deliveries_land_with_bookkeeping_columns(
    landed: tuple[Settings, dict[str, SourceOutcome]],
) -> None:
    world, outcomes = landed
    assert all(not o.quarantined for o in outcomes.values())
    store = Warehouse(world.warehouse_dir)
    contacts = store.table("hospital_contacts")
    assert len(contacts) == 3
    for column in ("person_key", "_record_key", "_valid_time", "_delivered_at", "_ingested_at", "_batch_id"):
        assert contacts[column].notna().all(), column
    assert set(contacts["priority"]) == {"acute", "planned"}
    assert "PNR" not in contacts.columns


def test_a_rerun_is_a_no_op(world: Settings) -> None:
    ingest(world, ["cpr_population", "lpr3_contacts", "lpr3_diagnoses", "home_care"])
    store = Warehouse(world.warehouse_dir)
    before = store.batches()
    again = ingest(world)  # everything: the sources taken before are skipped, the others land now
    assert sum(len(o.landed) for o in again.values()) > 0
    assert all(
        not again[s].landed for s in ("cpr_population", "lpr3_contacts", "lpr3_diagnoses", "home_care")
    )
    before = store.batches()
    again = ingest(world)
    assert sum(len(o.landed) + len(o.quarantined) for o in again.values()) == 0
    assert len(store.batches()) == len(before)


def test_diagnoses_get_person_and_contact_start_from_their_contact(
    landed: tuple[Settings, dict[str, SourceOutcome]],
) -> None:
    world, _ = landed
    store = Warehouse(world.warehouse_dir)
    diagnoses = store.table("hospital_diagnoses")
    contacts = store.table("hospital_contacts").set_index("contact_id")
    joined = diagnoses.merge(
        contacts[["person_key", "contact_start"]],
        left_on="contact_id",
        right_index=True,
        suffixes=("", "_contact"),
    )
    assert (joined["person_key"] == joined["person_key_contact"]).all()
    assert (joined["contact_start"] == joined["contact_start_contact"]).all()
    assert diagnoses["retracted"].sum() == 1


def test_prescriptions_get_ddd_from_the_product_table(
    landed: tuple[Settings, dict[str, SourceOutcome]],
) -> None:
    world, _ = landed
    prescriptions = Warehouse(world.warehouse_dir).table("prescriptions")
    assert prescriptions.sort_values("_record_key")["ddd"].notna().all()
    assert sorted(prescriptions["ddd"]) == [2.5, 2.5, 50.0, 100.0]


def test_gp_services_without_a_treatment_date_fall_back_to_the_monday_of_the_fee_week(
    landed: tuple[Settings, dict[str, SourceOutcome]],
) -> None:
    world, _ = landed
    services = Warehouse(world.warehouse_dir).table("gp_services")
    undated = services[services["fee_week"] == "2102"].sort_values("service_date")
    assert pd.Timestamp("2021-01-11") in set(undated["service_date"])


def test_a_population_correction_supersedes_the_open_spell_from_its_extract_date(
    landed: tuple[Settings, dict[str, SourceOutcome]],
) -> None:
    world, _ = landed
    store = Warehouse(world.warehouse_dir)
    assert len(store.table("population")) == tiny_world.CITIZENS + 1
    early = store.table("population", as_known_at="2021-01-15")
    late = store.table("population", as_known_at="2021-02-15")
    assert early["spell_end"].isna().all()
    assert late["spell_end"].notna().sum() == 1


def test_a_care_record_rewrite_is_kept_as_a_new_version(world: Settings) -> None:
    ingest(world, ["cpr_population", "home_care"])
    engine = sa.create_engine(world.care_db_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE home_care SET perpl_lev = 100, registered_at = '2021-03-01 09:00:00' WHERE id = 1"
            )
        )
    engine.dispose()
    outcomes = ingest(world, ["home_care"])
    assert [item["rows"] for item in outcomes["home_care"].landed] == [1]
    care = Warehouse(world.warehouse_dir).table("home_care")
    versions = care[care["_record_key"] == "home_care:1"].sort_values("_delivered_at")
    assert versions["personal_care_delivered"].tolist() == [110, 100]


def test_a_broken_delivery_is_quarantined_with_rows_and_rule_but_no_values(world: Settings) -> None:
    path = world.landing_dir / "lmdb_prescriptions" / tiny_world.SECOND_EXTRACT / "lmdb_prescriptions.csv"  # type: ignore[operator]
    frame = pd.read_csv(path, dtype=str)
    frame.loc[2, "ATC"] = "XYZ"
    frame.to_csv(path, index=False)
    outcomes = ingest(world, ["cpr_population", "lmdb_products", "lmdb_prescriptions", "sssy_services"])
    assert len(outcomes["lmdb_prescriptions"].quarantined) == 1
    assert len(outcomes["sssy_services"].landed) == 1  # other sources still land
    (report,) = reports(world, "lmdb_prescriptions")
    atc = [f for f in report["findings"] if f["column"] == "ATC" and "regex" in f["expectation"]]
    assert atc[0]["failing_rows"] == 1
    assert atc[0]["row_numbers"] == [3]
    assert atc[0]["severity"] == "blocking"
    text = json.dumps(report)
    assert "XYZ" not in text
    assert all(cpr not in text for cpr in tiny_world.cprs())
    assert "prescriptions" not in Warehouse(world.warehouse_dir).tables()


def test_the_markdown_report_says_what_to_do(world: Settings) -> None:
    path = world.landing_dir / "deaths" / tiny_world.SECOND_EXTRACT / "deaths.csv"  # type: ignore[operator]
    path.write_text("PNR,DODDATO,DODSAARSAG\n" + tiny_world.cprs()[1] + ",2031-01-15,\n")
    ingest(world, ["cpr_population", "deaths"])
    (markdown,) = (world.quarantine_dir / "deaths").rglob("report.md")  # type: ignore[operator]
    content = markdown.read_text()
    assert "DODDATO is not in the future" in content
    assert "What to do next" in content
    assert tiny_world.cprs()[1] not in content


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        (lambda p: p.write_text(""), "empty"),
        (lambda p: p.write_text("PNR,DODSAARSAG\n0101401234,\n"), "DODDATO"),
        (lambda p: p.write_text("PNR,DODDATO,DODSAARSAG\n"), "no data rows"),
        (lambda p: p.write_text("PNR,DODDATO,DODSAARSAG\n0101401234,2021-01-15,\n0202"), "truncated"),
    ],
    ids=["empty-file", "missing-column", "header-only", "truncated"],
)
def test_unreadable_files_are_quarantined_with_a_clear_reason(world: Settings, breakage, reason: str) -> None:
    breakage(world.landing_dir / "deaths" / tiny_world.SECOND_EXTRACT / "deaths.csv")  # type: ignore[operator]
    outcomes = ingest(world, ["cpr_population", "deaths"])
    (quarantined,) = outcomes["deaths"].quarantined
    assert reason in str(quarantined["reason"])
    assert "0101401234" not in json.dumps(reports(world, "deaths"))


def test_a_truncated_parquet_file_is_quarantined(world: Settings) -> None:
    path = world.landing_dir / "lpr3_contacts" / tiny_world.SECOND_EXTRACT / "lpr3_contacts.parquet"  # type: ignore[operator]
    path.write_bytes(path.read_bytes()[:-40])
    outcomes = ingest(world, ["cpr_population", "lpr3_contacts", "lpr3_diagnoses"])
    assert "PARQUET" in str(outcomes["lpr3_contacts"].quarantined[0]["reason"])
    # Diagnoses then point to unknown contacts: quarantined by the cross-table rule.
    (report,) = reports(world, "lpr3_diagnoses")
    assert any("known contact" in f["rule"] for f in report["findings"])


def test_a_person_unknown_in_the_population_blocks_the_delivery(world: Settings) -> None:
    path = world.landing_dir / "sssy_services" / tiny_world.SECOND_EXTRACT / "sssy_services.csv"  # type: ignore[operator]
    frame = pd.read_csv(path, dtype=str)
    frame.loc[0, "PNR"] = tiny_world.cpr_number(99)
    frame.to_csv(path, index=False)
    ingest(world, ["cpr_population", "sssy_services"])
    (report,) = reports(world, "sssy_services")
    rules = {f["rule"]: f["row_numbers"] for f in report["findings"]}
    assert rules["cross-table: every person (PNR) is known in the population"] == [1]


def test_a_contact_that_ends_before_it_starts_blocks_the_delivery(world: Settings) -> None:
    path = world.landing_dir / "lpr3_contacts" / tiny_world.SECOND_EXTRACT / "lpr3_contacts.parquet"  # type: ignore[operator]
    frame = pd.read_parquet(path)
    frame.loc[1, "KONT_SLUTTIDSPUNKT"] = pd.Timestamp("2021-01-01")
    frame.to_parquet(path, index=False)
    ingest(world, ["cpr_population", "lpr3_contacts"])
    (report,) = reports(world, "lpr3_contacts")
    (finding,) = [f for f in report["findings"] if "ends" in f["rule"]]
    assert finding["row_numbers"] == [2]


def test_duplicated_citizens_in_a_care_increment_are_reported_by_record_id(world: Settings) -> None:
    engine = sa.create_engine(world.care_db_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO home_care SELECT 9, cpr, month, perpl_vis, perpl_lev, prahj_vis, prahj_lev, "
                "provider_type, '2021-01-05 10:00:00' FROM home_care WHERE id = 1"
            )
        )
    engine.dispose()
    outcomes = ingest(world, ["cpr_population", "home_care"])
    assert [q["delivery"] for q in outcomes["home_care"].quarantined] == ["registered-2021-01"]
    assert len(outcomes["home_care"].landed) == 1  # February is clean and lands
    (report,) = reports(world, "home_care")
    (duplicate,) = [
        f for f in report["findings"] if f["expectation"] == "expect_compound_columns_to_be_unique"
    ]
    assert duplicate["row_reference"] == "record_id"
    assert sorted(duplicate["row_numbers"]) == [1, 9]


def test_a_volume_drop_is_a_warning_and_the_delivery_still_lands(world: Settings) -> None:
    landing = world.landing_dir
    assert landing is not None
    base = tiny_world.population_frame()
    tiny_world.write_csv(
        landing, "cpr_population", "2021-03-01", base.assign(STATUS="01", BOP_VFRA="2021-02-10")
    )
    tiny_world.write_csv(landing, "cpr_population", "2021-04-01", base.iloc[:1].assign(BOP_VFRA="2021-03-10"))
    tiny_world.write_csv(landing, "cpr_population", "2021-05-01", base.assign(BOP_VFRA="2021-04-10"))
    outcomes = ingest(world, ["cpr_population"])
    landed = {item["delivery"]: item["warnings"] for item in outcomes["cpr_population"].landed}
    assert any("previous delivery" in w for w in landed["2021-05-01"])
    assert not outcomes["cpr_population"].quarantined


def test_the_key_store_is_written_only_in_an_operational_deployment(tmp_path: Path) -> None:
    research = tiny_world.write_tiny_world(tmp_path / "research", deployment="research")
    ingest(research, ["cpr_population"])
    assert not Path(str(research.keystore_url).removeprefix("sqlite:///")).exists()
    operational = tiny_world.write_tiny_world(tmp_path / "operational", deployment="operational")
    ingest(operational, ["cpr_population"])
    engine = sa.create_engine(operational.keystore_url)  # type: ignore[arg-type]
    keys = pd.read_sql("SELECT * FROM keystore", engine)
    engine.dispose()
    assert len(keys) == tiny_world.CITIZENS
    assert set(keys["cpr"]) == set(tiny_world.cprs())
    population = Warehouse(operational.warehouse_dir).table("population")  # type: ignore[arg-type]
    assert set(keys["person_key"]) == set(population["person_key"])
    assert "name" not in population.columns
    assert "NAVN" not in population.columns
