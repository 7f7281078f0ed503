"""The facts about a citizen, as known at the as-of date, that the citizen page shows and reasons cite.

:func:`build_facts_table` is pure: it takes the listed citizens' feature rows and their history rows (one
frame per table, already filtered to "as known at as-of" by ``screening.history_reader``) and returns one
JSON-ready dict per citizen, summarising each table for all of them at once (docs/decisions.md D131);
:func:`build_facts` is the same for one citizen. Reasons are rendered from these same dicts, so a reason
can never state a number the citizen page does not show.

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
    **columns: str,
) -> CitizenFacts:
    """One citizen's facts document (see module docstring) from their feature row and history frames.

    ``history`` maps table names from :data:`HISTORY_TABLES` to that citizen's rows as known at ``as_of``
    (a missing table is treated as no rows). The same rules as :func:`build_facts_table`, which this
    calls with a one-citizen table.
    """
    person = "citizen"
    tables = {table: frame.assign(**{_PERSON: person}) for table, frame in history.items()}
    rows = pd.DataFrame([dict(feature_row)])
    document = _documents(rows, [person], tables, as_of, {person: risks}, **columns)[person]
    return CitizenFacts.from_json(document)


def build_facts_table(
    feature_rows: pd.DataFrame,
    history: Mapping[str, pd.DataFrame],
    as_of: dt.date,
    risks: Mapping[str, Mapping[str, float]],
    *,
    person_key: str = "person_key",
    **columns: str,
) -> dict[str, dict[str, Any]]:
    """``person_key -> facts document`` (JSON form) of every citizen in ``feature_rows``, at once.

    ``feature_rows`` holds one row per citizen (``person_key`` and feature columns); ``history`` maps
    table names from :data:`HISTORY_TABLES` to the rows of these citizens as known at ``as_of``, with a
    ``person_key`` column (``screening.history_reader.read_history``; a missing table is no rows);
    ``risks`` maps person_key to ``{outcome: calibrated risk}``. Each table is summarised for all
    citizens in one pass, so the cost grows with the rows, not with pandas calls per citizen. Windows are
    half-open ``[as_of - d, as_of)``; counts "in the past 12 months" use 365 days, as the feature columns
    ``*_0_to_365d`` do. A citizen's document depends only on their own rows (tested against one-citizen
    tables).
    """
    people = feature_rows[person_key].astype(str).tolist()
    tables = {
        table: frame.assign(**{_PERSON: frame[person_key].astype(str).to_numpy()})
        for table, frame in history.items()
    }
    documents = _documents(feature_rows, people, tables, as_of, risks, **columns)
    return {person: CitizenFacts.from_json(document).to_json() for person, document in documents.items()}


# The column the table builders group history rows by (added to copies of the history frames, so the
# one-citizen form, whose frames have no person_key, shares the code path).
_PERSON = "_facts_person"


def _documents(
    rows: pd.DataFrame,
    people: list[str],
    history: Mapping[str, pd.DataFrame],
    as_of: dt.date,
    risks: Mapping[str, Mapping[str, float]],
    *,
    age_column: str = "age_years",
    sex_female_column: str = "sex_female",
    living_alone_column: str = "living_alone",
) -> dict[str, dict[str, Any]]:
    """The facts documents (not yet read back through :class:`CitizenFacts`) of ``people``, one per row
    of ``rows`` in that order; the history frames carry the person in ``_PERSON``."""
    t = pd.Timestamp(as_of)
    sections = [
        _admissions(_rows(history, "hospital_contacts"), t),
        _home_care(_rows(history, "home_care"), t),
        _functional_ability(_rows(history, "fsiii_functional_ability")),
        _medicines(_rows(history, "prescriptions"), t),
        _falls(_rows(history, "falls"), t),
        _weights(_rows(history, "weights"), t),
        _gp_contacts(_rows(history, "gp_services"), t),
        _home_nursing(_rows(history, "home_nursing_visits"), t),
    ]
    defaults = [section.defaults for section in sections]
    ages = _numbers(rows, age_column)
    sexes = _numbers(rows, sex_female_column)
    alone = _numbers(rows, living_alone_column)
    conditions = _conditions(rows)
    hfrs = _score(rows, "hfrs")
    charlson = _score(rows, "charlson")
    documents: dict[str, dict[str, Any]] = {}
    for position, person in enumerate(people):
        age, sex_female, lives_alone = ages[position], sexes[position], alone[position]
        document: dict[str, Any] = {
            "as_of_date": as_of.isoformat(),
            "age_years": None if age is None else math.floor(age),
            "sex": None if sex_female is None else ("F" if sex_female > 0 else "M"),
            "living_alone": None if lives_alone is None else bool(lives_alone > 0),
            "risks": {name: round(float(value), 4) for name, value in sorted(risks[person].items())},
        }
        for section, default in zip(sections, defaults, strict=True):
            document.update(section.by_person.get(person, default))
        document["conditions"] = conditions[position]
        document["hfrs_score"] = hfrs[position]
        document["charlson_index"] = charlson[position]
        documents[person] = document
    return documents


@dataclass(frozen=True)
class _Section:
    """Some keys of the facts document for every citizen with rows in a table, and their values for
    a citizen without any."""

    by_person: Mapping[str, Mapping[str, Any]]
    defaults: Mapping[str, Any]


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


def _numbers(rows: pd.DataFrame, column: str) -> list[float | None]:
    if column not in rows:
        return [None] * len(rows)
    return [_number(value) for value in rows[column].tolist()]


def _by_person(frame: pd.DataFrame, *order: str) -> pd.DataFrame:
    """``frame`` ordered by person, then stably by ``order`` (first column first): within a person the
    rows keep their given order where the keys tie, as a stable sort of that person's rows alone."""
    for column in reversed(order):
        frame = frame.sort_values(column, kind="mergesort")
    return frame.sort_values(_PERSON, kind="mergesort")


