"""ICD-10 codes as they arrive in Danish registries (SKS: ``D`` + ICD-10, no dot) and their groupings.

Codes are compared in one normal form: upper case, SKS ``D`` prefix removed, no dot
(``DI500`` → ``I500``, ``I50.0`` → ``I500``). A category is the first three characters.
"""

from __future__ import annotations

import re

# WHO ICD-10 chapters: Roman numeral -> (first category, last category, short English title).
ICD10_CHAPTERS: dict[str, tuple[str, str, str]] = {
    "I": ("A00", "B99", "infectious"),
    "II": ("C00", "D48", "neoplasms"),
    "III": ("D50", "D89", "blood"),
    "IV": ("E00", "E90", "endocrine"),
    "V": ("F00", "F99", "mental"),
    "VI": ("G00", "G99", "nervous"),
    "VII": ("H00", "H59", "eye"),
    "VIII": ("H60", "H95", "ear"),
    "IX": ("I00", "I99", "circulatory"),
    "X": ("J00", "J99", "respiratory"),
    "XI": ("K00", "K93", "digestive"),
    "XII": ("L00", "L99", "skin"),
    "XIII": ("M00", "M99", "musculoskeletal"),
    "XIV": ("N00", "N99", "genitourinary"),
    "XV": ("O00", "O99", "pregnancy"),
    "XVI": ("P00", "P96", "perinatal"),
    "XVII": ("Q00", "Q99", "congenital"),
    "XVIII": ("R00", "R99", "symptoms"),
    "XIX": ("S00", "T98", "injury"),
    "XX": ("V01", "Y98", "external_causes"),
    "XXI": ("Z00", "Z99", "health_services"),
}

_CODE_PATTERN = re.compile(r"^[A-Z]\d\d[0-9A-Z]*$")


def normalise_icd10_prefix(code: str) -> str:
    """``DI50.0`` / ``di500`` / ``I50.0`` → ``I500``; raises ValueError for something that is not ICD-10.

    The SKS ``D`` is removed only when what follows is itself a code (``D64`` stays the anaemia code
    ``D64``; ``DD64`` becomes ``D64``).
    """
    text = code.strip().upper().replace(".", "")
    if len(text) >= 4 and text[0] == "D" and _CODE_PATTERN.match(text[1:]):
        text = text[1:]
    if not _CODE_PATTERN.match(text):
        raise ValueError(f"{code!r} is not an ICD-10 code or prefix (expected a letter and two digits).")
    return text


def parse_icd10_block(block: str) -> tuple[str, str]:
    """``I20-I25`` → (``I20``, ``I25``): inclusive three-character category range."""
    parts = block.split("-")
    if len(parts) != 2:
        raise ValueError(f"ICD-10 block {block!r} must look like 'I20-I25'.")
    first, last = (normalise_icd10_prefix(part) for part in parts)
    if len(first) != 3 or len(last) != 3 or first > last:
        raise ValueError(f"ICD-10 block {block!r} must be two three-character categories, first <= last.")
    return first, last


def sql_normalised_code(column: str) -> str:
    """SQL for the normal form of an SKS/ICD-10 code column (same rule as ``normalise_icd10_prefix``)."""
    cleaned = f"upper(replace(trim({column}), '.', ''))"
    return (
        f"CASE WHEN length({cleaned}) >= 4"
        f" AND regexp_full_match(substr({cleaned}, 2), '[A-Z][0-9][0-9][0-9A-Z]*')"
        f" AND substr({cleaned}, 1, 1) = 'D' THEN substr({cleaned}, 2) ELSE {cleaned} END"
    )


def sql_icd10_condition(
    code_column: str,
    chapters: tuple[str, ...] = (),
    blocks: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
) -> str:
    """SQL that is true when the (already normalised) code column falls in any chapter, block or prefix."""
    category = f"substr({code_column}, 1, 3)"
    terms = []
    for chapter in chapters:
        first, last, _ = ICD10_CHAPTERS[chapter]
        terms.append(f"({category} BETWEEN '{first}' AND '{last}')")
    for block in blocks:
        first, last = parse_icd10_block(block)
        terms.append(f"({category} BETWEEN '{first}' AND '{last}')")
    by_length: dict[int, set[str]] = {}
    for prefix in categories:
        code = normalise_icd10_prefix(prefix)
        by_length.setdefault(len(code), set()).add(code)
    for length, codes in sorted(by_length.items()):
        listed = ", ".join(f"'{code}'" for code in sorted(codes))
        terms.append(f"(substr({code_column}, 1, {length}) IN ({listed}))")
    return "(" + " OR ".join(terms) + ")" if terms else "TRUE"
