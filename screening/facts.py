"""The facts about a citizen, as known at the as-of date, that the citizen page shows and reasons cite.

:func:`build_facts` is pure: it takes the citizen's feature row and their history rows (already filtered to
"as known at as-of" by ``screening.history_reader``) and returns one JSON-ready dict. Reasons are rendered
from these same dicts, so a reason can never state a number the citizen page does not show.

Facts document (``citizen_facts.facts``), every key always present, ``None`` or empty when unknown::

    as_of_date            "YYYY-MM-DD"
    age_years             int | None         sex "F" | "M" | None        living_alone bool | None
    risks                 {outcome: calibrated risk}
    acute_admissions      {count_12m, timeline: [{start, end, diagnosis}] (24 months, newest first)}
    home_care             {minutes_per_week_now, minutes_per_week_3m_ago,
                           by_month: [{month "YYYY-MM", personal_care, practical_help}] (12 months)}
    functional_ability    {assessed_on, mean_score, previous_assessed_on, previous_mean_score,
                           domains: {J1..J5: mean score}}        (FSIII, scores 0-4; 9 excluded)
    medicines             {distinct_atc_90d, atc_90d: [codes]}
    falls                 {count_12m, with_injury_12m, dates: [...]}
    weights               {latest_kg, change_pct_6m, series: [{date, kg}] (12 months)}
    gp_contacts           {count_3m, count_previous_3m}
    home_nursing          {visits_3m}
    conditions            [condition codes flagged in the feature row, e.g. "heart_failure"]
    scores                {hfrs: float | None, charlson: float | None}
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

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

ACUTE_ADMISSION_MIN_HOURS = 12


def build_facts(
    feature_row: Mapping[str, Any],
    history: Mapping[str, pd.DataFrame],
    as_of: dt.date,
    risks: Mapping[str, float],
    *,
    age_column: str = "age_years",
    sex_female_column: str = "sex_female",
    living_alone_column: str = "living_alone",
) -> dict[str, Any]:
    """One citizen's facts document (see module docstring) from their feature row and history frames.

    ``history`` maps table names from :data:`HISTORY_TABLES` to that citizen's rows as known at ``as_of``
    (a missing table is treated as no rows). Windows are half-open ``[as_of - d, as_of)``.
    """
    t = pd.Timestamp(as_of)
    age = _number(feature_row.get(age_column))
    sex_female = _number(feature_row.get(sex_female_column))
    alone = _number(feature_row.get(living_alone_column))
    return {
        "as_of_date": as_of.isoformat(),
        "age_years": None if age is None else math.floor(age),
        "sex": None if sex_female is None else ("F" if sex_female > 0 else "M"),
        "living_alone": None if alone is None else bool(alone > 0),
        "risks": {name: round(float(value), 4) for name, value in sorted(risks.items())},
        "acute_admissions": _admissions(_rows(history, "hospital_contacts"), t),
        "home_care": _home_care(_rows(history, "home_care"), t),
        "functional_ability": _functional_ability(_rows(history, "fsiii_functional_ability")),
        "medicines": _medicines(_rows(history, "prescriptions"), t),
        "falls": _falls(_rows(history, "falls"), t),
        "weights": _weights(_rows(history, "weights"), t),
        "gp_contacts": _gp_contacts(_rows(history, "gp_services"), t),
        "home_nursing": {
            "visits_3m": _count_since(_rows(history, "home_nursing_visits"), "visit_date", t, 91)
        },
        "conditions": _conditions(feature_row),
        "scores": {"hfrs": _score(feature_row, "hfrs"), "charlson": _score(feature_row, "charlson")},
    }


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


def is_acute_admission(contacts: pd.DataFrame) -> pd.Series:
    """Unplanned admission: acute priority, physical contact, and >= 12 hours or over midnight."""
    if contacts.empty:
        return pd.Series([], dtype=bool)
    start = pd.to_datetime(contacts["contact_start"])
    end = pd.to_datetime(contacts["contact_end"])
    long_enough = ((end - start) >= pd.Timedelta(hours=ACUTE_ADMISSION_MIN_HOURS)) | (
        end.dt.normalize() > start.dt.normalize()
    )
    return (
        (contacts["priority"] == "acute")
        & (contacts["contact_type"] == "physical")
        & long_enough.fillna(False)
    )


def _admissions(contacts: pd.DataFrame, t: pd.Timestamp) -> dict[str, Any]:
    if contacts.empty:
        return {"count_12m": 0, "timeline": []}
    acute = contacts.loc[is_acute_admission(contacts)].copy()
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
        }
        for _, row in in_24m.iterrows()
    ]
    count_12m = int(((start >= t - pd.DateOffset(months=12)) & (start < t)).sum())
    return {"count_12m": count_12m, "timeline": timeline}


def _home_care_minutes(frame: pd.DataFrame) -> pd.Series:
    personal = pd.to_numeric(frame["personal_care_granted"], errors="coerce").fillna(0)
    practical = pd.to_numeric(frame["practical_help_granted"], errors="coerce").fillna(0)
    return personal + practical


def _home_care(frame: pd.DataFrame, t: pd.Timestamp) -> dict[str, Any]:
    empty = {"minutes_per_week_now": 0, "minutes_per_week_3m_ago": 0, "by_month": []}
    if frame.empty:
        return empty
    months = pd.to_datetime(frame["month"])
    frame = frame.assign(_month=months, _minutes=_home_care_minutes(frame)).sort_values("_month")
    by_month_frame = frame.loc[frame["_month"] >= t - pd.DateOffset(months=12)]

    def level_at(moment: pd.Timestamp) -> int:
        before = frame.loc[frame["_month"] < moment]
        return int(before["_minutes"].iloc[-1]) if not before.empty else 0

    by_month = [
        {
            "month": row["_month"].strftime("%Y-%m"),
            "personal_care": int(_number(row["personal_care_granted"]) or 0),
            "practical_help": int(_number(row["practical_help_granted"]) or 0),
        }
        for _, row in by_month_frame.iterrows()
    ]
    return {
        "minutes_per_week_now": level_at(t),
        "minutes_per_week_3m_ago": level_at(t - pd.DateOffset(months=3)),
        "by_month": by_month,
    }


def _functional_ability(frame: pd.DataFrame) -> dict[str, Any]:
    empty = {
        "assessed_on": None,
        "mean_score": None,
        "previous_assessed_on": None,
        "previous_mean_score": None,
        "domains": {},
    }
    if frame.empty:
        return empty
    scores = frame.assign(
        _date=pd.to_datetime(frame["assessed_date"]).dt.date,
        _score=pd.to_numeric(frame["score"], errors="coerce"),
    )
    scores = scores.loc[scores["_score"].between(0, 4)]
    if scores.empty:
        return empty
    dates = sorted(scores["_date"].unique())
    latest = scores.loc[scores["_date"] == dates[-1]]
    domain = latest["domain"] if "domain" in latest else latest["code"].astype(str).str.split(".").str[0]
    domains = {
        str(k): round(float(v), 2) for k, v in latest.groupby(domain)["_score"].mean().sort_index().items()
    }
    result = dict(empty)
    result.update(
        assessed_on=dates[-1].isoformat(),
        mean_score=round(float(latest["_score"].mean()), 2),
        domains=domains,
    )
    if len(dates) > 1:
        previous = scores.loc[scores["_date"] == dates[-2]]
        result.update(
            previous_assessed_on=dates[-2].isoformat(),
            previous_mean_score=round(float(previous["_score"].mean()), 2),
        )
    return result


def _medicines(frame: pd.DataFrame, t: pd.Timestamp) -> dict[str, Any]:
    if frame.empty:
        return {"distinct_atc_90d": 0, "atc_90d": []}
    dates = pd.to_datetime(frame["dispensing_date"])
    recent = frame.loc[(dates >= t - pd.Timedelta(days=90)) & (dates < t), "atc"].dropna().astype(str)
    codes = sorted(set(recent))
    return {"distinct_atc_90d": len(codes), "atc_90d": codes}


def _falls(frame: pd.DataFrame, t: pd.Timestamp) -> dict[str, Any]:
    if frame.empty:
        return {"count_12m": 0, "with_injury_12m": 0, "dates": []}
    dates = pd.to_datetime(frame["fall_date"])
    recent = frame.loc[(dates >= t - pd.DateOffset(months=12)) & (dates < t)]
    recent_dates = sorted(pd.to_datetime(recent["fall_date"]).dt.date, reverse=True)
    injuries = int(recent["injury"].fillna(False).astype(bool).sum()) if "injury" in recent else 0
    return {
        "count_12m": len(recent),
        "with_injury_12m": injuries,
        "dates": [d.isoformat() for d in recent_dates],
    }


def _weights(frame: pd.DataFrame, t: pd.Timestamp) -> dict[str, Any]:
    empty = {"latest_kg": None, "change_pct_6m": None, "series": []}
    if frame.empty:
        return empty
    measured = frame.assign(
        _date=pd.to_datetime(frame["measured_date"]), _kg=frame["weight_kg"].astype(float)
    )
    measured = measured.loc[(measured["_date"] < t) & measured["_kg"].notna()].sort_values("_date")
    if measured.empty:
        return empty
    series_frame = measured.loc[measured["_date"] >= t - pd.DateOffset(months=12)]
    latest = measured.iloc[-1]
    window = measured.loc[measured["_date"] >= t - pd.DateOffset(months=6)]
    change = None
    if len(window) >= 2:
        first = window.iloc[0]["_kg"]
        change = round(float((latest["_kg"] - first) / first * 100), 1)
    return {
        "latest_kg": round(float(latest["_kg"]), 1),
        "change_pct_6m": change,
        "series": [
            {"date": row["_date"].date().isoformat(), "kg": round(float(row["_kg"]), 1)}
            for _, row in series_frame.iterrows()
        ],
    }


def _gp_contacts(frame: pd.DataFrame, t: pd.Timestamp) -> dict[str, Any]:
    if frame.empty:
        return {"count_3m": 0, "count_previous_3m": 0}
    dates = pd.to_datetime(frame["service_date"])
    services = pd.to_numeric(frame.get("services", pd.Series(1, index=frame.index)), errors="coerce").fillna(
        1
    )
    start = t - pd.Timedelta(days=91)
    previous_start = t - pd.Timedelta(days=182)
    return {
        "count_3m": int(services[(dates >= start) & (dates < t)].sum()),
        "count_previous_3m": int(services[(dates >= previous_start) & (dates < start)].sum()),
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