def _grouped(people: pd.Series, values: list[Any]) -> dict[str, list[Any]]:
    """``values`` (one per row, rows grouped by person) collected per person in row order."""
    grouped: dict[str, list[Any]] = {}
    for person, value in zip(people.tolist(), values, strict=True):
        grouped.setdefault(person, []).append(value)
    return grouped


def _iso_days(values: pd.Series) -> list[str]:
    return [stamp.date().isoformat() for stamp in pd.to_datetime(values).tolist()]


def _counts(frame: pd.DataFrame, mask: pd.Series, weights: pd.Series | None = None) -> dict[str, int]:
    """Per person: the rows (or the sum of ``weights``) where ``mask`` holds; persons with none are 0."""
    chosen = mask.to_numpy(dtype=bool)
    people = frame[_PERSON].to_numpy()[chosen]
    if weights is None:
        return {person: int(n) for person, n in pd.Series(people).value_counts(sort=False).items()}
    summed = pd.Series(weights.to_numpy()[chosen]).groupby(people, sort=False).sum()
    return {person: int(value) for person, value in summed.items()}


def _count_since(frame: pd.DataFrame, column: str, t: pd.Timestamp, days: int) -> dict[str, int]:
    if frame.empty or column not in frame:
        return {}
    dates = pd.to_datetime(frame[column])
    return _counts(frame, (dates >= t - pd.Timedelta(days=days)) & (dates < t))


def is_acute_admission(contacts: pd.DataFrame, cut_at: pd.Timestamp | None = None) -> pd.Series:
    """Unplanned admission, as ``features.admissions`` defines it (LPR3 and LPR2 rules); a contact still
    open (or ending after ``cut_at``) is cut at ``cut_at``."""
    return is_unplanned_admission(contacts, cut_at)


