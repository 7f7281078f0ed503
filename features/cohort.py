"""Who is scored at each prediction date, and how many each eligibility rule removed.

Eligibility at ``t`` uses only what was known at ``t`` (or, in ``as_occurred`` mode, the final data):

1. ``registered``: the person has a population spell starting before ``t``;
2. ``aged_65_or_over``: 65 completed years or more at ``t``;
3. ``resident_in_area``: the current spell (latest spell start before ``t``) has status ``01`` (active),
   has not ended before ``t``, and, when ``area_municipalities`` is given, lies in one of them;
4. ``alive``: no death dated before ``t``;
5. ``not_in_nursing_home``: no nursing-home month in the ``NURSING_HOME_LOOKBACK_DAYS`` before ``t``
   (stays are reported one row per resident per month).

The members frame also carries the descriptive and demographic columns every feature table starts with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import duckdb
import pandas as pd

from features.known_rows import Mode, check_mode, existing_relations, known_rows_sql
from features.prediction_dates import normalise_prediction_dates, register_prediction_dates

MINIMUM_AGE_YEARS = 65
NURSING_HOME_LOOKBACK_DAYS = 92
ELIGIBILITY_RULES: tuple[str, ...] = (
    "registered",
    "aged_65_or_over",
    "resident_in_area",
    "alive",
    "not_in_nursing_home",
)
COHORT_KEY_COLUMNS: tuple[str, ...] = ("person_key", "prediction_date")
COHORT_DESCRIPTIVE_COLUMNS: tuple[str, ...] = ("municipality", "district")
COHORT_FEATURE_COLUMNS: tuple[str, ...] = ("age_years", "sex_female", "living_alone")
# the clinical concept of each cohort column that has one (sex is not something a reason explains)
COHORT_CONCEPTS: dict[str, Literal["age", "living_alone"]] = {
    "age_years": "age",
    "living_alone": "living_alone",
}


@dataclass(frozen=True)
class Cohort:
    """``members``: one row per eligible (person_key, prediction_date) with municipality, district,
    age_years, sex_female, living_alone. ``attrition``: prediction_date, rule, removed, remaining."""

    members: pd.DataFrame
    attrition: pd.DataFrame


_NO_ROWS = "SELECT NULL::TIMESTAMP AS prediction_date, NULL::VARCHAR AS person_key WHERE FALSE"


def _candidates_sql(
    dates: str, mode: Mode, area_municipalities: Sequence[str] | None, available: set[str]
) -> str:
    population = known_rows_sql("population", dates, mode, lookback_days=None)
    deaths = known_rows_sql("deaths", dates, mode, lookback_days=None) if "deaths" in available else _NO_ROWS
    nursing = (
        known_rows_sql("nursing_home_stays", dates, mode, lookback_days=NURSING_HOME_LOOKBACK_DAYS)
        if "nursing_home_stays" in available
        else _NO_ROWS
    )
    if area_municipalities:
        listed = ", ".join("'" + str(m).replace("'", "''") + "'" for m in area_municipalities)
        in_area = f"municipality IN ({listed})"
    else:
        in_area = "TRUE"
    return f"""
WITH current_spell AS (
    SELECT * FROM ({population})
    QUALIFY row_number() OVER (
        PARTITION BY prediction_date, person_key ORDER BY _valid_time DESC, _delivered_at DESC
    ) = 1
),
dead AS (SELECT DISTINCT prediction_date, person_key FROM ({deaths})),
in_nursing_home AS (SELECT DISTINCT prediction_date, person_key FROM ({nursing}))
SELECT
    s.person_key,
    s.prediction_date,
    CAST(s.municipality AS VARCHAR) AS municipality,
    CAST(s.district AS VARCHAR) AS district,
    CAST(
        year(s.prediction_date) - year(s.birth_date)
        - CASE WHEN strftime(s.prediction_date, '%m%d') < strftime(s.birth_date, '%m%d') THEN 1 ELSE 0 END
        AS DOUBLE
    ) AS age_years,
    CAST(CASE WHEN s.sex = 'F' THEN 1.0 WHEN s.sex = 'M' THEN 0.0 END AS DOUBLE) AS sex_female,
    CAST(CASE WHEN s.household_size IS NULL THEN NULL WHEN s.household_size <= 1 THEN 1.0 ELSE 0.0 END
        AS DOUBLE) AS living_alone,
    coalesce(
        s.status = '01' AND (s.spell_end IS NULL OR s.spell_end >= s.prediction_date) AND {in_area}, FALSE
    ) AS resident_in_area,
    d.person_key IS NULL AS alive,
    n.person_key IS NULL AS not_in_nursing_home
FROM current_spell AS s
LEFT JOIN dead AS d USING (prediction_date, person_key)
LEFT JOIN in_nursing_home AS n USING (prediction_date, person_key)
"""


def build_cohort(
    connection: duckdb.DuckDBPyConnection,
    prediction_dates: Sequence[object],
    mode: Mode = "as_known",
    area_municipalities: Sequence[str] | None = None,
) -> Cohort:
    """Eligible citizens at each prediction date, with the attrition table (rules applied in order).

    Reads the ``population``, ``deaths`` and ``nursing_home_stays`` tables of ``connection``.
    """
    check_mode(mode)
    dates = normalise_prediction_dates(prediction_dates)
    available = existing_relations(connection)
    if "population" not in available:
        raise ValueError("The warehouse has no population table; ingest cpr_population deliveries first.")
    with register_prediction_dates(connection, dates) as relation:
        candidates = connection.sql(_candidates_sql(relation, mode, area_municipalities, available)).df()
    candidates["aged_65_or_over"] = candidates["age_years"] >= MINIMUM_AGE_YEARS
    keep = pd.Series(True, index=candidates.index)
    attrition_rows = []
    for date in dates:
        attrition_rows.append(
            {
                "prediction_date": date,
                "rule": "registered",
                "removed": 0,
                "remaining": int((candidates["prediction_date"] == date).sum()),
            }
        )
    for rule in ELIGIBILITY_RULES[1:]:
        passes = candidates[rule].fillna(False).astype(bool)
        before = keep.groupby(candidates["prediction_date"]).sum()
        keep &= passes
        after = keep.groupby(candidates["prediction_date"]).sum()
        for date in dates:
            remaining = int(after.get(date, 0))
            attrition_rows.append(
                {
                    "prediction_date": date,
                    "rule": rule,
                    "removed": int(before.get(date, 0)) - remaining,
                    "remaining": remaining,
                }
            )
    columns = [*COHORT_KEY_COLUMNS, *COHORT_DESCRIPTIVE_COLUMNS, *COHORT_FEATURE_COLUMNS]
    members = (
        candidates.loc[keep, columns]
        .sort_values(list(COHORT_KEY_COLUMNS), kind="stable")
        .reset_index(drop=True)
    )
    attrition = pd.DataFrame(attrition_rows, columns=["prediction_date", "rule", "removed", "remaining"])
    attrition = attrition.sort_values("prediction_date", kind="stable").reset_index(drop=True)
    return Cohort(members=members, attrition=attrition)
