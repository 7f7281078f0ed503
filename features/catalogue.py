"""The domain feature set Tidlig ships with (``default_feature_set``), written as declarative specs.

Every column name says what it is: ``<name>_<aggregation>_<start>_to_<end>d`` (days before the prediction
date), scores ``hfrs_score_0_to_730d`` / ``charlson_index_0_to_1825d``, derived columns by their own names.
Every spec carries its clinical concept (``features.spec.Concept``), set here group by group with
:func:`_about`. Changing anything here changes the spec hash and therefore the feature-set version.
Column names that other layers read are exported as constants (``PERSONAL_CARE_MINUTES_COLUMN``, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from features.icd10 import ICD10_CHAPTERS
from features.spec import (
    AnyFeatureSpec,
    Concept,
    DerivedFeatureSpec,
    FeatureSetSpec,
    FeatureSpec,
    RowFilter,
    ScoreFeatureSpec,
    Window,
)

DEFAULT_FEATURE_SET_NAME = "tidlig-default-v1"

D30, D90, D180, D365, D730, D1825 = (Window(0, d) for d in (30, 90, 180, 365, 730, 1825))
D30_90, D90_180, D90_365, D180_365, D365_730 = (
    Window(30, 90),
    Window(90, 180),
    Window(90, 365),
    Window(180, 365),
    Window(365, 730),
)

# Key conditions: ICD-10 categories or longer codes (SKS D prefix is removed before matching).
KEY_CONDITIONS: dict[str, tuple[str, ...]] = {
    "heart_failure": ("I50", "I110", "I130", "I132", "I420", "I425", "I426", "I427", "I428", "I429"),
    "copd": ("J43", "J44"),
    "diabetes": ("E10", "E11", "E12", "E13", "E14"),
    "dementia": ("F00", "F01", "F02", "F03", "G30", "G311"),
    "stroke": ("I60", "I61", "I63", "I64"),
    "cancer": tuple(f"C{n:02d}" for n in range(0, 98) if n != 44),
    "hip_fracture": ("S720", "S721", "S722"),
    "delirium": ("F05",),
    "atrial_fibrillation": ("I48",),
    "chronic_kidney_disease": ("N18",),
    "pneumonia": ("J12", "J13", "J14", "J15", "J16", "J17", "J18"),
    "urinary_tract_infection": ("N390", "N30"),
    "dehydration": ("E86",),
    "depression": ("F32", "F33"),
    "parkinsonism": ("G20", "G21", "G22"),
    "osteoporosis": ("M80", "M81"),
    "fall_injury_external_cause": tuple(f"W{n:02d}" for n in range(0, 20)),
    "anaemia": ("D50", "D51", "D52", "D53", "D62", "D63", "D64"),
}

# Fall-risk-increasing drugs (FRIDs), ATC prefixes.
FALL_RISK_DRUG_CLASSES: dict[str, tuple[str, ...]] = {
    "psycholeptic_drugs": ("N05",),
    "antidepressant_drugs": ("N06A",),
    "opioid_drugs": ("N02A",),
    "antiepileptic_drugs": ("N03",),
    "diuretic_drugs": ("C03",),
}
FALL_RISK_ATC_PREFIXES: tuple[str, ...] = tuple(
    prefix for prefixes in FALL_RISK_DRUG_CLASSES.values() for prefix in prefixes
)

OTHER_DRUG_CLASSES: dict[str, tuple[str, ...]] = {
    "antibiotic_drugs": ("J01",),
    "anticoagulant_drugs": ("B01A",),
    "insulin_drugs": ("A10A",),
    "loop_diuretic_drugs": ("C03C",),
    "antipsychotic_drugs": ("N05A",),
    "antidementia_drugs": ("N06D",),
    "proton_pump_inhibitor_drugs": ("A02BC",),
    "laxative_drugs": ("A06",),
    "antidiabetic_drugs": ("A10",),
    "obstructive_airway_drugs": ("R03",),
}

# The key conditions the citizen page names (their concept is "conditions"); W00-W19 external causes are
# falls; the other key conditions and the ICD-10 chapters are "other_diagnoses".
CONDITIONS_NAMED_ON_THE_CITIZEN_PAGE: tuple[str, ...] = (
    "heart_failure",
    "copd",
    "diabetes",
    "dementia",
    "stroke",
    "cancer",
    "hip_fracture",
    "delirium",
)

ATC_MAIN_GROUPS = ("A", "B", "C", "D", "G", "H", "J", "L", "M", "N", "P", "R", "S", "V")
FSIII_DOMAINS = ("J1", "J2", "J3", "J4", "J5")
FSIII_AREAS = tuple(f"I{n}" for n in range(1, 13))


PERSONAL_CARE_MINUTES = FeatureSpec(
    "personal_care_minutes", "home_care", "latest", (D90,), value="personal_care_granted", concept="home_care"
)
PRACTICAL_HELP_MINUTES = FeatureSpec(
    "practical_help_minutes",
    "home_care",
    "latest",
    (D90,),
    value="practical_help_granted",
    concept="home_care",
)
PREVENTIVE_VISIT_HELD = FeatureSpec(
    "preventive_visits_held",
    "preventive_visits",
    "days_since_last",
    (D1825,),
    row_filter=RowFilter(column_equals=(("outcome", "held"),)),
    concept="preventive_visits",
)
# Generated column names other layers read (screening.config.FeatureColumns).
(PERSONAL_CARE_MINUTES_COLUMN,) = PERSONAL_CARE_MINUTES.column_names()
(PRACTICAL_HELP_MINUTES_COLUMN,) = PRACTICAL_HELP_MINUTES.column_names()
(DAYS_SINCE_PREVENTIVE_VISIT_COLUMN,) = PREVENTIVE_VISIT_HELD.column_names()


def _about(concept: Concept, specs: Iterable[AnyFeatureSpec]) -> list[AnyFeatureSpec]:
    """``specs`` with their clinical concept set."""
    return [replace(spec, concept=concept) for spec in specs]


def _condition_concept(name: str) -> Concept:
    if name == "fall_injury_external_cause":
        return "falls"
    return "conditions" if name in CONDITIONS_NAMED_ON_THE_CITIZEN_PAGE else "other_diagnoses"


def _hospital() -> list[AnyFeatureSpec]:
    chapter_features: list[AnyFeatureSpec] = [
        FeatureSpec(
            f"diagnoses_chapter_{chapter.lower()}_{title}",
            "diagnoses",
            "count",
            (D365, D1825),
            row_filter=RowFilter(icd10_chapters=(chapter,)),
            concept="other_diagnoses",
        )
        for chapter, (_, _, title) in ICD10_CHAPTERS.items()
    ]
    condition_features: list[AnyFeatureSpec] = [
        FeatureSpec(
            f"{name}_diagnoses",
            "diagnoses",
            "count",
            (D365, D1825),
            row_filter=RowFilter(icd10_categories=codes),
            concept=_condition_concept(name),
        )
        for name, codes in KEY_CONDITIONS.items()
    ]
    physical = (("contact_type", "physical"),)
    admissions = [
        FeatureSpec(
            "acute_admissions",
            "unplanned_admissions",
            "count",
            (D30, D30_90, D90_365, D90, D365, D730, D1825),
        ),
        FeatureSpec("acute_admissions", "unplanned_admissions", "days_since_last", (D1825,)),
        FeatureSpec("bed_days", "unplanned_admissions", "sum", (D90, D365, D730), value="bed_days"),
        FeatureSpec(
            "acute_contacts",
            "hospital_contacts",
            "count",
            (D30, D90, D365, D730),
            row_filter=RowFilter(priority="acute", column_equals=physical),
        ),
        FeatureSpec(
            "planned_contacts",
            "hospital_contacts",
            "count",
            (D365, D1825),
            row_filter=RowFilter(priority="planned"),
        ),
        FeatureSpec(
            "virtual_contacts",
            "hospital_contacts",
            "count",
            (D365,),
            row_filter=RowFilter(column_equals=(("contact_type", "virtual"),)),
        ),
        FeatureSpec("hospital_contacts", "hospital_contacts", "count", (D365, D1825)),
        FeatureSpec("hospital_contacts", "hospital_contacts", "days_since_last", (D1825,)),
    ]
    return [
        *_about("admissions", admissions),
        *chapter_features,
        *condition_features,
        ScoreFeatureSpec("hfrs", D730, concept="frailty_score"),
        ScoreFeatureSpec("hfrs", D365, concept="frailty_score"),
        ScoreFeatureSpec("charlson", D1825, concept="comorbidity"),
    ]


def _medicines() -> list[AnyFeatureSpec]:
    fall_risk = [
        FeatureSpec(name, "prescriptions", "count", (D90,), row_filter=RowFilter(atc_prefixes=prefixes))
        for name, prefixes in FALL_RISK_DRUG_CLASSES.items()
    ]
    others = [
        FeatureSpec(name, "prescriptions", "count", (D365,), row_filter=RowFilter(atc_prefixes=prefixes))
        for name, prefixes in OTHER_DRUG_CLASSES.items()
    ]
    antibiotics = OTHER_DRUG_CLASSES["antibiotic_drugs"]  # also over 90 days: courses follow acute episodes
    others.append(
        FeatureSpec(
            "antibiotic_drugs",
            "prescriptions",
            "count",
            (D90,),
            row_filter=RowFilter(atc_prefixes=antibiotics),
        )
    )
    groups = [
        FeatureSpec(
            f"drugs_atc_group_{group.lower()}",
            "prescriptions",
            "distinct_count",
            (D365,),
            value="atc",
            row_filter=RowFilter(atc_prefixes=(group,)),
        )
        for group in ATC_MAIN_GROUPS
    ]
    return _about(
        "medicines",
        [
            FeatureSpec(
                "distinct_drugs", "prescriptions", "distinct_count", (D90, D90_180, D365), value="atc"
            ),
            DerivedFeatureSpec(
                "polypharmacy_5_or_more_0_to_90d",
                "at_least",
                ("distinct_drugs_distinct_count_0_to_90d",),
                5.0,
            ),
            DerivedFeatureSpec(
                "polypharmacy_10_or_more_0_to_90d",
                "at_least",
                ("distinct_drugs_distinct_count_0_to_90d",),
                10.0,
            ),
            DerivedFeatureSpec(
                "distinct_drugs_change_0_to_90d_vs_90_to_180d",
                "difference",
                ("distinct_drugs_distinct_count_0_to_90d", "distinct_drugs_distinct_count_90_to_180d"),
            ),
            FeatureSpec(
                "fall_risk_drugs",
                "prescriptions",
                "distinct_count",
                (D90,),
                value="atc",
                row_filter=RowFilter(atc_prefixes=FALL_RISK_ATC_PREFIXES),
            ),
            *fall_risk,
            *others,
            *groups,
            FeatureSpec("dispensings", "prescriptions", "count", (D90, D365)),
            FeatureSpec("defined_daily_doses", "prescriptions", "sum", (D90,), value="ddd"),
        ],
    )


def _primary_care() -> list[AnyFeatureSpec]:
    return _about(
        "gp",
        [
            FeatureSpec(
                "gp_services", "gp_services", "sum", (D30, D90, D90_180, D365, D365_730), value="services"
            ),
            FeatureSpec("gp_services", "gp_services", "days_since_last", (D730,)),
            # Contacts over up to five years: a person's long-run contact rate is the steadiest trace of
            # frailty in registry data (the number of services billed per contact adds only noise).
            FeatureSpec("gp_contacts", "gp_services", "count", (D90, D365, D730, D1825)),
            FeatureSpec(
                "gp_evening_services",
                "gp_services",
                "sum",
                (D365,),
                value="services",
                row_filter=RowFilter(column_equals=(("time_of_day", "aften"),)),
            ),
            DerivedFeatureSpec(
                "gp_services_change_0_to_90d_vs_90_to_180d",
                "difference",
                ("gp_services_sum_0_to_90d", "gp_services_sum_90_to_180d"),
            ),
            DerivedFeatureSpec(
                "gp_services_change_0_to_365d_vs_365_to_730d",
                "difference",
                ("gp_services_sum_0_to_365d", "gp_services_sum_365_to_730d"),
            ),
        ],
    )


def _function() -> list[AnyFeatureSpec]:
    per_domain: list[AnyFeatureSpec] = []
    for domain in FSIII_DOMAINS:
        stem = f"fsiii_{domain.lower()}_score"
        only = RowFilter(fsiii_domains=(domain,))
        per_domain += [
            FeatureSpec(
                stem, "fsiii_functional_ability", "mean", (D180, D180_365), value="score", row_filter=only
            ),
            FeatureSpec(stem, "fsiii_functional_ability", "max", (D365,), value="score", row_filter=only),
            FeatureSpec(stem, "fsiii_functional_ability", "latest", (D365,), value="score", row_filter=only),
            DerivedFeatureSpec(
                f"{stem}_change_0_to_180d_vs_180_to_365d",
                "difference",
                (f"{stem}_mean_0_to_180d", f"{stem}_mean_180_to_365d"),
            ),
        ]
    areas = [
        FeatureSpec(
            f"fsiii_condition_{area.lower()}_active",
            "fsiii_health_conditions",
            "count",
            (D365,),
            row_filter=RowFilter(fsiii_areas=(area,), column_equals=(("status", "active"),)),
        )
        for area in FSIII_AREAS
    ]
    return _about(
        "function",
        [
            FeatureSpec("fsiii_score", "fsiii_functional_ability", "mean", (D180, D180_365), value="score"),
            FeatureSpec("fsiii_score", "fsiii_functional_ability", "max", (D365,), value="score"),
            FeatureSpec("fsiii_assessments", "fsiii_functional_ability", "count", (D365,)),
            FeatureSpec("fsiii_assessments", "fsiii_functional_ability", "days_since_last", (D1825,)),
            DerivedFeatureSpec(
                "fsiii_score_change_0_to_180d_vs_180_to_365d",
                "difference",
                ("fsiii_score_mean_0_to_180d", "fsiii_score_mean_180_to_365d"),
            ),
            *per_domain,
            *areas,
            FeatureSpec(
                "fsiii_conditions", "fsiii_health_conditions", "distinct_count", (D365,), value="code"
            ),
        ],
    )


def _care() -> list[AnyFeatureSpec]:
    return [*_home_care(), *_home_nursing_falls_and_weight(), *_prevention()]


def _home_care() -> list[AnyFeatureSpec]:
    return _about(
        "home_care",
        [
            # no home-care row means no home care granted: 0 minutes, not unknown
            FeatureSpec(
                "home_care_minutes", "home_care", "latest", (D90,), value="total_granted", fallback=0.0
            ),
            FeatureSpec(
                "home_care_minutes", "home_care", "mean", (D90, D90_180), value="total_granted", fallback=0.0
            ),
            FeatureSpec("home_care_minutes", "home_care", "max", (D365,), value="total_granted"),
            FeatureSpec("home_care_minutes", "home_care", "slope", (D90, D180), value="total_granted"),
            PERSONAL_CARE_MINUTES,
            PRACTICAL_HELP_MINUTES,
            FeatureSpec("home_care_delivered_minutes", "home_care", "mean", (D90,), value="total_delivered"),
            FeatureSpec("home_care_months", "home_care", "count", (D365,)),
            FeatureSpec("home_care_months", "home_care", "days_since_last", (D1825,)),
            DerivedFeatureSpec(
                "home_care_minutes_change_0_to_90d_vs_90_to_180d",
                "difference",
                ("home_care_minutes_mean_0_to_90d", "home_care_minutes_mean_90_to_180d"),
            ),
        ],
    )


def _home_nursing_falls_and_weight() -> list[AnyFeatureSpec]:
    nursing: list[AnyFeatureSpec] = [
        FeatureSpec("home_nursing_visits", "home_nursing_visits", "count", (D30, D90, D90_365, D365)),
        FeatureSpec("home_nursing_visits", "home_nursing_visits", "days_since_last", (D730,)),
    ]
    falls: list[AnyFeatureSpec] = [
        FeatureSpec("falls", "falls", "count", (D90, D365, D730)),
        FeatureSpec("falls", "falls", "days_since_last", (D1825,)),
        FeatureSpec(
            "injurious_falls",
            "falls",
            "count",
            (D365,),
            row_filter=RowFilter(column_equals=(("injury", True),)),
        ),
    ]
    weight: list[AnyFeatureSpec] = [
        FeatureSpec("weight_kg", "weights", "latest", (D90, D180_365), value="weight_kg"),
        FeatureSpec("weight_kg", "weights", "max", (D365,), value="weight_kg"),
        FeatureSpec("weight_kg", "weights", "min", (D365,), value="weight_kg"),
        FeatureSpec("weight_kg", "weights", "slope", (D365,), value="weight_kg"),
        FeatureSpec("weighings", "weights", "count", (D365,)),
        DerivedFeatureSpec(
            "weight_change_percent_0_to_90d_vs_180_to_365d",
            "percent_change",
            ("weight_kg_latest_0_to_90d", "weight_kg_latest_180_to_365d"),
        ),
        DerivedFeatureSpec(
            "weight_change_percent_0_to_90d_vs_max_0_to_365d",
            "percent_change",
            ("weight_kg_latest_0_to_90d", "weight_kg_max_0_to_365d"),
        ),
    ]
    return [*_about("home_nursing", nursing), *_about("falls", falls), *_about("weight", weight)]


def _prevention() -> list[AnyFeatureSpec]:
    visits = [
        PREVENTIVE_VISIT_HELD,
        FeatureSpec(
            "preventive_visits_declined",
            "preventive_visits",
            "count",
            (D1825,),
            row_filter=RowFilter(column_equals=(("outcome", "declined"),)),
        ),
        FeatureSpec("preventive_visits", "preventive_visits", "count", (D730,)),
    ]
    observations = [
        FeatureSpec(
            "early_detection_red",
            "early_detection_observations",
            "count",
            (D90, D365),
            row_filter=RowFilter(column_equals=(("triage_colour", "red"),)),
        ),
        FeatureSpec(
            "early_detection_yellow",
            "early_detection_observations",
            "count",
            (D90,),
            row_filter=RowFilter(column_equals=(("triage_colour", "yellow"),)),
        ),
        FeatureSpec("early_detection_observations", "early_detection_observations", "count", (D365,)),
    ]
    return [*_about("preventive_visits", visits), *_about("early_detection", observations)]


def default_feature_set() -> FeatureSetSpec:
    """Tidlig's domain features (issue 4, item 3) over every source of docs/interfaces.md section 2."""
    return FeatureSetSpec(
        DEFAULT_FEATURE_SET_NAME,
        (*_hospital(), *_medicines(), *_primary_care(), *_function(), *_care()),
    )


