"""Charlson comorbidity index from ICD-10 codes: two published code mappings, two published weight sets.

Mappings (which codes make which condition):
- ``quan2005``: Quan H et al. Coding algorithms for defining comorbidities in ICD-9-CM and ICD-10
  administrative data. Med Care 2005;43:1130-9. 17 conditions; "any malignancy" includes leukaemia and
  lymphoma.
- ``thygesen2011``: the mapping for the Danish National Patient Registry in Thygesen SK et al. The
  predictive value of ICD-10 diagnostic coding used to assess Charlson comorbidity index conditions in the
  population-based Danish National Registry of Patients. BMC Med Res Methodol 2011;11:83 (Table 1).
  19 conditions, Charlson's original list: leukaemia and lymphoma apart from "any tumour" (C00-C75).
Weights (what each condition adds):
- ``charlson1987``: Charlson ME et al. A new method of classifying prognostic comorbidity in
  longitudinal studies. J Chronic Dis 1987;40:373-83 (1, 2, 3 or 6; the weights Thygesen 2011 lists).
- ``quan2011``: Quan H et al. Updating and validating the Charlson comorbidity index and score for risk
  adjustment in hospital discharge abstracts. Am J Epidemiol 2011;173:676-82 (0 to 6, 12 conditions
  weigh more than 0). Quan 2011 weighs "any malignancy, including leukaemia and lymphoma" as one
  condition, so with the Thygesen mapping leukaemia and lymphoma count as that one condition.

Hierarchy: in each pair the severe form replaces the mild one when both are found — metastatic solid
tumour replaces any malignancy (in the 19-condition list: any solid tumour; leukaemia and lymphoma are not
solid tumours and still count), moderate/severe liver disease replaces mild liver disease, diabetes with
end-organ damage replaces diabetes without. Charlson 1987 defines these as graded categories of one
disease ("any tumour" is without metastasis); Quan 2005 and 2011 count one form per pair the same way.

Codes are normalised prefixes (SKS ``D`` removed, no dot): ``I252`` means ICD-10 I25.2 and every code
below it; all prefixes are three or four characters (the SQL engine relies on that). Each condition
counts once, however many codes and contacts show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

CharlsonMapping = Literal["quan2005", "thygesen2011"]
CharlsonWeights = Literal["quan2011", "charlson1987"]
CharlsonVariant = Literal[
    "quan2005_quan2011", "quan2005_charlson1987", "thygesen2011_charlson1987", "thygesen2011_quan2011"
]
CHARLSON_VARIANTS: tuple[str, ...] = get_args(CharlsonVariant)
# The default: Quan 2005 codes with Quan 2011 weights (docs/models.md, "Charlson variants", says why).
DEFAULT_CHARLSON_VARIANT: CharlsonVariant = "quan2005_quan2011"


def _expand(letter: str, first: int, last: int) -> tuple[str, ...]:
    """Three-character categories ``letter+first .. letter+last`` (e.g. I60..I69)."""
    return tuple(f"{letter}{number:02d}" for number in range(first, last + 1))


def _subcodes(category: str, digits: str) -> tuple[str, ...]:
    """Four-character codes of one category, e.g. ("I42", "05678") -> I420, I425, ..., I428."""
    return tuple(f"{category}{digit}" for digit in digits)


_DIABETES = ("E10", "E11", "E12", "E13", "E14")

QUAN_2005_CODES: dict[str, tuple[str, ...]] = {
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

# Thygesen 2011, Table 1, ICD-10 column (ranges written out; "K70.0-K70.3" is K700..K703).
THYGESEN_2011_CODES: dict[str, tuple[str, ...]] = {
    "myocardial_infarction": ("I21", "I22", "I23"),
    "congestive_heart_failure": ("I50", "I110", "I130", "I132"),
    "peripheral_vascular_disease": ("I70", "I71", "I72", "I73", "I74", "I77"),
    "cerebrovascular_disease": (*_expand("I", 60, 69), "G45", "G46"),
    "dementia": ("F00", "F01", "F02", "F03", "F051", "G30"),
    "chronic_pulmonary_disease": (
        *_expand("J", 40, 47), *_expand("J", 60, 67), "J684", "J701", "J703", "J841", "J920", "J961",
        "J982", "J983",
    ),
    "rheumatic_disease": ("M05", "M06", "M08", "M09", *_expand("M", 30, 36), "D86"),  # connective tissue
    "peptic_ulcer_disease": ("K221", "K25", "K26", "K27", "K28"),
    "mild_liver_disease": ("B18", *_subcodes("K70", "01239"), "K71", "K73", "K74", "K760"),
    "diabetes_without_complications": ("E100", "E101", "E109", "E110", "E111", "E119"),
    "hemiplegia_or_paraplegia": ("G81", "G82"),
    "renal_disease": (
        "I12", "I13", *_expand("N", 0, 5), "N07", "N11", "N14", *_expand("N", 17, 19), "Q61",
    ),
    "diabetes_with_complications": (*_subcodes("E10", "2345678"), *_subcodes("E11", "2345678")),
    "any_malignancy": _expand("C", 0, 75),  # "any tumour"
    "leukaemia": _expand("C", 91, 95),
    "lymphoma": (*_expand("C", 81, 85), "C88", "C90", "C96"),
    "metastatic_solid_tumour": _expand("C", 76, 80),
    "hiv_aids": ("B21", "B22", "B23", "B24"),
    "moderate_or_severe_liver_disease": ("B150", "B160", "B162", "B190", "K704", "K72", "K766", "I85"),
}  # fmt: skip

CHARLSON_MAPPINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "quan2005": QUAN_2005_CODES,
    "thygesen2011": THYGESEN_2011_CODES,
}

QUAN_2011_WEIGHTS: dict[str, int] = {
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

CHARLSON_1987_WEIGHTS: dict[str, int] = {
    "myocardial_infarction": 1,
    "congestive_heart_failure": 1,
    "peripheral_vascular_disease": 1,
    "cerebrovascular_disease": 1,
    "dementia": 1,
    "chronic_pulmonary_disease": 1,
    "rheumatic_disease": 1,
    "peptic_ulcer_disease": 1,
    "mild_liver_disease": 1,
    "diabetes_without_complications": 1,
    "hemiplegia_or_paraplegia": 2,
    "renal_disease": 2,
    "diabetes_with_complications": 2,
    "any_malignancy": 2,
    "leukaemia": 2,
    "lymphoma": 2,
    "moderate_or_severe_liver_disease": 3,
    "metastatic_solid_tumour": 6,
    "hiv_aids": 6,
}

CHARLSON_WEIGHT_SETS: dict[str, dict[str, int]] = {
    "quan2011": QUAN_2011_WEIGHTS,
    "charlson1987": CHARLSON_1987_WEIGHTS,
}

# Conditions a weight set does not list separately, and the condition of that set they belong to.
WEIGHT_SET_MERGES: dict[str, dict[str, str]] = {
    "quan2011": {"leukaemia": "any_malignancy", "lymphoma": "any_malignancy"},
    "charlson1987": {},
}

# milder condition -> the condition that replaces it when both are present (the same for every variant)
CHARLSON_HIERARCHY: dict[str, str] = {
    "any_malignancy": "metastatic_solid_tumour",
    "mild_liver_disease": "moderate_or_severe_liver_disease",
    "diabetes_without_complications": "diabetes_with_complications",
}

# The default variant under the names used before variants existed.
CHARLSON_CODES = QUAN_2005_CODES
CHARLSON_WEIGHTS = QUAN_2011_WEIGHTS


@dataclass(frozen=True)
class CharlsonScheme:
    """One variant resolved: its code mapping, weights, merges and the column name stem."""

    variant: str
    mapping: str
    weights_name: str

    @property
    def codes(self) -> dict[str, tuple[str, ...]]:
        return CHARLSON_MAPPINGS[self.mapping]

    @property
    def weights(self) -> dict[str, int]:
        return CHARLSON_WEIGHT_SETS[self.weights_name]

    @property
    def merges(self) -> dict[str, str]:
        return WEIGHT_SET_MERGES[self.weights_name]

    @property
    def column_stem(self) -> str:
        """``charlson_index`` for the default variant (unchanged name), else ``charlson_index_<variant>``."""
        if self.variant == DEFAULT_CHARLSON_VARIANT:
            return "charlson_index"
        return f"charlson_index_{self.variant}"

    def weighted_conditions(self, present: set[str]) -> dict[str, int]:
        """The conditions that add to the index, with their weights: merged, hierarchy applied."""
        merged = {self.merges.get(condition, condition) for condition in present}
        counted = {c for c in merged if CHARLSON_HIERARCHY.get(c) not in merged}
        return {c: self.weights[c] for c in sorted(counted) if self.weights[c] > 0}


def charlson_scheme(variant: str | None = None) -> CharlsonScheme:
    """The scheme of ``variant`` (``<mapping>_<weights>``; None means the default)."""
    chosen = DEFAULT_CHARLSON_VARIANT if variant is None else variant
    if chosen not in CHARLSON_VARIANTS:
        raise ValueError(f"Unknown Charlson variant {chosen!r}; use one of {', '.join(CHARLSON_VARIANTS)}.")
    mapping, weights = chosen.split("_")
    return CharlsonScheme(chosen, mapping, weights)


def charlson_conditions(codes: list[str], variant: str | None = None) -> set[str]:
    """The Charlson conditions of ``variant``'s mapping among one person's codes (any SKS/ICD-10 form)."""
    from features.icd10 import normalise_icd10_prefix

    normalised = [normalise_icd10_prefix(code) for code in codes]
    return {
        condition
        for condition, prefixes in charlson_scheme(variant).codes.items()
        if any(code.startswith(prefix) for code in normalised for prefix in prefixes)
    }


def charlson_index(codes: list[str], variant: str | None = None) -> int:
    """The Charlson index of one person's codes under ``variant`` (default Quan 2005 codes, Quan 2011
    weights), with the severity hierarchy."""
    scheme = charlson_scheme(variant)
    return sum(scheme.weighted_conditions(charlson_conditions(codes, variant)).values())
