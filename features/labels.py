"""Outcome labels over the half-open lookahead ``(t, t + h months]``, with censoring and competing death.

Labels use the *final* data (as occurred: the last version of every record, whenever delivered), because
an outcome is judged with hindsight; features never see it (their windows end before ``t``).

Outcomes:
- ``admission``: the first unplanned admission (``features.admissions``, the same definition features use).
  Death before any admission is a competing event: label 0.0 and ``admission_<h>m_competing_death`` True.
- ``death``: death date.
- ``frailty``: the first of death, a fall with injury, a nursing-home month, or new or increased home care
  (a month whose granted minutes exceed the last granted minutes before ``t``, 0 when none).

Follow-up ends at the first of: leaving the area (a population spell starting after ``t`` with status
``70`` disappeared or ``80`` emigrated, or in a municipality outside ``area_municipalities`` when given)
and the end of data (by default the earliest of the latest ``_delivered_at`` of the label tables). A row
whose follow-up ends before ``t + h`` without the event (and without competing death) is censored:
label NaN, ``_censored`` True. Events after the end of follow-up are not counted. ``follow_up_end``
(one column for every outcome) is that time, kept so that a model can weight for censoring
(``models.censoring``).
Event dates are timestamps; a date-only event on ``t`` itself belongs to neither features nor labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from features.admissions import sql_is_unplanned_admission
from features.cohort import build_cohort
from features.known_rows import existing_relations, versions_sql
from features.prediction_dates import DateLike, normalise_prediction_dates, register_frame

Outcome = Literal["admission", "death", "frailty"]
OUTCOMES: tuple[Outcome, ...] = ("admission", "death", "frailty")  # the one outcome list every layer imports
DEFAULT_HORIZONS_MONTHS: tuple[int, ...] = (6, 12)
FOLLOW_UP_END = "follow_up_end"  # when the row stops being followed: leaving the area or the end of data
LABEL_TABLES: tuple[str, ...] = (
    "population",
    "deaths",
    "hospital_contacts",
    "falls",
    "nursing_home_stays",
    "home_care",
)


def label_column_names(horizons: Sequence[int] = DEFAULT_HORIZONS_MONTHS) -> tuple[str, ...]:
    """Every label column after the keys, in order (docs/interfaces.md section 3)."""
    columns: list[str] = [FOLLOW_UP_END]
    for outcome in OUTCOMES:
        for horizon in horizons:
            stem = f"{outcome}_{horizon}m"
            columns += [stem, f"{stem}_censored", f"{stem}_event_date"]
            if outcome == "admission":
                columns.append(f"{stem}_competing_death")
    return tuple(columns)


def end_of_data(connection: duckdb.DuckDBPyConnection) -> pd.Timestamp:
    """The earliest, over the label tables present, of each table's latest ``_delivered_at``."""
    present = [table for table in LABEL_TABLES if table in existing_relations(connection)]
    if not present:
        raise ValueError("No label table (population, deaths, hospital_contacts, ...) in the warehouse.")
    maxima = " UNION ALL ".join(f"SELECT max(_delivered_at) AS latest FROM {table}" for table in present)
    value = connection.execute(f"SELECT min(latest) FROM ({maxima})").fetchall()[0][0]
    if value is None:
        raise ValueError("The label tables are empty; ingest deliveries before building labels.")
    return pd.Timestamp(value)


def _final(table: str, available: set[str], columns: str) -> str:
    if table not in available:
        return (
            "SELECT * FROM (SELECT NULL::VARCHAR AS person_key, NULL::TIMESTAMP AS _valid_time, "
            f"{columns}) WHERE FALSE"
        )
    return f"SELECT * FROM ({versions_sql(table)}) WHERE _superseded_at IS NULL"


def _first_events_sql(
    cohort: str, max_horizon: int, available: set[str], area_municipalities: Sequence[str] | None
) -> str:
    if area_municipalities:
        listed = ", ".join("'" + str(m).replace("'", "''") + "'" for m in area_municipalities)
        outside = f"OR municipality NOT IN ({listed})"
    else:
        outside = ""
    window = (
        f"e._valid_time > c.prediction_date AND e._valid_time <= c.prediction_date + to_months({max_horizon})"
    )
    contacts = _final(
        "hospital_contacts",
        available,
        "NULL::TIMESTAMP AS contact_start, NULL::TIMESTAMP AS contact_end, NULL::VARCHAR AS contact_type, "
        "NULL::VARCHAR AS priority, NULL::VARCHAR AS lpr_version",
    )
    falls = _final("falls", available, "NULL::BOOLEAN AS injury")
    home_care = _final(
        "home_care",
        available,
        "NULL::DOUBLE AS personal_care_granted, NULL::DOUBLE AS practical_help_granted",
    )

    def first(name: str, relation: str, extra: str = "TRUE") -> str:
        return f"""{name} AS (
    SELECT c.person_key, c.prediction_date, min(e._valid_time) AS first_time
    FROM cohort AS c JOIN ({relation}) AS e ON e.person_key = c.person_key AND {window} AND {extra}
    GROUP BY c.person_key, c.prediction_date)"""

    granted = "coalesce(personal_care_granted, 0) + coalesce(practical_help_granted, 0)"
    return f"""
WITH cohort AS (SELECT person_key, CAST(prediction_date AS TIMESTAMP) AS prediction_date FROM {cohort}),
{first("admission", f"SELECT * FROM ({contacts}) WHERE {sql_is_unplanned_admission()}")},
{first("death", _final("deaths", available, "NULL::DATE AS death_date"))},
{first("injurious_fall", falls, "coalesce(CAST(e.injury AS BOOLEAN), FALSE)")},
{first("nursing_home", _final("nursing_home_stays", available, "NULL::DATE AS month"))},
{
        first(
            "leaving",
            _final("population", available, "NULL::VARCHAR AS status, NULL::VARCHAR AS municipality"),
            f"(e.status IN ('70', '80') {outside})",
        )
    },
care AS (SELECT person_key, _valid_time, {granted} AS granted FROM ({home_care})),
baseline AS (
    SELECT c.person_key, c.prediction_date, arg_max(h.granted, h._valid_time) AS granted
    FROM cohort AS c JOIN care AS h ON h.person_key = c.person_key AND h._valid_time < c.prediction_date
    GROUP BY c.person_key, c.prediction_date),
home_care_increase AS (
    SELECT c.person_key, c.prediction_date, min(e._valid_time) AS first_time
    FROM cohort AS c
    LEFT JOIN baseline AS b USING (person_key, prediction_date)
    JOIN care AS e ON e.person_key = c.person_key AND {window} AND e.granted > coalesce(b.granted, 0)
    GROUP BY c.person_key, c.prediction_date)
SELECT c.person_key, c.prediction_date,
       admission.first_time AS admission_time, death.first_time AS death_time,
       injurious_fall.first_time AS injurious_fall_time, nursing_home.first_time AS nursing_home_time,
       home_care_increase.first_time AS home_care_increase_time, leaving.first_time AS leaving_time
FROM cohort AS c
LEFT JOIN admission USING (person_key, prediction_date)
LEFT JOIN death USING (person_key, prediction_date)
LEFT JOIN injurious_fall USING (person_key, prediction_date)
LEFT JOIN nursing_home USING (person_key, prediction_date)
LEFT JOIN leaving USING (person_key, prediction_date)
LEFT JOIN home_care_increase USING (person_key, prediction_date)
"""


