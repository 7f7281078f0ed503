"""The feature engine: one DuckDB query per chunk of prediction dates, every feature as a filtered aggregate.

For a chunk of dates the engine (1) takes the rows of each warehouse table known at each date
(``features.known_rows``), (2) shapes them into sources (``features.sources``), (3) computes every window of
every feature of a source in one GROUP BY with ``FILTER`` clauses, (4) left-joins the results onto the
cohort and applies fallbacks, then (5) adds derived columns in pandas. Memory is bounded by the chunk size
(dates per query); rows are never copied out of DuckDB before aggregation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from features.charlson import CHARLSON_CODES, CHARLSON_HIERARCHY, CHARLSON_WEIGHTS
from features.cohort import (
    COHORT_DESCRIPTIVE_COLUMNS,
    COHORT_FEATURE_COLUMNS,
    COHORT_KEY_COLUMNS,
    build_cohort,
)
from features.hfrs import HFRS_WEIGHTS
from features.icd10 import sql_icd10_condition
from features.known_rows import Mode, check_mode, existing_relations, known_rows_sql
from features.prediction_dates import normalise_prediction_dates, register_frame, register_prediction_dates
from features.sources import SOURCES, Source
from features.spec import (
    DerivedFeatureSpec,
    FeatureSetSpec,
    FeatureSpec,
    RowFilter,
    ScoreFeatureSpec,
    Window,
)

logger = logging.getLogger(__name__)

DEFAULT_DATES_PER_CHUNK = 12
SLOPE_PER_DAYS = 30


def _literal(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def sql_row_filter(row_filter: RowFilter, source: Source) -> str:
    """SQL boolean for a RowFilter on a source's columns (kinds AND-ed, values within a kind OR-ed)."""
    terms = []
    if row_filter.has_icd10:
        terms.append(
            sql_icd10_condition(
                str(source.icd10_column),
                row_filter.icd10_chapters,
                row_filter.icd10_blocks,
                row_filter.icd10_categories,
            )
        )
    if row_filter.atc_prefixes:
        atc = source.atc_column
        terms.append(
            "(" + " OR ".join(f"starts_with({atc}, {_literal(p)})" for p in row_filter.atc_prefixes) + ")"
        )
    if row_filter.fsiii_domains:
        listed = ", ".join(_literal(d) for d in row_filter.fsiii_domains)
        terms.append(f"({source.fsiii_domain_column} IN ({listed}))")
    if row_filter.fsiii_areas:
        listed = ", ".join(_literal(a) for a in row_filter.fsiii_areas)
        terms.append(f"({source.fsiii_area_column} IN ({listed}))")
    if row_filter.priority is not None:
        terms.append(f"({source.priority_column} = {_literal(row_filter.priority)})")
    terms.extend(f"({column} = {_literal(value)})" for column, value in row_filter.column_equals)
    return " AND ".join(terms) if terms else "TRUE"


def sql_in_window(window: Window) -> str:
    """SQL boolean: ``event_time`` lies in ``[t - end_days, t - start_days)``."""
    upper = (
        "event_time < prediction_date"
        if window.start_days == 0
        else f"event_time < prediction_date - to_days({window.start_days})"
    )
    return f"event_time >= prediction_date - to_days({window.end_days}) AND {upper}"


def _nullif_nan(expression: str) -> str:
    return f"(CASE WHEN isnan({expression}) THEN NULL ELSE {expression} END)"


