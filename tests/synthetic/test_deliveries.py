"""The deliveries have the shapes of docs/interfaces.md, arrive after the events, and carry corrections."""

from __future__ import annotations

import re

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from synthetic.deliveries import ARROW_TYPES
from synthetic.sources import CARE_TABLES, LPR3_FROM, REGISTRY_SOURCES
from tests.synthetic.reading import delivery_files, manifest, read_care_table, read_delivery, read_source

EVENT_DATE = {
    "cpr_population": "BOP_VFRA",
    "deaths": "DODDATO",
    "lpr3_contacts": "KONT_STARTTIDSPUNKT",
    "lpr2_admissions": "D_INDDTO",
    "lmdb_prescriptions": "EKSD",
    "sssy_services": "BEHANDLINGSDATO",
}


@pytest.mark.parametrize("source", sorted(REGISTRY_SOURCES))
def test_every_delivery_has_the_columns_and_types_of_its_source(small_world, source):
    spec = REGISTRY_SOURCES[source]
    files = delivery_files(small_world, source)
    assert files, f"no deliveries of {source}"
    for path in files:
        if spec.file_format == "csv":
            header = path.read_text(encoding="utf-8").splitlines()[0]
            assert [name.strip('"') for name in header.split(",")] == list(spec.column_names)
        else:
            schema = pq.read_schema(path)
            assert schema.names == list(spec.column_names)
            assert [field.type for field in schema] == [ARROW_TYPES[t] for _, t in spec.columns]


def test_delivery_folders_are_extract_dates_on_the_first_of_a_month(small_world):
    for source in REGISTRY_SOURCES:
        for path in delivery_files(small_world, source):
            assert re.fullmatch(r"\d{4}-\d{2}-01", path.parent.name)


def test_the_care_database_has_every_table_with_its_columns(small_world):
    engine = sa.create_engine(f"sqlite:///{small_world / 'care.sqlite'}")
    inspector = sa.inspect(engine)
    for name, spec in CARE_TABLES.items():
        assert [c["name"] for c in inspector.get_columns(name)] == list(spec.column_names)
    engine.dispose()


def test_every_care_table_has_rows(small_world):
    for name in CARE_TABLES:
        assert len(read_care_table(small_world, name)) > 0, name


@pytest.mark.parametrize("source", sorted(EVENT_DATE))
def test_no_row_arrives_in_an_extract_dated_before_its_event(small_world, source):
    rows = read_source(small_world, source)
    event = pd.to_datetime(rows[EVENT_DATE[source]].replace("", None))
    delivered = pd.to_datetime(rows["delivery"])
    assert (event.dropna() < delivered[event.notna()]).all()


def test_care_rows_are_registered_after_what_they_record(small_world):
    for table, column in (
        ("home_nursing_visits", "visit_date"),
        ("falls", "fall_date"),
        ("weights", "measured_date"),
    ):
        rows = read_care_table(small_world, table)
        assert (pd.to_datetime(rows["registered_at"]) >= pd.to_datetime(rows[column])).all()


def test_cause_of_death_arrives_months_after_the_death_as_a_correction(small_world):
    deaths = read_source(small_world, "deaths")
    first = deaths[deaths["DODSAARSAG"] == ""]
    later = deaths[deaths["DODSAARSAG"] != ""].merge(first, on=["PNR", "DODDATO"], suffixes=("", "_first"))
    assert len(later) > 10
    gap = pd.to_datetime(later["delivery"]) - pd.to_datetime(later["DODDATO"])
    assert (gap >= pd.Timedelta(days=90)).all()


def test_population_spells_are_closed_by_a_later_extract(small_world):
    population = read_source(small_world, "cpr_population")
    versions = population.groupby(["PNR", "BOP_VFRA"])["BOP_VTIL"].agg(["first", "last", "size"])
    corrected = versions[versions["size"] > 1]
    assert len(corrected) > 10
    assert (corrected["first"] == "").all()
    assert (corrected["last"] != "").all()