CHALLENGER_FEATURE_SET_NAME = "tidlig-challenger-repeat-admissions-v1"


def repeat_admissions_challenger() -> FeatureSetSpec:
    """The default features plus one candidate: two or more acute admissions in the last year (a
    challenger is a named set of specs, so it is versioned and built point in time like the default)."""
    candidate = DerivedFeatureSpec(
        "repeat_acute_admissions_0_to_365d", "at_least", ("acute_admissions_count_0_to_365d",), 2.0
    )
    return FeatureSetSpec(CHALLENGER_FEATURE_SET_NAME, (*default_feature_set().features, candidate))


TRAJECTORY_FEATURE_SET_NAME = "tidlig-trajectories-v1"
D1095 = Window(0, 1095)


def trajectory_features() -> list[AnyFeatureSpec]:
    """Issue 18 item 4: how the citizen's traces move, not only how many there are in a window.

    Slopes (change per 30 days) of home-care minutes, FSIII scores and weight over longer windows; GP
    and hospital contact rates now against the period before; time since the last GP contact over five
    years; recency-weighted counts (``decayed_count``: an event a half-life ago counts one half) of GP
    contacts, acute admissions, hospital contacts, falls, dispensings and home-nursing visits. The
    shortest-window slopes and days since the last admission and fall are in the default set already.
    """
    home_care = [
        FeatureSpec("home_care_minutes", "home_care", "slope", (D365, D730), value="total_granted"),
    ]
    function = [
        FeatureSpec("fsiii_score", "fsiii_functional_ability", "slope", (D365, D730), value="score"),
    ]
    weight = [
        FeatureSpec("weight_kg", "weights", "slope", (D180, D730), value="weight_kg"),
    ]
    gp: list[AnyFeatureSpec] = [
        FeatureSpec("gp_contacts", "gp_services", "count", (D90_180, D365_730)),
        FeatureSpec("gp_services", "gp_services", "days_since_last", (D1825,)),
        FeatureSpec("gp_contacts", "gp_services", "decayed_count", (D1825,), half_life_days=90),
        FeatureSpec("gp_contacts", "gp_services", "decayed_count", (D1825,), half_life_days=365),
        DerivedFeatureSpec(
            "gp_contacts_change_0_to_90d_vs_90_to_180d",
            "difference",
            ("gp_contacts_count_0_to_90d", "gp_contacts_count_90_to_180d"),
        ),
        DerivedFeatureSpec(
            "gp_contacts_change_0_to_365d_vs_365_to_730d",
            "difference",
            ("gp_contacts_count_0_to_365d", "gp_contacts_count_365_to_730d"),
        ),
    ]
    admissions: list[AnyFeatureSpec] = [
        FeatureSpec(
            "acute_admissions", "unplanned_admissions", "decayed_count", (D1825,), half_life_days=180
        ),
        FeatureSpec("hospital_contacts", "hospital_contacts", "count", (D365_730,)),
        FeatureSpec("hospital_contacts", "hospital_contacts", "decayed_count", (D1825,), half_life_days=180),
        DerivedFeatureSpec(
            "hospital_contacts_change_0_to_365d_vs_365_to_730d",
            "difference",
            ("hospital_contacts_count_0_to_365d", "hospital_contacts_count_365_to_730d"),
        ),
    ]
    falls = [FeatureSpec("falls", "falls", "decayed_count", (D1825,), half_life_days=180)]
    medicines = [
        FeatureSpec("dispensings", "prescriptions", "decayed_count", (D365,), half_life_days=90),
    ]
    nursing = [
        FeatureSpec(
            "home_nursing_visits", "home_nursing_visits", "decayed_count", (D730,), half_life_days=90
        ),
    ]
    return [
        *_about("home_care", home_care),
        *_about("function", function),
        *_about("weight", weight),
        *_about("gp", gp),
        *_about("admissions", admissions),
        *_about("falls", falls),
        *_about("medicines", medicines),
        *_about("home_nursing", nursing),
    ]


def trajectory_feature_set() -> FeatureSetSpec:
    """The default features plus :func:`trajectory_features` (``--feature-set trajectories``); not the
    default until it beats the default on the held-out evaluation (docs/models.md)."""
    return FeatureSetSpec(
        TRAJECTORY_FEATURE_SET_NAME, (*default_feature_set().features, *trajectory_features())
    )


#: The named feature sets `tidlig features --feature-set NAME` can build.
FEATURE_SETS: dict[str, Callable[[], FeatureSetSpec]] = {
    "default": default_feature_set,
    "repeat-admissions": repeat_admissions_challenger,
    "trajectories": trajectory_feature_set,
}


def feature_set_named(name: str) -> FeatureSetSpec:
    """The spec registered under ``name`` in :data:`FEATURE_SETS`, or under its spec name (what a
    feature-set manifest records); KeyError naming the known sets otherwise."""
    if name in FEATURE_SETS:
        return FEATURE_SETS[name]()
    for build in FEATURE_SETS.values():
        spec = build()
        if spec.name == name:
            return spec
    raise KeyError(f"Unknown feature set {name!r}; known: {', '.join(FEATURE_SETS)}.")