def sql_aggregate(feature: FeatureSpec, window: Window) -> str:
    """SQL aggregate (no fallback) for one feature over one window; NULL when no row qualifies."""
    source = SOURCES[feature.source]
    condition = f"{sql_row_filter(feature.row_filter, source)} AND {sql_in_window(window)}"
    value = feature.value
    with_value = f"{condition} AND {value} IS NOT NULL"
    slope = (
        f"regr_slope({value}, date_diff('second', prediction_date, event_time) / 86400.0) "
        f"FILTER (WHERE {with_value})"
    )
    expressions = {
        "count": f"count(*) FILTER (WHERE {condition})",
        "sum": f"sum({value}) FILTER (WHERE {with_value})",
        "mean": f"avg({value}) FILTER (WHERE {with_value})",
        "min": f"min({value}) FILTER (WHERE {with_value})",
        "max": f"max({value}) FILTER (WHERE {with_value})",
        "latest": f"arg_max({value}, (event_time, {value})) FILTER (WHERE {with_value})",
        "slope": f"{SLOPE_PER_DAYS} * {_nullif_nan(slope)}",
        "days_since_last": (
            f"date_diff('second', max(event_time) FILTER (WHERE {condition}), prediction_date) / 86400.0"
        ),
        "distinct_count": f"count(DISTINCT {value}) FILTER (WHERE {with_value})",
    }
    return f"CAST({expressions[feature.aggregation]} AS DOUBLE)"


def _hfrs_sql(score: ScoreFeatureSpec, diagnoses: str, weights: str) -> str:
    column = score.column_names()[0]
    return f"""
SELECT prediction_date, person_key, CAST(round(sum(w.weight), 1) AS DOUBLE) AS {column}
FROM (
    SELECT DISTINCT prediction_date, person_key, substr(icd10_code, 1, 3) AS category
    FROM {diagnoses} WHERE {sql_in_window(score.window)}
) AS found JOIN {weights} AS w USING (category)
GROUP BY prediction_date, person_key"""


def _charlson_sql(score: ScoreFeatureSpec, diagnoses: str, prefixes: str) -> str:
    column = score.column_names()[0]
    matches = " UNION ".join(
        f"""SELECT d.prediction_date, d.person_key, p.condition FROM {diagnoses} AS d
    JOIN {prefixes} AS p ON p.prefix_length = {length} AND substr(d.icd10_code, 1, {length}) = p.prefix
    WHERE {sql_in_window(score.window)}"""
        for length in (3, 4)
    )

    def has(condition: str) -> str:
        return f"bool_or(condition = '{condition}')"

    terms = []
    for condition, weight in CHARLSON_WEIGHTS.items():
        if weight == 0:
            continue
        present = has(condition)
        replacer = CHARLSON_HIERARCHY.get(condition)
        if replacer is not None:
            present = f"({present} AND NOT {has(replacer)})"
        terms.append(f"{weight} * CAST({present} AS INTEGER)")
    return f"""
SELECT prediction_date, person_key, CAST({" + ".join(terms)} AS DOUBLE) AS {column}
FROM ({matches}) AS found
GROUP BY prediction_date, person_key"""


def _lookbacks(spec: FeatureSetSpec) -> dict[str, int]:
    """Longest window per source (scores read the ``diagnoses`` source)."""
    lookback: dict[str, int] = {}
    for feature in spec.features:
        if isinstance(feature, FeatureSpec):
            longest = max(window.end_days for window in feature.windows)
            lookback[feature.source] = max(lookback.get(feature.source, 0), longest)
        elif isinstance(feature, ScoreFeatureSpec):
            lookback["diagnoses"] = max(lookback.get("diagnoses", 0), feature.window.end_days)
    return lookback


