"""The shipped code tables name every code the synthetic world draws and fall back clearly otherwise."""

from __future__ import annotations

import csv

import pytest

from review.codes import TABLES, TABLES_DIR, medicine, medicines, name_of, table_codes
from synthetic import codes as world


def _world_diagnoses() -> set[str]:
    found = {code for group in world.CONDITION_CODES for code in group}
    found |= {code for _label, group, _condition in world.ADMISSION_CAUSES for code in group}
    for group in (
        world.FRACTURE_CODES,
        world.MINOR_INJURY_CODES,
        world.FRAILTY_CODES,
        world.PLANNED_OTHER_CODES,
        world.DEATH_CAUSES_GENERAL,
    ):
        found |= set(group)
    return found


def test_every_diagnosis_the_synthetic_world_draws_has_a_name():
    assert sorted(_world_diagnoses() - table_codes("sks_diagnoses")) == []


def test_every_drug_and_fsiii_code_of_the_synthetic_world_has_a_name():
    assert sorted({drug.atc for drug in world.ALL_DRUGS} - table_codes("atc")) == []
    codes = set(world.FSIII_FUNCTION_CODES) | set(world.HEALTH_CONDITION_CODES.values())
    assert sorted(codes - table_codes("fsiii")) == []


def test_the_codes_named_in_danish_sources_are_in_the_tables():
    for code in ("DI500", "DS720", "DJ441", "DN390", "DE86", "DF03"):
        assert name_of("sks_diagnoses", code).match == "exact"
    assert name_of("atc", "N05BA01").name == "Diazepam"
    for code in ("ALCA00", "ALCA03", "ATA1", "ATA3"):
        assert name_of("sks_procedures", code).match == "exact"


@pytest.mark.parametrize("table", TABLES)
def test_every_table_has_unique_codes_and_both_languages(table):
    with (TABLES_DIR / f"{table}.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter=";"))
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes))
    assert all(row["name_da"].strip() and row["name_en"].strip() for row in rows)


def test_a_code_is_named_in_the_page_language():
    assert name_of("sks_diagnoses", "DS720").name == "Hoftebrud (brud på lårbenshalsen)"
    assert name_of("sks_diagnoses", "ds720", "en").name == "Fracture of neck of femur (hip fracture)"


def test_an_unlisted_subcode_is_named_by_its_group_and_says_so():
    named = name_of("sks_diagnoses", "DS7209")
    assert (named.match, named.named_code, named.name) == (
        "parent",
        "DS720",
        "Hoftebrud (brud på lårbenshalsen)",
    )


def test_an_unknown_code_stays_visible_without_a_name():
    named = name_of("sks_diagnoses", "DQ999")
    assert (named.code, named.name, named.match) == ("DQ999", "", "unknown")
    assert name_of("fsiii", None).match == "unknown"


def test_a_medicine_is_named_with_its_class_and_fall_risk():
    furosemide = medicine("C03CA01")
    assert furosemide.name.name == "Furosemid"
    assert furosemide.drug_class.name == "Vanddrivende midler, loop-diuretika"
    assert furosemide.fall_risk
    assert not medicine("C09AA05").fall_risk
    unknown = medicine("X99XX99")
    assert unknown.name.match == "unknown"
    assert unknown.drug_class.match == "unknown"


def test_medicines_are_grouped_by_class_with_unknown_codes_last():
    listed = medicines(["X99XX99", "N02BE01", "C03CA01", "C09AA05"])
    assert [item.atc for item in listed][-1] == "X99XX99"
    assert [item.drug_class.name for item in listed][:3] == sorted(
        item.drug_class.name for item in listed[:3]
    )