def test_hospital_contacts_and_diagnoses_are_corrected_in_later_extracts(small_world):
    contacts = read_source(small_world, "lpr3_contacts")
    assert contacts["DW_EK_KONTAKT"].duplicated().sum() > 0
    diagnoses = read_source(small_world, "lpr3_diagnoses")
    assert (diagnoses["SENERE_AFKRAEFTET"] == "1").sum() > 0


@pytest.mark.parametrize("source", sorted(REGISTRY_SOURCES))
def test_record_keys_are_unique_within_a_delivery(small_world, source):
    for path in delivery_files(small_world, source):
        rows = read_delivery(path)
        assert not rows.duplicated(list(REGISTRY_SOURCES[source].record_key)).any(), path


def test_hospital_history_before_2019_has_the_lpr2_shape_and_later_contacts_lpr3(small_world):
    lpr2 = read_source(small_world, "lpr2_admissions")
    lpr3 = read_source(small_world, "lpr3_contacts")
    assert len(lpr2) > 0
    assert (pd.to_datetime(lpr2["D_INDDTO"]) < pd.Timestamp(LPR3_FROM)).all()
    assert (pd.to_datetime(lpr3["KONT_STARTTIDSPUNKT"]) >= pd.Timestamp(LPR3_FROM)).all()


def test_the_first_extract_carries_the_history(small_world):
    first = str(manifest(small_world)["extract_dates"][0])
    prescriptions = read_delivery(delivery_files(small_world, "lmdb_prescriptions")[0])
    assert delivery_files(small_world, "lmdb_prescriptions")[0].parent.name == first
    assert pd.to_datetime(prescriptions["EKSD"]).min() < pd.Timestamp(first) - pd.Timedelta(days=300)


def test_secondary_diagnoses_carry_frailty_and_chronic_codes(small_world):
    diagnoses = read_source(small_world, "lpr3_diagnoses")
    secondary = diagnoses[diagnoses["DIAG_KODE_TYPE"] == "B"]["DIAG_KODE"]
    assert secondary.str.startswith("DR29").any()
    assert secondary.str.startswith("DI50").any()
    assert diagnoses["DIAG_KODE"].str.fullmatch(r"D[A-Z]\d{2}\w*").all()


def test_unplanned_admissions_are_acute_physical_and_longer_than_twelve_hours(small_world):
    contacts = read_source(small_world, "lpr3_contacts")
    hours = (
        pd.to_datetime(contacts["KONT_SLUTTIDSPUNKT"]) - pd.to_datetime(contacts["KONT_STARTTIDSPUNKT"])
    ).dt.total_seconds() / 3600
    acute = contacts["PRIORITET"] == "ATA1"
    assert (acute & (hours >= 12)).sum() > 100
    assert (acute & (hours < 12)).sum() > 10  # emergency-room visits after falls
    assert set(contacts["KONT_TYPE"]) == {"ALCA00", "ALCA03"}


def test_gp_services_have_a_treatment_date_only_from_2021(small_world):
    services = read_source(small_world, "sssy_services")
    dated = services["BEHANDLINGSDATO"] != ""
    assert dated.any()
    assert (pd.to_datetime(services.loc[dated, "BEHANDLINGSDATO"]) >= pd.Timestamp("2021-01-01")).all()
    assert services["HONUGE"].str.fullmatch(r"\d{4}").all()
    assert services["SPECIALE"].str.startswith("80").all()


def test_the_product_table_gives_ddd_for_every_dispensed_product(small_world):
    products = read_source(small_world, "lmdb_products")
    prescriptions = read_source(small_world, "lmdb_prescriptions")
    assert set(prescriptions["VNR"]) <= set(products["VNR"])
    assert products["ATC"].str.fullmatch(r"[A-Z]\d{2}[A-Z]{2}\d{2}").all()