def label_outcomes(
    first_events: pd.DataFrame, horizons: Sequence[int], data_end: pd.Timestamp
) -> pd.DataFrame:
    """Labels from first event times after ``t`` (columns ``<kind>_time``); pure pandas, no I/O.

    ``first_events`` needs person_key, prediction_date, admission_time, death_time, injurious_fall_time,
    nursing_home_time, home_care_increase_time and leaving_time (NaT when none).
    """
    times = {
        column: pd.to_datetime(first_events[column]).astype("datetime64[us]")
        for column in first_events.columns
        if column.endswith("_time")
    }
    t = pd.to_datetime(first_events["prediction_date"]).astype("datetime64[us]")
    follow_up_end = times["leaving_time"].where(times["leaving_time"] < data_end, data_end)
    frailty_time = pd.concat(
        [
            times["death_time"],
            times["injurious_fall_time"],
            times["nursing_home_time"],
            times["home_care_increase_time"],
        ],
        axis=1,
    ).min(axis=1)
    first_time = {"admission": times["admission_time"], "death": times["death_time"], "frailty": frailty_time}
    result = {
        "person_key": first_events["person_key"].to_numpy(),
        "prediction_date": t.to_numpy(),
        FOLLOW_UP_END: follow_up_end.to_numpy(),
    }
    for outcome in OUTCOMES:
        for horizon in horizons:
            horizon_end = t + pd.DateOffset(months=horizon)
            stem = f"{outcome}_{horizon}m"

            def observed(time: pd.Series, horizon_end: pd.Series = horizon_end) -> pd.Series:
                return time.notna() & (time <= horizon_end) & (time <= follow_up_end)

            event = observed(first_time[outcome])
            competing = pd.Series(False, index=t.index)
            if outcome == "admission":
                death = times["death_time"]
                event &= death.isna() | (first_time[outcome] <= death)
                competing = observed(death) & ~event
            censored = ~event & ~competing & (follow_up_end < horizon_end)
            label = np.where(event, 1.0, 0.0)
            label[censored.to_numpy()] = np.nan
            result[stem] = label
            result[f"{stem}_censored"] = censored.to_numpy()
            result[f"{stem}_event_date"] = first_time[outcome].where(event).to_numpy()
            if outcome == "admission":
                result[f"{stem}_competing_death"] = competing.to_numpy()
    return pd.DataFrame(result)


def build_labels(
    connection: duckdb.DuckDBPyConnection,
    prediction_dates: Sequence[object],
    horizons: Sequence[int] = DEFAULT_HORIZONS_MONTHS,
    *,
    cohort: pd.DataFrame | None = None,
    area_municipalities: Sequence[str] | None = None,
    data_end: DateLike | None = None,
) -> pd.DataFrame:
    """Labels for each cohort row (default: ``build_cohort`` as known at each date), keyed by
    (person_key, prediction_date); columns as ``label_column_names(horizons)``."""
    if not horizons or any(int(h) < 1 for h in horizons):
        raise ValueError("Horizons must be whole months >= 1, e.g. (6, 12).")
    dates = normalise_prediction_dates(prediction_dates)
    if cohort is None:
        cohort = build_cohort(connection, dates, "as_known", area_municipalities).members
    keys = cohort.loc[
        pd.to_datetime(cohort["prediction_date"]).isin(dates), ["person_key", "prediction_date"]
    ].copy()
    keys["prediction_date"] = pd.to_datetime(keys["prediction_date"]).astype("datetime64[us]")
    stop = pd.Timestamp(data_end) if data_end is not None else end_of_data(connection)
    available = existing_relations(connection)
    with register_frame(connection, keys, "label_keys") as name:
        sql = _first_events_sql(name, max(int(h) for h in horizons), available, area_municipalities)
        first_events = connection.sql(sql).df()
    labels = label_outcomes(first_events, [int(h) for h in horizons], stop)
    return labels.sort_values(["person_key", "prediction_date"], kind="stable").reset_index(drop=True)