def _admissions(contacts: pd.DataFrame, t: pd.Timestamp) -> _Section:
    defaults = {"admissions": [], "admissions_count_12m": 0}
    if contacts.empty:
        return _Section({}, defaults)
    acute = contacts.loc[is_acute_admission(contacts, cut_at=t).to_numpy(dtype=bool)]
    start = pd.to_datetime(acute["contact_start"])
    counts = _counts(acute, (start >= t - pd.Timedelta(days=365)) & (start < t))
    in_24m = acute.loc[((start >= t - pd.DateOffset(months=24)) & (start < t)).to_numpy(dtype=bool)]
    in_24m = in_24m.sort_values(["contact_start", "contact_id"], ascending=[False, True])
    in_24m = in_24m.sort_values(_PERSON, kind="mergesort")
    ends = in_24m["contact_end"]
    end_days = [None if pd.isna(end) else pd.Timestamp(end).date().isoformat() for end in ends.tolist()]
    if "action_diagnosis" in in_24m:
        diagnoses = [None if pd.isna(code) else str(code) for code in in_24m["action_diagnosis"].tolist()]
    else:
        diagnoses = [None] * len(in_24m)
    timeline = [
        {"start": pd.Timestamp(begin).date().isoformat(), "end": end, "diagnosis": diagnosis, "acute": True}
        for begin, end, diagnosis in zip(in_24m["contact_start"].tolist(), end_days, diagnoses, strict=True)
    ]
    timelines = _grouped(in_24m[_PERSON], timeline)
    people = set(contacts[_PERSON])
    return _Section(
        {
            person: {"admissions": timelines.get(person, []), "admissions_count_12m": counts.get(person, 0)}
            for person in people
        },
        defaults,
    )


def _home_care(frame: pd.DataFrame, t: pd.Timestamp) -> _Section:
    defaults = {"home_care": [], "home_care_minutes_per_week_now": 0, "home_care_minutes_per_week_3m_ago": 0}
    if frame.empty:
        return _Section({}, defaults)
    personal = pd.to_numeric(frame["personal_care_granted"], errors="coerce").fillna(0)
    practical = pd.to_numeric(frame["practical_help_granted"], errors="coerce").fillna(0)
    frame = _by_person(
        frame.assign(_month=pd.to_datetime(frame["month"]), _personal=personal, _practical=practical),
        "_month",
    )
    frame = frame.loc[(frame["_month"] < t).to_numpy(dtype=bool)]

    def level_at(moment: pd.Timestamp) -> dict[str, int]:
        before = frame.loc[(frame["_month"] < moment).to_numpy(dtype=bool)]
        last = before.groupby(_PERSON, sort=False).tail(1)
        levels = (last["_personal"] + last["_practical"]).tolist()
        return {person: int(level) for person, level in zip(last[_PERSON].tolist(), levels, strict=True)}

    recent = frame.loc[(frame["_month"] >= t - pd.DateOffset(months=12)).to_numpy(dtype=bool)]
    months = [
        {"month": month, "personal_care_granted": int(personal), "practical_help_granted": int(practical)}
        for month, personal, practical in zip(
            _iso_days(recent["_month"]),
            recent["_personal"].tolist(),
            recent["_practical"].tolist(),
            strict=True,
        )
    ]
    timelines = _grouped(recent[_PERSON], months)
    now, before = level_at(t), level_at(t - pd.DateOffset(months=3))
    return _Section(
        {
            person: {
                "home_care": timelines.get(person, []),
                "home_care_minutes_per_week_now": now.get(person, 0),
                "home_care_minutes_per_week_3m_ago": before.get(person, 0),
            }
            for person in set(frame[_PERSON])
        },
        defaults,
    )


