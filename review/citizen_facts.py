"""Turn the ``citizen_facts`` document published with a list into what the citizen page shows.

The document is the screening layer's type ``screening.facts.CitizenFacts`` (its one writer); this module
reads it with ``CitizenFacts.from_json`` and shapes it for the page. Home care is the granted minutes per
week, the same level the list's reasons cite.

Documents stored before the type existed (rows passed through with other names, ``personal_care_delivered``
instead of ``personal_care_granted``, counts in place of lists) stay readable through
:func:`_legacy_facts`, because published lists in an operational database are kept for years; a document
the type reads never goes that way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from screening.facts import CitizenFacts as FactsDocument
from screening.facts import FactsDocumentError


@dataclass(frozen=True)
class Admission:
    start: str
    end: str
    diagnosis: str
    acute: bool | None


@dataclass(frozen=True)
class CitizenFacts:
    """The normalised facts; lists are sorted oldest first (admissions newest first)."""

    admissions: list[Admission] = field(default_factory=list)
    home_care: list[tuple[str, float]] = field(default_factory=list)
    fsiii: list[tuple[str, str, str]] = field(default_factory=list)
    medicines_count: int | None = None
    falls: list[tuple[str, bool | None]] = field(default_factory=list)
    falls_count: int | None = None
    weights: list[tuple[str, float]] = field(default_factory=list)
    medicines_atc: list[str] = field(default_factory=list)
    hfrs_score: float | None = None
    charlson_index: float | None = None


def _first(item: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if item.get(name) is not None:
            return item[name]
    return None


def _date(value: Any) -> str:
    return "" if value is None else str(value)[:10]


def _records(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):  # column-oriented {"date": [...], "kg": [...]}
        columns = {key: list(items) for key, items in value.items() if isinstance(items, Sequence)}
        length = min((len(items) for items in columns.values()), default=0)
        return [{key: items[index] for key, items in columns.items()} for index in range(length)]
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def normalise_facts(document: Mapping[str, Any]) -> CitizenFacts:
    """The page's view of a facts document (the screening layer's type, or an older stored shape)."""
    try:
        typed = FactsDocument.from_json(document)
    except (FactsDocumentError, TypeError, ValueError):
        return _legacy_facts(document)
    return CitizenFacts(
        admissions=sorted(
            (Admission(a.start, a.end or "", a.diagnosis or "", a.acute) for a in typed.admissions),
            key=lambda admission: admission.start,
            reverse=True,
        ),
        home_care=sorted((month.month, float(month.minutes_per_week)) for month in typed.home_care),
        fsiii=sorted((item.code, str(item.score), item.assessed_date) for item in typed.fsiii),
        medicines_count=typed.medicines_count if "medicines_count" in document else None,
        falls=sorted(((fall.date, fall.injury) for fall in typed.falls), key=lambda fall: fall[0]),
        falls_count=len(typed.falls) if typed.falls else _count(document, "falls_count_12m"),
        weights=sorted((weight.date, float(weight.kg)) for weight in typed.weights),
        medicines_atc=sorted(typed.medicines_atc_90d),
        hfrs_score=typed.hfrs_score,
        charlson_index=typed.charlson_index,
    )


def _legacy_facts(document: Mapping[str, Any]) -> CitizenFacts:
    """Documents stored before ``screening.facts.CitizenFacts``: read tolerantly, synonyms included."""
    admissions = [
        Admission(
            start=_date(_first(item, "start", "admitted", "contact_start", "date")),
            end=_date(_first(item, "end", "discharged", "contact_end")),
            diagnosis=str(_first(item, "diagnosis", "action_diagnosis", "adiag") or ""),
            acute=_first(item, "acute"),
        )
        for item in _records(document.get("admissions"))
    ]
    admissions.sort(key=lambda admission: admission.start, reverse=True)
    home_care = []
    for item in _records(document.get("home_care")):
        total = _first(item, "minutes", "minutes_per_week", "total_minutes")
        if total is None:
            parts = [
                _first(item, "personal_care_delivered", "personal_care_granted"),
                _first(item, "practical_help_delivered", "practical_help_granted"),
            ]
            total = sum(float(part) for part in parts if part is not None) if any(parts) else None
        if total is not None:
            home_care.append((_date(_first(item, "month", "date")), float(total)))
    fsiii = [
        (
            str(_first(item, "code") or ""),
            str(_first(item, "score", "status") or ""),
            _date(_first(item, "assessed_date", "recorded_date", "date")),
        )
        for item in _records(document.get("fsiii") or document.get("fsiii_scores"))
    ]
    falls = [
        (_date(_first(item, "date", "fall_date")), _first(item, "injury"))
        for item in _records(document.get("falls"))
    ]
    weights = [
        (_date(_first(item, "date", "measured_date")), float(_first(item, "kg", "weight_kg")))
        for item in _records(document.get("weights"))
        if _first(item, "kg", "weight_kg") is not None
    ]
    medicines = _first(document, "medicines_count", "medicine_count", "distinct_atc_90d")
    return CitizenFacts(
        admissions=admissions,
        home_care=sorted(home_care),
        fsiii=sorted(fsiii),
        medicines_count=int(medicines) if medicines is not None else None,
        falls=sorted(falls, key=lambda fall: fall[0]),
        falls_count=len(falls) if falls else _count(document, "falls", "falls_count"),
        weights=sorted(weights),
        medicines_atc=sorted(str(code) for code in document.get("medicines_atc_90d") or () if code),
        hfrs_score=_score(document, "hfrs_score"),
        charlson_index=_score(document, "charlson_index"),
    )


def _score(document: Mapping[str, Any], name: str) -> float | None:
    value = document.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(document: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        value = document.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return None