class _ChunkQuery:
    """Builds the SQL for one chunk of prediction dates."""

    def __init__(self, spec: FeatureSetSpec, mode: Mode, available: set[str], dates: str) -> None:
        self.spec = spec
        self.mode = mode
        self.available = available
        self.dates = dates
        self.lookbacks = _lookbacks(spec)

    def known_ctes(self) -> dict[str, str]:
        per_table: dict[str, int] = {}
        for source_name, days in self.lookbacks.items():
            for table in SOURCES[source_name].tables:
                per_table[table] = max(per_table.get(table, 0), days)
        return {
            f"known_{table}": known_rows_sql(table, self.dates, self.mode, days)
            for table, days in per_table.items()
            if table in self.available
        }

    def source_available(self, source: Source) -> bool:
        return any(table in self.available for table in source.tables)

    def build(self, cohort_relation: str, hfrs_weights: str, charlson_prefixes: str) -> str:
        ctes = self.known_ctes()
        known = {table: f"known_{table}" for table in (name.removeprefix("known_") for name in ctes)}
        aggregates: list[tuple[str, str]] = []  # (cte name, SQL)
        by_source: dict[str, list[FeatureSpec]] = {}
        for feature in self.spec.features:
            if isinstance(feature, FeatureSpec):
                by_source.setdefault(feature.source, []).append(feature)
        for source_name, features in by_source.items():
            source = SOURCES[source_name]
            if not self.source_available(source):
                continue
            columns = ",\n    ".join(
                f"{sql_aggregate(feature, window)} AS {column}"
                for feature in features
                for window, column in zip(feature.windows, feature.column_names(), strict=True)
            )
            aggregates.append(
                (
                    f"agg_{source_name}",
                    f"SELECT prediction_date, person_key,\n    {columns}\n"
                    f"FROM {source.relation_sql(known)}\nGROUP BY prediction_date, person_key",
                )
            )
        if self.source_available(SOURCES["diagnoses"]):
            diagnoses = SOURCES["diagnoses"].relation_sql(known)
            for index, feature in enumerate(self.spec.features):
                if isinstance(feature, ScoreFeatureSpec):
                    sql = (
                        _hfrs_sql(feature, diagnoses, hfrs_weights)
                        if feature.score == "hfrs"
                        else _charlson_sql(feature, diagnoses, charlson_prefixes)
                    )
                    aggregates.append((f"score_{index}", sql))
        with_clause = ",\n".join(f"{name} AS ({sql})" for name, sql in [*ctes.items(), *aggregates])
        produced = dict(aggregates)
        select = [f"c.{column}" for column in (*COHORT_KEY_COLUMNS, *COHORT_DESCRIPTIVE_COLUMNS)]
        select += [f"c.{column}" for column in COHORT_FEATURE_COLUMNS]
        joins = [f"LEFT JOIN {name} USING (prediction_date, person_key)" for name in produced]
        for index, feature in enumerate(self.spec.features):
            if isinstance(feature, FeatureSpec):
                fallback = feature.default_fallback
                cte = f"agg_{feature.source}"
                for column in feature.column_names():
                    reference = f"{cte}.{column}" if cte in produced else "CAST(NULL AS DOUBLE)"
                    select.append(
                        f"coalesce({reference}, {fallback!r}) AS {column}"
                        if fallback is not None
                        else f"{reference} AS {column}"
                    )
            elif isinstance(feature, ScoreFeatureSpec):
                cte = f"score_{index}"
                column = feature.column_names()[0]
                reference = f"{cte}.{column}" if cte in produced else "NULL"
                select.append(f"CAST(coalesce({reference}, 0.0) AS DOUBLE) AS {column}")
        return (
            (f"WITH {with_clause}\n" if with_clause else "")
            + f"SELECT {', '.join(select)}\nFROM {cohort_relation} AS c\n"
            + "\n".join(joins)
        )


def apply_derived_features(frame: pd.DataFrame, spec: FeatureSetSpec) -> pd.DataFrame:
    """A new frame with every DerivedFeatureSpec column added (the input frame is not changed)."""
    result = frame.copy()
    new_columns: dict[str, pd.Series] = {}
    for feature in spec.features:
        if not isinstance(feature, DerivedFeatureSpec):
            continue

        def column(name: str) -> pd.Series:
            return new_columns[name] if name in new_columns else result[name]

        first = column(feature.inputs[0]).astype("float64")
        if feature.operation == "difference":
            values = first - column(feature.inputs[1]).astype("float64")
        elif feature.operation == "percent_change":
            base = column(feature.inputs[1]).astype("float64").replace(0.0, np.nan)
            values = 100.0 * (first - base) / base
        else:
            values = (first >= float(feature.threshold)).astype("float64").where(first.notna())
        new_columns[feature.name] = values
    if new_columns:
        result = pd.concat([result, pd.DataFrame(new_columns, index=result.index)], axis=1)
    ordered = [
        *COHORT_KEY_COLUMNS,
        *COHORT_DESCRIPTIVE_COLUMNS,
        *COHORT_FEATURE_COLUMNS,
        *spec.column_names(),
    ]
    return result[ordered]


