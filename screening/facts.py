"""The facts about a citizen, as known at the as-of date, that the citizen page shows and reasons cite.

:func:`build_facts` is pure: it takes the citizen's feature row and their history rows (already filtered to
"as known at as-of" by ``screening.history_reader``) and returns one JSON-ready dict. Reasons are rendered
from these same dicts, so a reason can never state a number the citizen page does not show.

Facts document: the type :class:`CitizenFacts` (``to_json`` writes ``citizen_facts.facts``, ``from_json``
reads it back; the review app's ``review.citizen_facts`` reads through it). Every key is always present
(``None`` or empty when unknown); lists are the timelines the citizen page draws; home care is *granted*
minutes per week, the same level the reasons speak of::

    as_of_date                 "YYYY-MM-DD"
    age_years, sex, living_alone       int | None, "F" | "M" | None, bool | None
    risks                      {outcome: calibrated risk}
    admissions                 [{start, end, diagnosis, acute: true}] acute, 24 months, newest first
    admissions_count_12m       int
    home_care                  [{month "YYYY-MM-01", personal_care_granted, practical_help_granted}] 12 months
    home_care_minutes_per_week_now, home_care_minutes_per_week_3m_ago   int (granted, both kinds)
    fsiii                      [{code, score, assessed_date}]  the latest FSIII assessment (scores 0-4)
    fsiii_assessed_on, fsiii_mean_score, fsiii_previous_assessed_on, fsiii_previous_mean_score
    medicines_count            distinct ATC codes dispensed in the past 90 days; medicines_atc_90d [codes]
    falls                      [{date, injury}] past 12 months; falls_count_12m, falls_with_injury_12m
    weights                    [{date, kg}] past 12 months; weight_latest_kg, weight_change_pct_6m
    gp_contacts_3m, gp_contacts_previous_3m, home_nursing_visits_3m    int
    conditions                 [condition codes flagged in the feature row, e.g. "heart_failure"]
    hfrs_score, charlson_index float | None (from the feature row)
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Literal

import pandas as pd

from features.admissions import MINIMUM_ADMISSION_HOURS, is_unplanned_admission

CONDITIONS: dict[str, tuple[str, str]] = {
    "heart_failure": ("hjertesvigt", "heart failure"),
    "copd": ("KOL", "COPD"),
    "diabetes": ("diabetes", "diabetes"),
    "dementia": ("demens", "dementia"),
    "stroke": ("apopleksi", "stroke"),
    "cancer": ("kræft", "cancer"),
    "hip_fracture": ("hoftebrud", "hip fracture"),
    "delirium": ("delirium", "delirium"),
}

HISTORY_TABLES = (
    "hospital_contacts",
    "home_care",
    "fsiii_functional_ability",
    "prescriptions",
    "falls",
    "weights",
    "gp_services",
    "home_nursing_visits",
)

ACUTE_ADMISSION_MIN_HOURS = MINIMUM_ADMISSION_HOURS


class FactsDocumentError(ValueError):
    """A stored facts document does not have the shape :class:`CitizenFacts` writes (names the key only)."""


@dataclass(frozen=True)
class AdmissionFact:
    """One acute admission on the timeline (dates ``YYYY-MM-DD``; ``end`` None while still admitted)."""

    start: str
    end: str | None
    diagnosis: str | None
    acute: bool = True


@dataclass(frozen=True)
class HomeCareMonth:
    """Granted home care in one month, minutes per week (the level reasons speak of)."""

    month: str
    personal_care_granted: int
    practical_help_granted: int

    @property
    def minutes_per_week(self) -> int:
        """Both kinds together."""
        return self.personal_care_granted + self.practical_help_granted


@dataclass(frozen=True)
class FsiiiScore:
    """One FSIII functional-ability score (0-4) of the latest assessment."""

    code: str
    score: int
    assessed_date: str


@dataclass(frozen=True)
class FallFact:
    """One fall in the past 12 months; ``injury`` None when not recorded."""

    date: str
    injury: bool | None


@dataclass(frozen=True)
class WeightFact:
    """One weighing in the past 12 months."""

    date: str
    kg: float


_RECORDS: dict[str, type] = {
    "admissions": AdmissionFact,
    "home_care": HomeCareMonth,
    "fsiii": FsiiiScore,
    "falls": FallFact,
    "weights": WeightFact,
}


@dataclass(frozen=True)
class CitizenFacts:
    """The facts document: one writer (:meth:`to_json`, stored in ``citizen_facts.facts``), one reader
    (:meth:`from_json`, used by ``review.citizen_facts``). Keys and meaning are in the module docstring."""

    as_of_date: str
    age_years: int | None = None
    sex: Literal["F", "M"] | None = None
    living_alone: bool | None = None
    risks: Mapping[str, float] = field(default_factory=dict)
    admissions: tuple[AdmissionFact, ...] = ()
    admissions_count_12m: int = 0
    home_care: tuple[HomeCareMonth, ...] = ()
    home_care_minutes_per_week_now: int = 0
    home_care_minutes_per_week_3m_ago: int = 0
    fsiii: tuple[FsiiiScore, ...] = ()
    fsiii_assessed_on: str | None = None
    fsiii_mean_score: float | None = None
    fsiii_previous_assessed_on: str | None = None
    fsiii_previous_mean_score: float | None = None
    medicines_count: int = 0
    medicines_atc_90d: tuple[str, ...] = ()
    falls: tuple[FallFact, ...] = ()
    falls_count_12m: int = 0
    falls_with_injury_12m: int = 0
    weights: tuple[WeightFact, ...] = ()
    weight_latest_kg: float | None = None
    weight_change_pct_6m: float | None = None
    gp_contacts_3m: int = 0
    gp_contacts_previous_3m: int = 0
    home_nursing_visits_3m: int = 0
    conditions: tuple[str, ...] = ()
    hfrs_score: float | None = None
    charlson_index: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready document (every key present; lists for the timelines)."""
        document: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in _RECORDS:
                value = [asdict(record) for record in value]
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            document[item.name] = value
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> CitizenFacts:
        """Read a stored document. Keys the writer always writes may be absent (their default is used);
        a key or record field the writer never writes, or a value of the wrong kind, is refused."""
        if not isinstance(document, Mapping):
            raise FactsDocumentError("A facts document is a JSON object.")
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(document) - known)
        if unknown:
            raise FactsDocumentError(f"The facts document has keys the writer never writes: {unknown}.")
        values: dict[str, Any] = {}
        for name, value in document.items():
            if name in _RECORDS:
                values[name] = _records_from_json(name, value, _RECORDS[name])
            elif name in ("medicines_atc_90d", "conditions"):
                if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                    raise FactsDocumentError(f"The facts key {name!r} must be a list of strings.")
                values[name] = tuple(value)
            elif name == "risks":
                if not isinstance(value, Mapping):
                    raise FactsDocumentError("The facts key 'risks' must be an object.")
                values[name] = {str(k): float(v) for k, v in value.items()}
            else:
                values[name] = _scalar(name, value)
        values.setdefault("as_of_date", "")
        return cls(**values)


