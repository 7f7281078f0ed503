"""Plain-language reasons (Danish and English) and a suggested action for a listed citizen.

How a reason is chosen:

1. Each model feature belongs to a *concept* (admissions, home care, medicines…): the clinical concept
   its feature spec carries (``features.spec.Concept``), read through the feature set's column -> concept
   map (``FeatureSetSpec.column_concepts``; the default set's when none is given). A concept's weight is
   the sum of its features' SHAP contributions for this citizen. Only a column no spec describes (a model
   registered before specs carried concepts, a hand-made notebook column) falls back to the old reading
   of its name (:data:`LEGACY_CONCEPT_PATTERNS`).
2. Concepts with a positive weight are taken in order of weight. A concept gives a reason only if the
   citizen's facts (``screening.facts``) show something worth saying ("3 acute admissions in the past 12
   months"); the text is rendered from those facts, never from the model, so it matches the citizen page.
3. Too few reasons: facts of concern with a non-positive weight fill up, then age and living alone.

The suggested action follows the strongest concepts that gave reasons (medication review, fall prevention,
nutrition screening, GP contact, rehabilitation assessment), with a preventive home visit as the default.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from features.catalogue import default_feature_set
from screening.facts import CONDITIONS

# For columns no feature spec describes only. Order matters: the first matching pattern wins
# ("fall_risk_increasing_drugs" is about medicines).
LEGACY_CONCEPT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("medicines", r"drug|atc|polypharm|medic|prescri|frid|dispens|daily_dose"),
    ("falls", r"fall"),
    ("weight", r"weigh"),
    ("home_nursing", r"home_nursing"),
    ("home_care", r"home_care|personal_care|practical_help"),
    ("function", r"fsiii|functional|function_|j\d"),
    ("admissions", r"admission|bed_day|acute_contact|hospital|contacts"),
    ("gp", r"gp_|general_pract"),
    ("frailty_score", r"hfrs|frailty_risk"),
    ("comorbidity", r"charlson|multimorbid|nmi"),
    ("conditions", "|".join(CONDITIONS)),
    ("age", r"^age"),
    ("living_alone", r"living_alone|household|civil"),
)

ACTIONS: dict[str, tuple[str, str]] = {
    "medicines": ("Medicingennemgang", "Medication review"),
    "falls": ("Faldforebyggelse og faldudredning", "Fall prevention and fall assessment"),
    "weight": ("Ernæringsscreening", "Nutrition screening"),
    "admissions": ("Kontakt til egen læge", "GP contact"),
    "conditions": ("Kontakt til egen læge", "GP contact"),
    "comorbidity": ("Kontakt til egen læge", "GP contact"),
    "frailty_score": ("Kontakt til egen læge", "GP contact"),
    "gp": ("Kontakt til egen læge", "GP contact"),
    "home_care": ("Vurdering af rehabilitering (§83a)", "Rehabilitation assessment (§83a)"),
    "function": ("Vurdering af rehabilitering (§83a)", "Rehabilitation assessment (§83a)"),
    "home_nursing": ("Kontakt til hjemmesygeplejen", "Contact the home nursing team"),
}
DEFAULT_ACTION = ("Forebyggende hjemmebesøg", "Preventive home visit")


@dataclass(frozen=True)
class Reason:
    """One reason, in both languages, and the concept it is about."""

    concept: str
    text_da: str
    text_en: str


@functools.cache
def default_column_concepts() -> Mapping[str, str]:
    """``column -> concept`` of the default feature set (and the cohort's demographic columns)."""
    return default_feature_set().column_concepts()


def concept_of(feature_name: str, concepts: Mapping[str, str] | None = None) -> str | None:
    """The reason concept of a feature column, or None when it is not something to explain.

    ``concepts`` is the feature set's column -> concept map (default: the default set's). A concept that
    no reason speaks about (other diagnoses, preventive visits, early-detection observations) gives None.
    """
    known = default_column_concepts() if concepts is None else concepts
    concept = known.get(feature_name)
    if concept is None and feature_name not in known:
        concept = _legacy_concept_of(feature_name)
    return concept if concept in RENDERERS else None


def _legacy_concept_of(feature_name: str) -> str | None:
    name = feature_name.lower()
    for concept, pattern in LEGACY_CONCEPT_PATTERNS:
        if re.search(pattern, name):
            return concept
    return None


def concept_weights(
    contributions: Mapping[str, float], concepts: Mapping[str, str] | None = None
) -> dict[str, float]:
    """Sum of SHAP contributions per concept (features without a concept are left out)."""
    weights: dict[str, float] = {}
    for feature, value in contributions.items():
        concept = concept_of(feature, concepts)
        if concept is not None and not math.isnan(float(value)):
            weights[concept] = weights.get(concept, 0.0) + float(value)
    return weights


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _hours(minutes: float) -> str:
    hours = minutes / 60
    return f"{hours:.0f}" if abs(hours - round(hours)) < 0.05 else f"{hours:.1f}"


def _admissions(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    n = int(facts["admissions_count_12m"])
    if n < 1:
        return None
    return (
        f"{n} {_plural(n, 'akut indlæggelse', 'akutte indlæggelser')} de seneste 12 måneder",
        f"{n} acute {_plural(n, 'admission', 'admissions')} in the past 12 months",
    )


def _home_care(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    now = facts["home_care_minutes_per_week_now"]
    before = facts["home_care_minutes_per_week_3m_ago"]
    if now <= before or now - before < 30:
        return None
    return (
        f"Hjemmehjælp steget fra {_hours(before)} til {_hours(now)} timer om ugen på 3 måneder",
        f"Home care up from {_hours(before)} to {_hours(now)} hours a week in 3 months",
    )


def _medicines(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    n = int(facts["medicines_count"])
    if n < 5:
        return None
    return (
        f"{n} forskellige lægemidler på 90 dage",
        f"{n} different medicines in 90 days",
    )


def _falls(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    n = int(facts["falls_count_12m"])
    if n < 1:
        return None
    injured = int(facts["falls_with_injury_12m"])
    da = f"{n} {_plural(n, 'fald', 'fald')} de seneste 12 måneder"
    en = f"{n} {_plural(n, 'fall', 'falls')} in the past 12 months"
    if injured:
        da += f", heraf {injured} med skade"
        en += f", {injured} with injury"
    return da, en


def _weight(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    change = facts["weight_change_pct_6m"]
    if change is None or change > -3:
        return None
    return (
        f"Vægttab på {abs(change):.0f} % på 6 måneder",
        f"Weight down {abs(change):.0f} % in 6 months",
    )


def _function(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    now, before = facts["fsiii_mean_score"], facts["fsiii_previous_mean_score"]
    if now is None or before is None or now - before < 0.5:
        return None
    return (
        f"Funktionsevne forværret (FSIII gennemsnit fra {before:.1f} til {now:.1f})",
        f"Functional ability worse (FSIII mean score from {before:.1f} to {now:.1f})",
    )


def _home_nursing(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    n = int(facts["home_nursing_visits_3m"])
    if n < 1:
        return None
    return (
        f"{n} {_plural(n, 'besøg', 'besøg')} af hjemmesygeplejen de seneste 3 måneder",
        f"{n} home nursing {_plural(n, 'visit', 'visits')} in the past 3 months",
    )


def _gp(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    now, before = facts["gp_contacts_3m"], facts["gp_contacts_previous_3m"]
    if now < 3 or now <= before:
        return None
    return (
        f"Flere lægekontakter: {now} de seneste 3 måneder mod {before} de 3 måneder før",
        f"More GP contacts: {now} in the past 3 months against {before} in the 3 months before",
    )


def _frailty_score(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    score = facts["hfrs_score"]
    if score is None or score < 5:
        return None
    level_da, level_en = ("høj", "high") if score > 15 else ("middel", "intermediate")
    return (
        f"Skrøbelighedsscore (HFRS) {score:.1f} ({level_da})",
        f"Hospital Frailty Risk Score {score:.1f} ({level_en})",
    )


def _comorbidity(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    score = facts["charlson_index"]
    if score is None or score < 2:
        return None
    return (
        f"Flere kroniske sygdomme (Charlson-indeks {score:.0f})",
        f"Several chronic conditions (Charlson index {score:.0f})",
    )


def _conditions(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    found = facts["conditions"]
    if not found:
        return None
    names_da = [CONDITIONS[c][0] for c in found]
    names_en = [CONDITIONS[c][1] for c in found]
    return "Diagnose: " + ", ".join(names_da), (
        "Diagnosis: " if len(found) == 1 else "Diagnoses: "
    ) + ", ".join(names_en)


def _age(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    age = facts["age_years"]
    if age is None:
        return None
    return f"{age} år", f"Aged {age}"


def _living_alone(facts: Mapping[str, Any]) -> tuple[str, str] | None:
    if not facts["living_alone"]:
        return None
    return "Bor alene", "Lives alone"


RENDERERS: dict[str, Callable[[Mapping[str, Any]], tuple[str, str] | None]] = {
    "admissions": _admissions,
    "home_care": _home_care,
    "medicines": _medicines,
    "falls": _falls,
    "weight": _weight,
    "function": _function,
    "home_nursing": _home_nursing,
    "gp": _gp,
    "frailty_score": _frailty_score,
    "comorbidity": _comorbidity,
    "conditions": _conditions,
    "age": _age,
    "living_alone": _living_alone,
}
CONTEXT_CONCEPTS = ("age", "living_alone")


def explain(
    contributions: Mapping[str, float],
    facts: Mapping[str, Any],
    *,
    minimum: int = 3,
    maximum: int = 5,
    concepts: Mapping[str, str] | None = None,
) -> list[Reason]:
    """The citizen's reasons, strongest first (see the module docstring for the rules).

    ``contributions`` maps feature name to SHAP value for this citizen; ``facts`` is their facts document;
    ``concepts`` the model's feature set's ``column_concepts()`` (default: the default feature set's).
    Returns at most ``maximum`` reasons, and fewer than ``minimum`` only when the facts hold no more.
    """
    weights = concept_weights(contributions, concepts)
    ordered = sorted(weights, key=lambda concept: (-weights[concept], concept))
    reasons: list[Reason] = []
    used: set[str] = set()

    def add(concept: str) -> None:
        if concept in used or len(reasons) >= maximum:
            return
        rendered = RENDERERS[concept](facts)
        if rendered is not None:
            reasons.append(Reason(concept, *rendered))
            used.add(concept)

    for concept in ordered:
        if weights[concept] > 0:
            add(concept)
    if len(reasons) < minimum:
        for concept in RENDERERS:
            if concept not in CONTEXT_CONCEPTS and len(reasons) < minimum:
                add(concept)
    for concept in CONTEXT_CONCEPTS:
        if len(reasons) < minimum:
            add(concept)
    return reasons


def suggest_action(reasons: list[Reason], *, most: int = 2) -> tuple[str, str]:
    """Up to ``most`` distinct actions for the strongest reasons, joined; a preventive visit by default."""
    actions: list[tuple[str, str]] = []
    for reason in reasons:
        action = ACTIONS.get(reason.concept)
        if action is not None and action not in actions:
            actions.append(action)
        if len(actions) == most:
            break
    if not actions:
        return DEFAULT_ACTION
    return "; ".join(a[0] for a in actions), "; ".join(a[1] for a in actions)