def _functional_ability(frame: pd.DataFrame) -> _Section:
    defaults: dict[str, Any] = {
        "fsiii": [],
        "fsiii_assessed_on": None,
        "fsiii_mean_score": None,
        "fsiii_previous_assessed_on": None,
        "fsiii_previous_mean_score": None,
    }
    if frame.empty:
        return _Section({}, defaults)
    scores = frame.assign(
        _day=pd.to_datetime(frame["assessed_date"]).dt.normalize(),
        _score=pd.to_numeric(frame["score"], errors="coerce"),
    )
    scores = scores.loc[scores["_score"].between(0, 4).to_numpy(dtype=bool)]
    if scores.empty:
        return _Section({}, defaults)
    # the assessment days of each person, newest first, with the mean score of each day
    days = (
        scores.groupby([_PERSON, "_day"], sort=True)["_score"]
        .mean()
        .reset_index()
        .sort_values("_day", ascending=False, kind="mergesort")
        .sort_values(_PERSON, kind="mergesort")
    )
    days["_nth"] = days.groupby(_PERSON, sort=False).cumcount()
    latest_day = days.loc[days["_nth"] == 0].set_index(_PERSON)
    previous_day = days.loc[days["_nth"] == 1].set_index(_PERSON)
    newest = scores["_day"].to_numpy() == latest_day["_day"].reindex(scores[_PERSON]).to_numpy()
    latest = _by_person(scores.loc[newest], "code")
    items = [
        {"code": str(code), "score": int(score), "assessed_date": day}
        for code, score, day in zip(
            latest["code"].tolist(), latest["_score"].tolist(), _iso_days(latest["_day"]), strict=True
        )
    ]
    assessments = _grouped(latest[_PERSON], items)
    by_person: dict[str, dict[str, Any]] = {}
    for person, day, mean in zip(
        latest_day.index.tolist(), _iso_days(latest_day["_day"]), latest_day["_score"].tolist(), strict=True
    ):
        by_person[person] = {
            **defaults,
            "fsiii": assessments[person],
            "fsiii_assessed_on": day,
            "fsiii_mean_score": round(float(mean), 2),
        }
    for person, day, mean in zip(
        previous_day.index.tolist(),
        _iso_days(previous_day["_day"]),
        previous_day["_score"].tolist(),
        strict=True,
    ):
        by_person[person]["fsiii_previous_assessed_on"] = day
        by_person[person]["fsiii_previous_mean_score"] = round(float(mean), 2)
    return _Section(by_person, defaults)


def _medicines(frame: pd.DataFrame, t: pd.Timestamp) -> _Section:
    defaults = {"medicines_count": 0, "medicines_atc_90d": []}
    if frame.empty:
        return _Section({}, defaults)
    dates = pd.to_datetime(frame["dispensing_date"])
    recent = frame.loc[((dates >= t - pd.Timedelta(days=90)) & (dates < t)).to_numpy(dtype=bool)]
    recent = recent.loc[recent["atc"].notna().to_numpy(dtype=bool)]
    codes: dict[str, set[str]] = {}
    for person, code in zip(recent[_PERSON].tolist(), recent["atc"].astype(str).tolist(), strict=True):
        codes.setdefault(person, set()).add(code)
    return _Section(
        {
            person: {"medicines_count": len(found), "medicines_atc_90d": sorted(found)}
            for person, found in codes.items()
        },
        defaults,
    )


def _falls(frame: pd.DataFrame, t: pd.Timestamp) -> _Section:
    defaults = {"falls": [], "falls_count_12m": 0, "falls_with_injury_12m": 0}
    if frame.empty:
        return _Section({}, defaults)
    dates = pd.to_datetime(frame["fall_date"])
    recent = frame.loc[((dates >= t - pd.Timedelta(days=365)) & (dates < t)).to_numpy(dtype=bool)]
    recent = _by_person(recent.assign(_date=pd.to_datetime(recent["fall_date"])), "_date")
    if "injury" in recent:
        injured = recent["injury"].astype("boolean").fillna(False).tolist()
        injuries: list[bool | None] = [bool(value) for value in injured]
    else:
        injuries = [None] * len(recent)
    records = [
        {"date": day, "injury": injury}
        for day, injury in zip(_iso_days(recent["_date"]), injuries, strict=True)
    ]
    falls = _grouped(recent[_PERSON], records)
    return _Section(
        {
            person: {
                "falls": found,
                "falls_count_12m": len(found),
                "falls_with_injury_12m": 0
                if "injury" not in recent
                else sum(1 for fall in found if fall["injury"]),
            }
            for person, found in falls.items()
        },
        defaults,
    )