_SCALAR_KINDS: dict[str, tuple[type, ...]] = {
    "as_of_date": (str,),
    "sex": (str,),
    "living_alone": (bool,),
    "fsiii_assessed_on": (str,),
    "fsiii_previous_assessed_on": (str,),
    "fsiii_mean_score": (int, float),
    "fsiii_previous_mean_score": (int, float),
    "weight_latest_kg": (int, float),
    "weight_change_pct_6m": (int, float),
    "hfrs_score": (int, float),
    "charlson_index": (int, float),
}


def _scalar(name: str, value: Any) -> Any:
    """``value`` if it is of the kind the writer writes for ``name`` (counts are ints; None where allowed)."""
    kinds = _SCALAR_KINDS.get(name, (int,))
    optional = name in _SCALAR_KINDS or name == "age_years"
    if value is None and optional:
        return None
    wrong_bool = isinstance(value, bool) and bool not in kinds
    if wrong_bool or not isinstance(value, kinds):
        raise FactsDocumentError(f"The facts key {name!r} holds a value of the wrong kind.")
    return value


def _records_from_json(name: str, value: Any, record: type) -> tuple[Any, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise FactsDocumentError(f"The facts key {name!r} must be a list of records.")
    allowed = {item.name for item in fields(record)}
    required = {item.name for item in fields(record) if item.default is MISSING}
    parsed = []
    for item in value:
        if not isinstance(item, Mapping) or not set(item) <= allowed or not required <= set(item):
            raise FactsDocumentError(
                f"A record of the facts key {name!r} must have the fields {sorted(allowed)} only."
            )
        parsed.append(record(**item))
    return tuple(parsed)


def build_facts(
    feature_row: Mapping[str, Any],
    history: Mapping[str, pd.DataFrame],
    as_of: dt.date,
    risks: Mapping[str, float],
    **columns: str,
) -> dict[str, Any]:
    """The JSON form of :func:`build_citizen_facts` (what ``citizen_facts.facts`` stores)."""
    return build_citizen_facts(feature_row, history, as_of, risks, **columns).to_json()


def build_citizen_facts(
    feature_row: Mapping[str, Any],
    history: Mapping[str, pd.DataFrame],
    as_of: dt.date,
    risks: Mapping[str, float],
    *,
    age_column: str = "age_years",
    sex_female_column: str = "sex_female",
    living_alone_column: str = "living_alone",
) -> CitizenFacts:
    """One citizen's facts document (see module docstring) from their feature row and history frames.

    ``history`` maps table names from :data:`HISTORY_TABLES` to that citizen's rows as known at ``as_of``
    (a missing table is treated as no rows). Windows are half-open ``[as_of - d, as_of)``; counts "in the
    past 12 months" use 365 days, as the feature columns ``*_0_to_365d`` do.
    """
    t = pd.Timestamp(as_of)
    age = _number(feature_row.get(age_column))
    sex_female = _number(feature_row.get(sex_female_column))
    alone = _number(feature_row.get(living_alone_column))
    document = {
        "as_of_date": as_of.isoformat(),
        "age_years": None if age is None else math.floor(age),
        "sex": None if sex_female is None else ("F" if sex_female > 0 else "M"),
        "living_alone": None if alone is None else bool(alone > 0),
        "risks": {name: round(float(value), 4) for name, value in sorted(risks.items())},
        **_admissions(_rows(history, "hospital_contacts"), t),
        **_home_care(_rows(history, "home_care"), t),
        **_functional_ability(_rows(history, "fsiii_functional_ability")),
        **_medicines(_rows(history, "prescriptions"), t),
        **_falls(_rows(history, "falls"), t),
        **_weights(_rows(history, "weights"), t),
        **_gp_contacts(_rows(history, "gp_services"), t),
        "home_nursing_visits_3m": _count_since(_rows(history, "home_nursing_visits"), "visit_date", t, 90),
        "conditions": _conditions(feature_row),
        "hfrs_score": _score(feature_row, "hfrs"),
        "charlson_index": _score(feature_row, "charlson"),
    }
    return CitizenFacts.from_json(document)


def _rows(history: Mapping[str, pd.DataFrame], table: str) -> pd.DataFrame:
    frame = history.get(table)
    return frame if frame is not None else pd.DataFrame()


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _dates(frame: pd.DataFrame, column: str) -> pd.Series:
    if frame.empty or column not in frame:
        return pd.Series([], dtype="datetime64[ns]")
    return pd.to_datetime(frame[column])


def _count_since(frame: pd.DataFrame, column: str, t: pd.Timestamp, days: int) -> int:
    dates = _dates(frame, column)
    return int(((dates >= t - pd.Timedelta(days=days)) & (dates < t)).sum())


def is_acute_admission(contacts: pd.DataFrame, cut_at: pd.Timestamp | None = None) -> pd.Series:
    """Unplanned admission, as ``features.admissions`` defines it (LPR3 and LPR2 rules); a contact still
    open (or ending after ``cut_at``) is cut at ``cut_at``."""
    return is_unplanned_admission(contacts, cut_at)


def _admissions(contacts: pd.DataFrame, t: pd.Timestamp) -> dict[str, Any]:
    if contacts.empty:
        return {"admissions": [], "admissions_count_12m": 0}
    acute = contacts.loc[is_acute_admission(contacts, cut_at=t)]
    start = pd.to_datetime(acute["contact_start"])
    in_24m = acute.loc[(start >= t - pd.DateOffset(months=24)) & (start < t)]
    in_24m = in_24m.sort_values(["contact_start", "contact_id"], ascending=[False, True])
    timeline = [
        {
            "start": pd.Timestamp(row["contact_start"]).date().isoformat(),
            "end": None
            if pd.isna(row["contact_end"])
            else pd.Timestamp(row["contact_end"]).date().isoformat(),
            "diagnosis": None if pd.isna(row.get("action_diagnosis")) else str(row["action_diagnosis"]),
            "acute": True,
        }
        for _, row in in_24m.iterrows()
    ]
    count_12m = int(((start >= t - pd.Timedelta(days=365)) & (start < t)).sum())
    return {"admissions": timeline, "admissions_count_12m": count_12m}


def _home_care(frame: pd.DataFrame, t: pd.Timestamp) -> dict[str, Any]:
    empty = {"home_care": [], "home_care_minutes_per_week_now": 0, "home_care_minutes_per_week_3m_ago": 0}
    if frame.empty:
        return empty
    personal = pd.to_numeric(frame["personal_care_granted"], errors="coerce").fillna(0)
    practical = pd.to_numeric(frame["practical_help_granted"], errors="coerce").fillna(0)
    frame = frame.assign(
        _month=pd.to_datetime(frame["month"]), _personal=personal, _practical=practical
    ).sort_values("_month", kind="mergesort")
    frame = frame.loc[frame["_month"] < t]

    def level_at(moment: pd.Timestamp) -> int:
        before = frame.loc[frame["_month"] < moment]
        return int(before["_personal"].iloc[-1] + before["_practical"].iloc[-1]) if not before.empty else 0

    recent = frame.loc[frame["_month"] >= t - pd.DateOffset(months=12)]
    return {
        "home_care": [
            {
                "month": row["_month"].date().isoformat(),
                "personal_care_granted": int(row["_personal"]),
                "practical_help_granted": int(row["_practical"]),
            }
            for _, row in recent.iterrows()
        ],
        "home_care_minutes_per_week_now": level_at(t),
        "home_care_minutes_per_week_3m_ago": level_at(t - pd.DateOffset(months=3)),
    }


def _functional_ability(frame: pd.DataFrame) -> dict[str, Any]:
    result: dict[str, Any] = {
        "fsiii": [],
        "fsiii_assessed_on": None,
        "fsiii_mean_score": None,
        "fsiii_previous_assessed_on": None,
        "fsiii_previous_mean_score": None,
    }
    if frame.empty:
        return result
    scores = frame.assign(
        _date=pd.to_datetime(frame["assessed_date"]).dt.date,
        _score=pd.to_numeric(frame["score"], errors="coerce"),
    )
    scores = scores.loc[scores["_score"].between(0, 4)]
    if scores.empty:
        return result
    dates = sorted(scores["_date"].unique())
    latest = scores.loc[scores["_date"] == dates[-1]].sort_values("code", kind="mergesort")
    result.update(
        fsiii=[
            {"code": str(row["code"]), "score": int(row["_score"]), "assessed_date": dates[-1].isoformat()}
            for _, row in latest.iterrows()
        ],
        fsiii_assessed_on=dates[-1].isoformat(),
        fsiii_mean_score=round(float(latest["_score"].mean()), 2),
    )
    if len(dates) > 1:
        previous = scores.loc[scores["_date"] == dates[-2]]
        result.update(
            fsiii_previous_assessed_on=dates[-2].isoformat(),
            fsiii_previous_mean_score=round(float(previous["_score"].mean()), 2),
        )
    return result


def _medicines(frame: pd.DataFrame, t: pd.Timestamp) -> dict[str, Any]:
    if frame.empty:
        return {"medicines_count": 0, "medicines_atc_90d": []}
    dates = pd.to_datetime(frame["dispensing_date"])
    recent = frame.loc[(dates >= t - pd.Timedelta(days=90)) & (dates < t), "atc"].dropna().astype(str)
    codes = sorted(set(recent))
    return {"medicines_count": len(codes), "medicines_atc_90d": codes}


def _falls(frame: pd.DataFrame, t: pd.Timestamp) -> dict[str, Any]:
    if frame.empty:
        return {"falls": [], "falls_count_12m": 0, "falls_with_injury_12m": 0}
    dates = pd.to_datetime(frame["fall_date"])
    recent = frame.loc[(dates >= t - pd.Timedelta(days=365)) & (dates < t)]
    recent = recent.assign(_date=pd.to_datetime(recent["fall_date"])).sort_values("_date", kind="mergesort")
    injury = recent["injury"].astype("boolean").fillna(False) if "injury" in recent else None
    return {
        "falls": [
            {
                "date": row["_date"].date().isoformat(),
                "injury": None if injury is None else bool(injury.loc[i]),
            }
            for i, row in recent.iterrows()
        ],
        "falls_count_12m": len(recent),
        "falls_with_injury_12m": 0 if injury is None else int(injury.sum()),
    }


def _weights(frame: pd.DataFrame, t: pd.Timestamp) -> dict[str, Any]:
    empty = {"weights": [], "weight_latest_kg": None, "weight_change_pct_6m": None}
    if frame.empty:
        return empty
    measured = frame.assign(
        _date=pd.to_datetime(frame["measured_date"]), _kg=pd.to_numeric(frame["weight_kg"], errors="coerce")
    )
    measured = measured.loc[(measured["_date"] < t) & measured["_kg"].notna()].sort_values(
        "_date", kind="mergesort"
    )
    if measured.empty:
        return empty
    latest = measured.iloc[-1]
    window = measured.loc[measured["_date"] >= t - pd.DateOffset(months=6)]
    change = None
    if len(window) >= 2:
        first = window.iloc[0]["_kg"]
        change = round(float((latest["_kg"] - first) / first * 100), 1)
    recent = measured.loc[measured["_date"] >= t - pd.DateOffset(months=12)]
    return {
        "weights": [
            {"date": row["_date"].date().isoformat(), "kg": round(float(row["_kg"]), 1)}
            for _, row in recent.iterrows()
        ],
        "weight_latest_kg": round(float(latest["_kg"]), 1),
        "weight_change_pct_6m": change,
    }


def _gp_contacts(frame: pd.DataFrame, t: pd.Timestamp) -> dict[str, Any]:
    if frame.empty:
        return {"gp_contacts_3m": 0, "gp_contacts_previous_3m": 0}
    dates = pd.to_datetime(frame["service_date"])
    if "services" in frame:
        services = pd.to_numeric(frame["services"], errors="coerce").fillna(1)
    else:
        services = pd.Series(1, index=frame.index)
    start = t - pd.Timedelta(days=90)
    previous_start = t - pd.Timedelta(days=180)
    return {
        "gp_contacts_3m": int(services[(dates >= start) & (dates < t)].sum()),
        "gp_contacts_previous_3m": int(services[(dates >= previous_start) & (dates < start)].sum()),
    }


def _conditions(feature_row: Mapping[str, Any]) -> list[str]:
    found: set[str] = set()
    for column, value in feature_row.items():
        number = _number(value)
        if number is None or number <= 0 or not isinstance(column, str):
            continue
        for condition in CONDITIONS:
            if re.search(rf"(^|_){condition}(_|$)", column):
                found.add(condition)
    return sorted(found)


def _score(feature_row: Mapping[str, Any], prefix: str) -> float | None:
    for column in sorted(str(c) for c in feature_row):
        if column.startswith(f"{prefix}_") or column == prefix:
            number = _number(feature_row[column])
            if number is not None:
                return round(number, 1)
    return None
