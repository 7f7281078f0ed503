"""Charlson comorbidity index from ICD-10 codes: Quan et al. 2005 coding algorithm (Med Care 43:1130-9),
weights updated by Quan et al. 2011 (Am J Epidemiol 173:676-82).

Each of the 17 conditions counts once when any code starting with one of its prefixes is found in the
lookback (codes normalised: SKS ``D`` removed, no dot; ``I252`` means ICD-10 I25.2). As is usual, a more
severe form replaces the milder one: metastatic tumour replaces any malignancy, moderate/severe liver
disease replaces mild liver disease, diabetes with complications replaces diabetes without.
Conditions with a Quan 2011 weight of 0 are still detected (and testable) but add nothing.
"""

from __future__ import annotations


def _expand(letter: str, first: int, last: int) -> tuple[str, ...]:
    """Three-character categories ``letter+first .. letter+last`` (e.g. I60..I69)."""
    return tuple(f"{letter}{number:02d}" for number in range(first, last + 1))


def _subcodes(category: str, digits: str) -> tuple[str, ...]:
    """Four-character codes of one category, e.g. ("I42", "05678") -> I420, I425, ..., I428."""
    return tuple(f"{category}{digit}" for digit in digits)


_DIABETES = ("E10", "E11", "E12", "E13", "E14")

CHARLSON_CODES: dict[str, tuple[str, ...]] = {
    "myocardial_infarction": ("I21", "I22", "I252"),
    "congestive_heart_failure": (
        "I099", "I110", "I130", "I132", "I255", "I420", *_subcodes("I42", "56789"), "I43", "I50", "P290",
    ),
    "peripheral_vascular_disease": (
        "I70", "I71", "I731", "I738", "I739", "I771", "I790", "I792", "K551", "K558", "K559", "Z958", "Z959",
    ),
    "cerebrovascular_disease": ("G45", "G46", "H340", *_expand("I", 60, 69)),
    "dementia": ("F00", "F01", "F02", "F03", "F051", "G30", "G311"),
    "chronic_pulmonary_disease": (
        "I278", "I279", *_expand("J", 40, 47), *_expand("J", 60, 67), "J684", "J701", "J703",
    ),
    "rheumatic_disease": ("M05", "M06", "M315", "M32", "M33", "M34", "M351", "M353", "M360"),
    "peptic_ulcer_disease": ("K25", "K26", "K27", "K28"),
    "mild_liver_disease": (
        "B18", *_subcodes("K70", "01239"), *_subcodes("K71", "3457"), "K73", "K74", "K760",
        *_subcodes("K76", "23489"), "Z944",
    ),
    "diabetes_without_complications": tuple(
        code for category in _DIABETES for code in _subcodes(category, "01689")
    ),
    "diabetes_with_complications": tuple(
        code for category in _DIABETES for code in _subcodes(category, "23457")
    ),
    "hemiplegia_or_paraplegia": (
        "G041", "G114", "G801", "G802", "G81", "G82", *_subcodes("G83", "012349"),
    ),
    "renal_disease": (
        "I120", "I131", *_subcodes("N03", "234567"), *_subcodes("N05", "234567"), "N18", "N19", "N250",
        "Z490", "Z491", "Z492", "Z940", "Z992",
    ),
    "any_malignancy": (
        *_expand("C", 0, 26), *_expand("C", 30, 34), *_expand("C", 37, 41), "C43", *_expand("C", 45, 58),
        *_expand("C", 60, 76), *_expand("C", 81, 85), "C88", *_expand("C", 90, 97),
    ),
    "moderate_or_severe_liver_disease": (
        "I850", "I859", "I864", "I982", "K704", "K711", "K721", "K729", "K765", "K766", "K767",
    ),
    "metastatic_solid_tumour": ("C77", "C78", "C79", "C80"),
    "hiv_aids": ("B20", "B21", "B22", "B24"),
}  # fmt: skip

# Quan 2011 updated weights.
CHARLSON_WEIGHTS: dict[str, int] = {
    "myocardial_infarction": 0,
    "congestive_heart_failure": 2,
    "peripheral_vascular_disease": 0,
    "cerebrovascular_disease": 0,
    "dementia": 2,
    "chronic_pulmonary_disease": 1,
    "rheumatic_disease": 1,
    "peptic_ulcer_disease": 0,
    "mild_liver_disease": 2,
    "diabetes_without_complications": 0,
    "diabetes_with_complications": 1,
    "hemiplegia_or_paraplegia": 2,
    "renal_disease": 1,
    "any_malignancy": 2,
    "moderate_or_severe_liver_disease": 4,
    "metastatic_solid_tumour": 6,
    "hiv_aids": 4,
}

# milder condition -> the condition that replaces it when both are present
CHARLSON_HIERARCHY: dict[str, str] = {
    "any_malignancy": "metastatic_solid_tumour",
    "mild_liver_disease": "moderate_or_severe_liver_disease",
    "diabetes_without_complications": "diabetes_with_complications",
}


def charlson_conditions(codes: list[str]) -> set[str]:
    """The Charlson conditions present among one person's diagnosis codes (any SKS/ICD-10 form)."""
    from features.icd10 import normalise_icd10_prefix

    normalised = [normalise_icd10_prefix(code) for code in codes]
    return {
        condition
        for condition, prefixes in CHARLSON_CODES.items()
        if any(code.startswith(prefix) for code in normalised for prefix in prefixes)
    }


def charlson_index(codes: list[str]) -> int:
    """The Charlson index (Quan 2011 weights, with the severity hierarchy) of one person's codes."""
    present = charlson_conditions(codes)
    counted = {c for c in present if CHARLSON_HIERARCHY.get(c) not in present}
    return sum(CHARLSON_WEIGHTS[condition] for condition in counted)
