"""Turn the ``citizen_facts`` JSON document published with a list into what the citizen page shows.

Expected document (docs/review-app.md; every part optional, unknown keys ignored)::

    {"admissions": [{"start": "2023-02-01", "end": "2023-02-04", "diagnosis": "DI500", "acute": true}],
     "home_care": [{"month": "2023-01-01", "personal_care_delivered": 120, "practical_help_delivered": 30}],
     "fsiii": [{"code": "J1.1", "score": 2, "assessed_date": "2023-01-10"}],
     "medicines_count": 7,
     "falls": [{"date": "2023-03-02", "injury": false}],
     "weights": [{"date": "2023-01-05", "kg": 61.5}]}

Warehouse column names (``contact_start``, ``fall_date``, ``measured_date``, ``weight_kg`` ...) are accepted
as synonyms so the publisher can pass rows through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


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
    """Read a facts document tolerantly (see the module docstring for the shape)."""
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
    )


def _count(document: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        value = document.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return None
