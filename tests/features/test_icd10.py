"""ICD-10 codes in SKS form: normalisation in Python and SQL agree."""

from __future__ import annotations

import duckdb
import pytest

from features.icd10 import normalise_icd10_prefix, parse_icd10_block, sql_icd10_condition, sql_normalised_code


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("DI500", "I500"),
        ("I50.0", "I500"),
        ("di500", "I500"),
        ("D64", "D64"),
        ("DD649", "D649"),
        ("D649", "D649"),
    ],
)
def test_sks_d_prefix_and_dots_are_removed(code, expected):
    assert normalise_icd10_prefix(code) == expected
    assert duckdb.sql(f"SELECT {sql_normalised_code(repr(code))}").fetchall()[0][0] == expected


def test_not_a_code_is_refused():
    with pytest.raises(ValueError, match="not an ICD-10"):
        normalise_icd10_prefix("hello")


def test_block_is_an_inclusive_category_range():
    assert parse_icd10_block("DI20-DI25") == ("I20", "I25")
    condition = sql_icd10_condition("code", blocks=("I20-I25",), categories=("I500",))
    rows = duckdb.sql(
        f"SELECT code, {condition} FROM (VALUES ('I200'), ('I259'), ('I260'), ('I500'), ('I509')) t(code)"
    )
    assert dict(rows.fetchall()) == {"I200": True, "I259": True, "I260": False, "I500": True, "I509": False}