def _score_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    hfrs = pd.DataFrame({"category": list(HFRS_WEIGHTS), "weight": list(HFRS_WEIGHTS.values())})
    charlson = pd.DataFrame(
        [
            {"prefix": prefix, "prefix_length": len(prefix), "condition": condition}
            for condition, prefixes in CHARLSON_CODES.items()
            for prefix in prefixes
        ]
    )
    return hfrs, charlson


def build_feature_table(
    connection: duckdb.DuckDBPyConnection,
    spec: FeatureSetSpec,
    prediction_dates: Sequence[object],
    mode: Mode = "as_known",
    *,
    cohort: pd.DataFrame | None = None,
    area_municipalities: Sequence[str] | None = None,
    dates_per_chunk: int = DEFAULT_DATES_PER_CHUNK,
) -> pd.DataFrame:
    """Features for every cohort member at every prediction date, as known at that date (or as occurred).

    ``connection`` must expose the warehouse tables of docs/interfaces.md section 2 (a missing table only
    leaves its features at their fallbacks, with a warning). ``cohort`` defaults to ``build_cohort(...)``
    with the same mode; when given it needs person_key, prediction_date, municipality, district,
    age_years, sex_female, living_alone. Returns one row per cohort row, keyed by (person_key,
    prediction_date), columns: keys, municipality, district, then ``spec.column_names()`` order after the
    cohort feature columns. Features are float64 (missing = NaN).
    """
    check_mode(mode)
    if dates_per_chunk < 1:
        raise ValueError("dates_per_chunk must be at least 1.")
    dates = normalise_prediction_dates(prediction_dates)
    if cohort is None:
        cohort = build_cohort(connection, dates, mode, area_municipalities).members
    available = existing_relations(connection)
    missing = sorted({table for feature in spec.features for table in _tables_of(feature)} - available)
    if missing:
        logger.warning(
            "Warehouse tables missing, their features take their fallbacks: %s", ", ".join(missing)
        )
    hfrs, charlson = _score_tables()
    cohort_dates = pd.to_datetime(cohort["prediction_date"]).astype("datetime64[us]")
    chunks = []
    with (
        register_frame(connection, hfrs, "hfrs") as hfrs_name,
        register_frame(connection, charlson, "charlson") as charlson_name,
    ):
        for start in range(0, len(dates), dates_per_chunk):
            chunk_dates = dates[start : start + dates_per_chunk]
            members = cohort.loc[cohort_dates.isin(chunk_dates)].copy()
            members["prediction_date"] = pd.to_datetime(members["prediction_date"]).astype("datetime64[us]")
            with (
                register_prediction_dates(connection, chunk_dates) as dates_relation,
                register_frame(connection, members, "cohort") as cohort_name,
            ):
                query = _ChunkQuery(spec, mode, available, dates_relation).build(
                    "(SELECT * REPLACE (CAST(prediction_date AS TIMESTAMP) AS prediction_date) "
                    f"FROM {cohort_name})",
                    hfrs_name,
                    charlson_name,
                )
                chunks.append(connection.sql(query).df())
    table = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    table = apply_derived_features(table, spec)
    return table.sort_values(list(COHORT_KEY_COLUMNS), kind="stable").reset_index(drop=True)


def _tables_of(feature: object) -> tuple[str, ...]:
    if isinstance(feature, FeatureSpec):
        return SOURCES[feature.source].tables
    if isinstance(feature, ScoreFeatureSpec):
        return SOURCES["diagnoses"].tables
    return ()
