"""Names for the codes the citizen page shows: SKS diagnoses and contact codes, ATC, FSIII.

The tables are small semicolon-separated files shipped in ``review/code_tables`` (``code;name_da;name_en``,
ATC also ``fall_risk``), holding the codes the synthetic world and ``danish-sources.md`` use plus their
parent groups. A deployment may replace them with the full national tables (same columns).

Lookup: the exact code; else the nearest parent code in the same table (``DE8719`` -> ``DE871``), shown as
"group" so it is not mistaken for the exact diagnosis; else the bare code with "unknown code", so a page
never hides a code it cannot name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

TABLES_DIR = Path(__file__).parent / "code_tables"
Table = Literal["sks_diagnoses", "sks_procedures", "atc", "fsiii"]
TABLES: tuple[Table, ...] = ("sks_diagnoses", "sks_procedures", "atc", "fsiii")
MIN_PARENT_LENGTH = {"sks_diagnoses": 3, "sks_procedures": 3, "atc": 3, "fsiii": 2}


@dataclass(frozen=True)
class CodeName:
    """A code and what to call it. ``match`` is ``exact``, ``parent`` (named by ``named_code``, a group the
    code belongs to) or ``unknown`` (``name`` empty)."""

    code: str
    name: str
    match: Literal["exact", "parent", "unknown"]
    named_code: str = ""


@dataclass(frozen=True)
class Medicine:
    """A dispensed ATC code as the citizen page lists it: substance, class, and whether it is one of the
    fall-risk-increasing drug groups."""

    atc: str
    name: CodeName
    drug_class: CodeName
    fall_risk: bool


@cache
def _table(table: Table) -> dict[str, dict[str, str]]:
    path = TABLES_DIR / f"{table}.csv"
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter=";"))
    return {row["code"].strip().upper(): row for row in rows if row.get("code")}


def table_codes(table: Table) -> set[str]:
    """Every code the shipped table names."""
    return set(_table(table))


def name_of(table: Table, code: str | None, language: str = "da") -> CodeName:
    """The name of ``code`` in ``language`` (exact, else nearest parent group, else unknown)."""
    wanted = (code or "").strip().upper()
    rows = _table(table)
    column = "name_en" if language == "en" else "name_da"
    if wanted in rows:
        return CodeName(wanted, rows[wanted][column], "exact", wanted)
    for length in range(len(wanted) - 1, MIN_PARENT_LENGTH[table] - 1, -1):
        parent = wanted[:length].rstrip(".")
        if parent in rows:
            return CodeName(wanted, rows[parent][column], "parent", parent)
    return CodeName(wanted, "", "unknown")


def medicine(atc: str, language: str = "da") -> Medicine:
    """An ATC code with its substance name, its class (ATC level 3, else level 2) and the fall-risk mark."""
    code = atc.strip().upper()
    rows = _table("atc")
    drug_class = name_of("atc", code[:4], language)
    if drug_class.match != "exact":
        drug_class = name_of("atc", code[:3], language)
    fall_risk = any(rows.get(code[:length], {}).get("fall_risk") == "yes" for length in (7, 5, 4, 3))
    return Medicine(code, name_of("atc", code, language), drug_class, fall_risk)


def medicines(codes: list[str] | tuple[str, ...], language: str = "da") -> list[Medicine]:
    """The medicines of ``codes``, grouped by class then named (unknown codes last)."""
    listed = [medicine(code, language) for code in codes if code]
    return sorted(
        listed, key=lambda m: (m.drug_class.match == "unknown", m.drug_class.name, m.name.name, m.atc)
    )
