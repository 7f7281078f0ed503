"""Code lists the synthetic world draws from: municipalities, SKS diagnoses, drugs, FSIII codes, names.

Every list is ordered and fixed, so a seed maps to the same world on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass

# Simulated municipalities and their care districts.
MUNICIPALITY_NAMES: dict[str, str] = {
    "101": "København",
    "751": "Aarhus",
    "461": "Odense",
    "851": "Aalborg",
    "147": "Frederiksberg",
    "157": "Gentofte",
    "615": "Horsens",
    "630": "Vejle",
}
DISTRICTS_PER_MUNICIPALITY: dict[str, int] = {
    "101": 5,
    "751": 4,
    "461": 3,
    "851": 3,
    "147": 2,
    "157": 2,
    "615": 2,
    "630": 2,
}
# Real municipalities citizens may move to; they are outside the simulated area (no care data there).
OUTSIDE_MUNICIPALITIES: tuple[str, ...] = ("159", "167", "173", "230", "265", "657", "791", "860")
DEFAULT_MUNICIPALITIES: tuple[str, ...] = ("101", "751", "461", "851")

CONDITIONS: tuple[str, ...] = ("heart_failure", "copd", "diabetes", "dementia", "stroke", "cancer")
HEART_FAILURE, COPD, DIABETES, DEMENTIA, STROKE, CANCER = range(len(CONDITIONS))

# SKS codes used as secondary (B) diagnoses for a known chronic condition.
CONDITION_CODES: tuple[tuple[str, ...], ...] = (
    ("DI500", "DI509"),
    ("DJ449", "DJ441"),
    ("DE119", "DE118"),
    ("DF03", "DF009", "DF019"),
    ("DI639", "DI693"),
    ("DC349", "DC189", "DC619", "DC509", "DC679"),
)

# Causes of acute (unplanned) medical admissions: (label, action diagnosis codes, condition or -1).
ADMISSION_CAUSES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("pneumonia", ("DJ189", "DJ159", "DJ22"), -1),
    ("urinary_infection", ("DN390", "DN300"), -1),
    ("dehydration", ("DE86", "DE871"), -1),
    ("sepsis", ("DA419",), -1),
    ("heart_failure", ("DI500",), HEART_FAILURE),
    ("copd_exacerbation", ("DJ441",), COPD),
    ("stroke", ("DI639", "DI634"), STROKE),
    ("dementia_delirium", ("DF050", "DF03"), DEMENTIA),
    ("cancer", ("DC349", "DC189", "DC619"), CANCER),
    ("diabetes", ("DE119", "DE110"), DIABETES),
    ("atrial_fibrillation", ("DI489",), -1),
    ("gastrointestinal_bleeding", ("DK922",), -1),
    ("chest_pain", ("DR074",), -1),
    ("malaise", ("DR539", "DR410"), -1),
)
# Fall injuries: fracture codes lead to admission, the others to a short emergency visit.
FRACTURE_CODES: tuple[str, ...] = ("DS720", "DS721", "DS324", "DS422")
MINOR_INJURY_CODES: tuple[str, ...] = ("DS525", "DS0600", "DS800", "DS008", "DT141")
# Secondary diagnoses that a frail patient accrues (Hospital Frailty Risk Score categories).
FRAILTY_CODES: tuple[str, ...] = (
    "DR296",
    "DR410",
    "DR54",
    "DZ740",
    "DL899",
    "DR32",
    "DE871",
    "DW19",
    "DF059",
    "DR268",
    "DE559",
    "DM819",
    "DN179",
    "DZ993",
)
# Planned contacts for chronic conditions (outpatient clinics) and unrelated planned care.
PLANNED_OTHER_CODES: tuple[str, ...] = ("DH251", "DM161", "DM171", "DI10", "DZ038", "DK409", "DN401")
# Causes of death: (code, condition or -1). Chosen from the citizen's conditions first.
DEATH_CAUSES_GENERAL: tuple[str, ...] = ("DI219", "DJ189", "DR999", "DI251", "DA419", "DR54")

UNIT_CODES: tuple[str, ...] = (
    "1301011",
    "1301019",
    "4202060",
    "5501032",
    "6006030",
    "7601040",
    "8001018",
    "8003120",
)


@dataclass(frozen=True)
class Drug:
    """A dispensed product: ATC, the product's pack, and who tends to take it.

    ``base_logit`` sets how common it is among people without the linked condition, ``condition`` and
    ``condition_logit`` raise it for people with one, ``frailty_logit`` raises it with latent frailty.
    """

    atc: str
    name: str
    strength: float
    strength_unit: str
    pack_size: float
    ddd_per_pack: float
    base_logit: float
    condition: int = -1
    condition_logit: float = 0.0
    frailty_logit: float = 0.4
    fall_risk: bool = False


CHRONIC_DRUGS: tuple[Drug, ...] = (
    Drug("C09AA05", "Ramipril", 5.0, "MG", 100, 50.0, -1.6, HEART_FAILURE, 2.5),
    Drug("C08CA01", "Amlodipin", 5.0, "MG", 100, 100.0, -1.5),
    Drug("C07AB07", "Bisoprolol", 5.0, "MG", 100, 50.0, -2.3, HEART_FAILURE, 2.8),
    Drug("C03CA01", "Furosemid", 40.0, "MG", 100, 100.0, -3.2, HEART_FAILURE, 3.8, 0.9, True),
    Drug("C03AB01", "Centyl med kaliumklorid", 2.5, "MG", 100, 100.0, -2.5, fall_risk=True),
    Drug("C10AA01", "Simvastatin", 40.0, "MG", 100, 133.0, -1.0, STROKE, 2.0),
    Drug("B01AC06", "Hjertemagnyl", 75.0, "MG", 100, 100.0, -1.6, STROKE, 2.5),
    Drug("B01AF02", "Eliquis", 5.0, "MG", 168, 84.0, -2.6, STROKE, 1.5),
    Drug("A10BA02", "Metformin", 500.0, "MG", 100, 25.0, -6.0, DIABETES, 6.5),
    Drug("A10AE04", "Lantus", 100.0, "IE/ML", 5, 37.5, -8.0, DIABETES, 6.0),
    Drug("R03BB04", "Spiriva", 18.0, "UG", 30, 30.0, -6.0, COPD, 6.5),
    Drug("R03AC02", "Ventoline", 0.1, "MG", 200, 25.0, -5.0, COPD, 5.5),
    Drug("N06DA02", "Donepezil", 10.0, "MG", 98, 98.0, -9.0, DEMENTIA, 7.5),
    Drug("A02BC02", "Pantoprazol", 40.0, "MG", 100, 100.0, -1.8),
    Drug("N02BE01", "Panodil", 500.0, "MG", 100, 17.0, -1.9, frailty_logit=1.0),
    Drug("A11CC05", "D-vitamin", 0.02, "MG", 100, 100.0, -2.3, frailty_logit=0.9),
    Drug("H03AA01", "Eltroxin", 0.1, "MG", 100, 100.0, -2.5, frailty_logit=0.3),
    Drug("M05BA04", "Alendronat", 70.0, "MG", 12, 84.0, -3.2, frailty_logit=0.8),
    Drug("N06AB04", "Citalopram", 20.0, "MG", 100, 100.0, -2.9, DEMENTIA, 1.2, 0.9, True),
    Drug("N05CF01", "Zopiclon", 7.5, "MG", 30, 30.0, -3.3, frailty_logit=0.8, fall_risk=True),
    Drug("N02AX02", "Tramadol", 50.0, "MG", 100, 17.0, -3.5, frailty_logit=1.0, fall_risk=True),
    Drug("N03AX12", "Gabapentin", 300.0, "MG", 100, 16.7, -3.8, frailty_logit=0.8, fall_risk=True),
    Drug("N05AH04", "Quetiapin", 25.0, "MG", 100, 6.3, -6.0, DEMENTIA, 3.0, 0.8, True),
    Drug("A06AD11", "Laktulose", 667.0, "MG/ML", 500, 75.0, -3.0, frailty_logit=1.1),
    Drug("G04CA02", "Tamsulosin", 0.4, "MG", 100, 100.0, -3.0),
)
# Short courses after acute episodes: antibiotics, steroids.
ACUTE_DRUGS: tuple[Drug, ...] = (
    Drug("J01CA08", "Pivmecillinam", 400.0, "MG", 10, 5.0, 0.0),
    Drug("J01CE02", "Penicillin V", 800.0, "MG", 20, 5.0, 0.0),
    Drug("J01EA01", "Trimethoprim", 100.0, "MG", 20, 5.0, 0.0),
    Drug("H02AB06", "Prednisolon", 25.0, "MG", 10, 25.0, 0.0),
)
ALL_DRUGS: tuple[Drug, ...] = CHRONIC_DRUGS + ACUTE_DRUGS


def product_number(drug_index: int) -> str:
    """The 6-digit VNR of a product in ``ALL_DRUGS`` (stable across runs)."""
    return f"{100000 + drug_index * 7919 % 899999:06d}"


# FSIII functional ability (J codes) assessed for care recipients: (code, domain weight on dementia).
FSIII_FUNCTION_CODES: tuple[str, ...] = (
    "J1.1",
    "J1.2",
    "J1.3",
    "J1.4",
    "J1.8",
    "J2.1",
    "J2.2",
    "J2.3",
    "J3.1",
    "J3.4",
    "J3.5",
    "J4.1",
    "J4.2",
    "J5.1",
)
# Health conditions (I codes) and what triggers them in the world.
HEALTH_CONDITION_CODES: dict[str, str] = {
    "weight_loss": "I3.3",
    "memory": "I11.1",
    "mobility": "I2.2",
    "function_level": "I1.1",
    "pressure_ulcer": "I4.2",
    "breathing": "I7.1",
    "incontinence": "I12.1",
    "pain": "I9.1",
}

GP_SPECIALTY = "800010"
OTHER_SPECIALTIES: tuple[str, ...] = ("800012", "800015")

MALE_FIRST_NAMES: tuple[str, ...] = (
    "Jens", "Niels", "Søren", "Hans", "Poul", "Jørgen", "Henrik", "Ole", "Erik", "Bent", "Preben",
    "Finn", "Knud", "Aage", "Leif", "Flemming", "Kurt", "Børge", "Villy", "Ejnar", "Mogens", "Arne",
    "Palle", "Svend", "Kjeld", "Torben", "Carsten", "Bjørn", "Frede", "Ib",
)  # fmt: skip
FEMALE_FIRST_NAMES: tuple[str, ...] = (
    "Kirsten", "Hanne", "Anne", "Inge", "Lis", "Else", "Grethe", "Birthe", "Jytte", "Karen", "Ruth",
    "Bodil", "Gurli", "Ingrid", "Lone", "Susanne", "Bente", "Jette", "Annelise", "Ellen", "Åse",
    "Dorthe", "Merete", "Vibeke", "Tove", "Gerda", "Edith", "Sonja", "Ulla", "Aase",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
    "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Christiansen",
    "Poulsen", "Johansen", "Møller", "Mortensen", "Knudsen", "Jakobsen", "Mikkelsen", "Frederiksen",
    "Østergaard", "Bæk", "Lauritsen", "Dalgaard", "Søndergaard", "Kjær", "Holm", "Schmidt",
)  # fmt: skip