def _weights(frame: pd.DataFrame, t: pd.Timestamp) -> _Section:
    defaults = {"weights": [], "weight_latest_kg": None, "weight_change_pct_6m": None}
    if frame.empty:
        return _Section({}, defaults)
    measured = frame.assign(
        _date=pd.to_datetime(frame["measured_date"]), _kg=pd.to_numeric(frame["weight_kg"], errors="coerce")
    )
    measured = measured.loc[((measured["_date"] < t) & measured["_kg"].notna()).to_numpy(dtype=bool)]
    measured = _by_person(measured, "_date")
    if measured.empty:
        return _Section({}, defaults)
    latest = measured.groupby(_PERSON, sort=False).tail(1).set_index(_PERSON)["_kg"]
    window = measured.loc[(measured["_date"] >= t - pd.DateOffset(months=6)).to_numpy(dtype=bool)]
    first = window.groupby(_PERSON, sort=False).head(1).set_index(_PERSON)["_kg"]
    in_window = window.groupby(_PERSON, sort=False).size()
    recent = measured.loc[(measured["_date"] >= t - pd.DateOffset(months=12)).to_numpy(dtype=bool)]
    records = [
        {"date": day, "kg": round(float(kg), 1)}
        for day, kg in zip(_iso_days(recent["_date"]), recent["_kg"].tolist(), strict=True)
    ]
    timelines = _grouped(recent[_PERSON], records)
    by_person: dict[str, dict[str, Any]] = {}
    for person, kg in latest.items():
        change = None
        if in_window.get(person, 0) >= 2:
            start = first[person]
            change = round(float((kg - start) / start * 100), 1)
        by_person[str(person)] = {
            "weights": timelines.get(str(person), []),
            "weight_latest_kg": round(float(kg), 1),
            "weight_change_pct_6m": change,
        }
    return _Section(by_person, defaults)


def _gp_contacts(frame: pd.DataFrame, t: pd.Timestamp) -> _Section:
    defaults = {"gp_contacts_3m": 0, "gp_contacts_previous_3m": 0}
    if frame.empty:
        return _Section({}, defaults)
    dates = pd.to_datetime(frame["service_date"])
    if "services" in frame:
        services = pd.to_numeric(frame["services"], errors="coerce").fillna(1)
    else:
        services = pd.Series(1, index=frame.index)
    start = t - pd.Timedelta(days=90)
    previous_start = t - pd.Timedelta(days=180)
    now = _counts(frame, (dates >= start) & (dates < t), services)
    before = _counts(frame, (dates >= previous_start) & (dates < start), services)
    return _Section(
        {
            person: {"gp_contacts_3m": now.get(person, 0), "gp_contacts_previous_3m": before.get(person, 0)}
            for person in set(frame[_PERSON])
        },
        defaults,
    )


def _home_nursing(frame: pd.DataFrame, t: pd.Timestamp) -> _Section:
    counts = _count_since(frame, "visit_date", t, 90)
    return _Section(
        {person: {"home_nursing_visits_3m": n} for person, n in counts.items()}, {"home_nursing_visits_3m": 0}
    )


def _conditions(rows: pd.DataFrame) -> list[list[str]]:
    """Per row: the conditions named by a feature column (``heart_failure`` in
    ``heart_failure_diagnoses_count_0_to_1825d``) whose value is positive."""
    found: list[set[str]] = [set() for _ in range(len(rows))]
    for column in rows.columns:
        if not isinstance(column, str):
            continue
        named = [c for c in CONDITIONS if re.search(rf"(^|_){c}(_|$)", column)]
        if not named:
            continue
        for position, number in enumerate(_numbers(rows, column)):
            if number is not None and number > 0:
                found[position].update(named)
    return [sorted(conditions) for conditions in found]


def _score(rows: pd.DataFrame, prefix: str) -> list[float | None]:
    """Per row: the first known value, in column-name order, of the columns named ``prefix`` or
    ``prefix_*``, to one decimal."""
    scores: list[float | None] = [None] * len(rows)
    names = sorted(str(c) for c in rows.columns)
    for column in (c for c in names if c.startswith(f"{prefix}_") or c == prefix):
        for position, number in enumerate(_numbers(rows, column)):
            if scores[position] is None and number is not None:
                scores[position] = round(number, 1)
    return scores
