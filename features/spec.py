"""Declarative feature specifications: frozen dataclasses validated when they are built.

A feature is *what* to compute (source, row filter, value, aggregation, lookbehind windows, fallback);
the engine (``features.engine``) decides *how*. Every spec generates column names that say what the
column is, e.g. ``acute_admissions_count_0_to_365d``.

Windows are half-open lookbehinds ``[t - end_days, t - start_days)`` in days before the prediction date
``t``: an event on ``t`` itself is never a predictor (it may be an outcome, see ``features.labels``).

Every spec may carry its clinical ``concept`` (a closed vocabulary, :data:`CONCEPTS`): what the feature is
evidence of. It enters the spec hash, and the screening layer's plain-language reasons read it
(``FeatureSetSpec.column_concepts``) instead of guessing from column names.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Literal, get_args

from features.icd10 import ICD10_CHAPTERS, normalise_icd10_prefix, parse_icd10_block
from features.sources import SOURCES  # the source catalogue validates source and columns

Aggregation = Literal[
    "count",
    "sum",
    "mean",
    "min",
    "max",
    "latest",
    "slope",
    "days_since_last",
    "distinct_count",
    "decayed_count",
]
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)
AGGREGATIONS_WITHOUT_VALUE = frozenset({"count", "days_since_last", "decayed_count"})
AGGREGATIONS_DEFAULTING_TO_ZERO = frozenset({"count", "sum", "distinct_count", "decayed_count"})

Priority = Literal["acute", "planned"]
DerivedOperation = Literal["difference", "percent_change", "at_least"]
ClinicalScore = Literal["hfrs", "charlson"]
Concept = Literal[
    "admissions",  # unplanned admissions, bed days, hospital contacts
    "medicines",  # dispensings, distinct drugs, polypharmacy, fall-risk-increasing drugs
    "falls",  # falls, injurious falls, fall-injury diagnoses
    "weight",  # weighings, weight and weight change
    "home_nursing",  # home nursing visits
    "home_care",  # granted and delivered home care and its trend
    "function",  # FSIII functional ability and health conditions
    "gp",  # general-practice contacts and services
    "frailty_score",  # Hospital Frailty Risk Score
    "comorbidity",  # Charlson comorbidity index
    "conditions",  # the key chronic conditions the citizen page names (heart failure, COPD, ...)
    "other_diagnoses",  # ICD-10 chapters and other diagnosis groups
    "preventive_visits",  # preventive home visits (held, declined)
    "early_detection",  # early-detection observations (triage colours)
    "age",
    "living_alone",
]
CONCEPTS: tuple[str, ...] = get_args(Concept)
SCORE_CONCEPTS: dict[str, Concept] = {"hfrs": "frailty_score", "charlson": "comorbidity"}

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_ATC_PATTERN = re.compile(r"^[A-Z](\d\d([A-Z]([A-Z](\d\d)?)?)?)?$")
_FSIII_DOMAIN_PATTERN = re.compile(r"^J[1-5]$")
_FSIII_AREA_PATTERN = re.compile(r"^I([1-9]|1[0-2])$")


class FeatureSpecError(ValueError):
    """A feature specification is malformed; the message names the spec and the rule broken."""


def _check_concept(concept: str | None, where: str) -> None:
    if concept is not None and concept not in CONCEPTS:
        raise FeatureSpecError(f"{where}: concept {concept!r} is not one of {', '.join(CONCEPTS)}.")


@dataclass(frozen=True, order=True)
class Window:
    """The half-open lookbehind ``[t - end_days, t - start_days)``; ``Window(0, 365)`` is the last year."""

    start_days: int
    end_days: int

    def __post_init__(self) -> None:
        if not (0 <= self.start_days < self.end_days):
            raise FeatureSpecError(
                f"Window {self.start_days}..{self.end_days}: need 0 <= start_days < end_days "
                "(days before the prediction date, nearer edge first)."
            )

    @property
    def label(self) -> str:
        """The suffix used in column names, e.g. ``0_to_365d``."""
        return f"{self.start_days}_to_{self.end_days}d"


@dataclass(frozen=True)
class RowFilter:
    """Which source rows a feature looks at. Kinds combine with AND; values within a kind with OR.

    ICD-10 chapters (Roman numerals ``I``..``XXI``), blocks (``I20-I25``) and categories or longer codes
    (``I50``, ``I252``) together form one ICD-10 condition (a row matches any of them). They may be written
    with or without the SKS ``D`` prefix and with or without a dot; they are stored normalised (no ``D``,
    no dot). ATC prefixes may be of any ATC level (1, 3, 4, 5 or 7 characters). ``column_equals`` holds
    extra ``(column, value)`` conditions, e.g. ``(("injury", True),)``.
    """

    icd10_chapters: tuple[str, ...] = ()
    icd10_blocks: tuple[str, ...] = ()
    icd10_categories: tuple[str, ...] = ()
    atc_prefixes: tuple[str, ...] = ()
    fsiii_domains: tuple[str, ...] = ()
    fsiii_areas: tuple[str, ...] = ()
    priority: Priority | None = None
    column_equals: tuple[tuple[str, str | int | bool], ...] = ()

    def __post_init__(self) -> None:
        for chapter in self.icd10_chapters:
            if chapter not in ICD10_CHAPTERS:
                raise FeatureSpecError(f"Unknown ICD-10 chapter {chapter!r}; use Roman numerals I..XXI.")
        blocks = tuple(
            "-".join(parse_icd10_block(block)) for block in self.icd10_blocks
        )  # validates and normalises
        object.__setattr__(self, "icd10_blocks", blocks)
        object.__setattr__(
            self, "icd10_categories", tuple(normalise_icd10_prefix(c) for c in self.icd10_categories)
        )
        for prefix in self.atc_prefixes:
            if not _ATC_PATTERN.match(prefix):
                raise FeatureSpecError(
                    f"ATC prefix {prefix!r} is not an ATC code of level 1-5 (e.g. N, N05, N05B, N05BA01)."
                )
        for domain in self.fsiii_domains:
            if not _FSIII_DOMAIN_PATTERN.match(domain):
                raise FeatureSpecError(f"FSIII domain {domain!r} must be one of J1..J5.")
        for area in self.fsiii_areas:
            if not _FSIII_AREA_PATTERN.match(area):
                raise FeatureSpecError(f"FSIII health-condition area {area!r} must be one of I1..I12.")
        if self.priority is not None and self.priority not in get_args(Priority):
            raise FeatureSpecError(f"Priority {self.priority!r} must be 'acute' or 'planned'.")
        for column, _ in self.column_equals:
            if not _NAME_PATTERN.match(column):
                raise FeatureSpecError(f"Filter column {column!r} is not a snake_case column name.")

    @property
    def has_icd10(self) -> bool:
        return bool(self.icd10_chapters or self.icd10_blocks or self.icd10_categories)


@dataclass(frozen=True)
class FeatureSpec:
    """One aggregation of one source over one or more windows; one column per window.

    ``value`` names the source column aggregated (required except for ``count`` and
    ``days_since_last``). ``fallback`` is the value when no row falls in the window: by default 0 for
    count, sum and distinct_count and missing (NaN) for the others. ``slope`` is the least-squares
    change of the value per 30 days; ``latest`` is the value at the greatest valid time (ties: the largest
    value); ``days_since_last`` counts days from the last row in the window to ``t``; ``decayed_count``
    is a recency-weighted count: each row weighs ``0.5 ** (days before t / half_life_days)`` (a row a
    half-life ago counts one half), so recent events count more than old ones in the same window.
    """

    name: str
    source: str
    aggregation: Aggregation
    windows: tuple[Window, ...]
    value: str | None = None
    row_filter: RowFilter = field(default_factory=RowFilter)
    fallback: float | None = None
    concept: Concept | None = None
    half_life_days: int | None = None  # decayed_count only; left out of the spec hash when None

    def __post_init__(self) -> None:
        where = f"Feature spec {self.name!r}"
        self._check_half_life(where)
        if not _NAME_PATTERN.match(self.name):
            raise FeatureSpecError(f"{where}: name must be snake_case (a-z, 0-9, _).")
        _check_concept(self.concept, where)
        if self.aggregation not in AGGREGATIONS:
            raise FeatureSpecError(f"{where}: aggregation must be one of {', '.join(AGGREGATIONS)}.")
        if not self.windows:
            raise FeatureSpecError(f"{where}: give at least one window.")
        if len(set(self.windows)) != len(self.windows):
            raise FeatureSpecError(f"{where}: windows repeat.")
        source = SOURCES.get(self.source)
        if source is None:
            raise FeatureSpecError(f"{where}: unknown source {self.source!r}; known: {', '.join(SOURCES)}.")
        if self.aggregation in AGGREGATIONS_WITHOUT_VALUE:
            if self.value is not None:
                raise FeatureSpecError(f"{where}: {self.aggregation} takes no value column.")
        elif self.value is None:
            raise FeatureSpecError(f"{where}: {self.aggregation} needs a value column.")
        elif self.value not in source.value_columns:
            raise FeatureSpecError(
                f"{where}: source {self.source!r} has no value column {self.value!r}; "
                f"choose from {', '.join(source.value_columns)}."
            )
        elif self.aggregation != "distinct_count" and (problem := source.numeric_problem(self.value)):
            raise FeatureSpecError(f"{where}: {problem}")
        if problem := source.filter_problem(self.row_filter):
            raise FeatureSpecError(f"{where}: {problem}")

    def _check_half_life(self, where: str) -> None:
        if (self.aggregation == "decayed_count") != (self.half_life_days is not None):
            raise FeatureSpecError(f"{where}: half_life_days is given with, and only with, decayed_count.")
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise FeatureSpecError(f"{where}: half_life_days must be a positive number of days.")

    def column_names(self) -> tuple[str, ...]:
        """``<name>_<aggregation>_<window>`` for each window (``decayed_count`` adds its half-life:
        ``<name>_decayed_count_half_life_<h>d_<window>``)."""
        aggregation = str(self.aggregation)
        if self.half_life_days is not None:
            aggregation += f"_half_life_{self.half_life_days}d"
        return tuple(f"{self.name}_{aggregation}_{window.label}" for window in self.windows)

    @property
    def default_fallback(self) -> float | None:
        if self.fallback is not None:
            return self.fallback
        return 0.0 if self.aggregation in AGGREGATIONS_DEFAULTING_TO_ZERO else None


@dataclass(frozen=True)
class ScoreFeatureSpec:
    """A published clinical score over diagnoses in a window (``hfrs_score_0_to_730d``,
    ``charlson_index_0_to_1825d``); 0 when no qualifying diagnosis is known."""

    score: ClinicalScore
    window: Window
    # Charlson only: ``<mapping>_<weights>`` of ``features.charlson.CHARLSON_VARIANTS``; None is the default
    # (Quan 2005 codes, Quan 2011 weights: column ``charlson_index_<window>``, left out of the spec hash).
    variant: str | None = None
    concept: Concept | None = None

    def __post_init__(self) -> None:
        from features.charlson import CHARLSON_VARIANTS

        if self.score not in get_args(ClinicalScore):
            raise FeatureSpecError(f"Unknown clinical score {self.score!r}; use 'hfrs' or 'charlson'.")
        if self.concept is None:
            object.__setattr__(self, "concept", SCORE_CONCEPTS[self.score])
        _check_concept(self.concept, f"Score feature {self.score!r}")
        if self.variant is not None and self.score != "charlson":
            raise FeatureSpecError(f"Score {self.score!r} has no variants; give variant only for 'charlson'.")
        if self.variant is not None and self.variant not in CHARLSON_VARIANTS:
            raise FeatureSpecError(
                f"Unknown Charlson variant {self.variant!r}; use one of {', '.join(CHARLSON_VARIANTS)}."
            )

    def column_names(self) -> tuple[str, ...]:
        from features.charlson import charlson_scheme

        stem = "hfrs_score" if self.score == "hfrs" else charlson_scheme(self.variant).column_stem
        return (f"{stem}_{self.window.label}",)


@dataclass(frozen=True)
class DerivedFeatureSpec:
    """A column computed from other columns of the same row.

    - ``difference``: ``inputs[0] - inputs[1]``;
    - ``percent_change``: ``100 * (inputs[0] - inputs[1]) / inputs[1]`` (missing when ``inputs[1]`` is 0 or
      missing);
    - ``at_least``: 1.0 when ``inputs[0] >= threshold`` else 0.0 (missing stays missing).
    """

    name: str
    operation: DerivedOperation
    inputs: tuple[str, ...]
    threshold: float | None = None
    concept: Concept | None = None

    def __post_init__(self) -> None:
        where = f"Derived feature {self.name!r}"
        if not _NAME_PATTERN.match(self.name):
            raise FeatureSpecError(f"{where}: name must be snake_case.")
        _check_concept(self.concept, where)
        needed = {"difference": 2, "percent_change": 2, "at_least": 1}.get(self.operation)
        if needed is None:
            raise FeatureSpecError(f"{where}: operation must be one of {get_args(DerivedOperation)}.")
        if len(self.inputs) != needed:
            raise FeatureSpecError(f"{where}: {self.operation} takes {needed} input column(s).")
        if (self.operation == "at_least") != (self.threshold is not None):
            raise FeatureSpecError(f"{where}: a threshold is given with, and only with, at_least.")

    def column_names(self) -> tuple[str, ...]:
        return (self.name,)


AnyFeatureSpec = FeatureSpec | ScoreFeatureSpec | DerivedFeatureSpec


def _fields(feature: AnyFeatureSpec) -> dict[str, object]:
    """``asdict`` without a Charlson variant or a half-life left at its default, so older spec hashes
    stay valid."""
    fields = asdict(feature)
    if isinstance(feature, ScoreFeatureSpec) and feature.variant is None:
        del fields["variant"]
    if isinstance(feature, FeatureSpec) and feature.half_life_days is None:
        del fields["half_life_days"]
    return fields


@dataclass(frozen=True)
class FeatureSetSpec:
    """A named, hashable set of features. Column names must be unique and derived inputs must exist
    (earlier in the set or among the always-present cohort columns)."""

    name: str
    features: tuple[AnyFeatureSpec, ...]

    def __post_init__(self) -> None:
        from features.cohort import COHORT_FEATURE_COLUMNS

        seen: set[str] = set(COHORT_FEATURE_COLUMNS)
        for feature in self.features:
            if isinstance(feature, DerivedFeatureSpec):
                missing = [name for name in feature.inputs if name not in seen]
                if missing:
                    raise FeatureSpecError(
                        f"Derived feature {feature.name!r} needs column(s) {missing} defined before it."
                    )
            for column in feature.column_names():
                if column in seen:
                    raise FeatureSpecError(f"Feature set {self.name!r}: column {column!r} is defined twice.")
                seen.add(column)

    def column_names(self) -> tuple[str, ...]:
        """Every generated feature column, in order (cohort columns not included)."""
        return tuple(column for feature in self.features for column in feature.column_names())

    def column_concepts(self) -> dict[str, Concept]:
        """``column -> concept`` for every generated column whose spec names a concept, plus the cohort's
        demographic columns (``features.cohort.COHORT_CONCEPTS``)."""
        from features.cohort import COHORT_CONCEPTS

        concepts: dict[str, Concept] = dict(COHORT_CONCEPTS)
        for feature in self.features:
            if feature.concept is not None:
                concepts.update(dict.fromkeys(feature.column_names(), feature.concept))
        return concepts

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description, stable across runs (the input to the hash)."""
        return {
            "name": self.name,
            "features": [{"kind": type(feature).__name__, **_fields(feature)} for feature in self.features],
        }

    def spec_hash(self, **context: object) -> str:
        """SHA-256 of the canonical JSON of the spec plus any run context (mode, cohort rules)."""
        payload = {"spec": self.to_dict(), "context": context}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()
