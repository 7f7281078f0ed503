"""SQL for row filters, windows, aggregations and clinical scores, as the engine assembles them.

Rows reach these expressions with ``before_us``: microseconds from the row's valid time to the prediction
date (always > 0). The window ``[t - end_days, t - start_days)`` is then ``start_us < before_us <= end_us``:
integer comparisons, cheap to repeat for hundreds of columns. Row filters are evaluated once per row
version into boolean flag columns (``FlagColumns``), so a FILTER clause is a column read plus the window.
"""

from __future__ import annotations

from features.charlson import CHARLSON_HIERARCHY, charlson_scheme
from features.icd10 import sql_icd10_condition
from features.sources import SOURCES, Source
from features.spec import FeatureSpec, RowFilter, ScoreFeatureSpec, Window

SLOPE_PER_DAYS = 30
MICROSECONDS_PER_DAY = 86_400_000_000


def sql_literal(value: str | int | bool) -> str:
    """An SQL literal for a filter value (strings quoted and escaped)."""
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
        prefixes = " OR ".join(f"starts_with({atc}, {sql_literal(p)})" for p in row_filter.atc_prefixes)
        terms.append(f"({prefixes})")
    if row_filter.fsiii_domains:
        listed = ", ".join(sql_literal(d) for d in row_filter.fsiii_domains)
        terms.append(f"({source.fsiii_domain_column} IN ({listed}))")
    if row_filter.fsiii_areas:
        listed = ", ".join(sql_literal(a) for a in row_filter.fsiii_areas)
        terms.append(f"({source.fsiii_area_column} IN ({listed}))")
    if row_filter.priority is not None:
        terms.append(f"({source.priority_column} = {sql_literal(row_filter.priority)})")
    terms.extend(f"({column} = {sql_literal(value)})" for column, value in row_filter.column_equals)
    return "coalesce(" + " AND ".join(terms) + ", FALSE)" if terms else "TRUE"


class FlagColumns:
    """The distinct row filters of a source's features, numbered from 0 (``RowFilter()`` passes every row).

    Phase 1 stores, per row version, ``_flags``: the list of filter numbers the row passes. Phase 2 unnests
    it, so each row is aggregated once per filter it passes instead of once per feature column.
    """

    def __init__(self, source: Source, row_filters: list[RowFilter]) -> None:
        self.source = source
        self.numbers: dict[RowFilter, int] = {}
        for row_filter in row_filters:
            self.numbers.setdefault(row_filter, len(self.numbers))

    def select_sql(self) -> str:
        """``, <list of passed filter numbers> AS _flags`` for the phase-1 SELECT."""
        parts = [
            f"[{number}]"
            if row_filter == RowFilter()
            else f"CASE WHEN {sql_row_filter(row_filter, self.source)} THEN [{number}] ELSE [] END"
            for row_filter, number in self.numbers.items()
        ]
        return f", CAST({' || '.join(parts) or '[]'} AS SMALLINT[]) AS _flags"

    def number(self, row_filter: RowFilter) -> int:
        return self.numbers[row_filter]


def sql_in_window(window: Window) -> str:
    """SQL boolean: the row (``before_us``) lies in ``[t - end_days, t - start_days)``."""
    upper = f"before_us <= {window.end_days * MICROSECONDS_PER_DAY}"
    if window.start_days == 0:
        return upper
    return f"before_us > {window.start_days * MICROSECONDS_PER_DAY} AND {upper}"


def _nullif_nan(expression: str) -> str:
    return f"(CASE WHEN isnan({expression}) THEN NULL ELSE {expression} END)"


def sql_aggregate(
    aggregation: str, value: str | None, window: Window, half_life_days: int | None = None
) -> str:
    """SQL aggregate (no fallback) over rows already restricted to one filter; NULL when no row is in the
    window. ``distinct_count`` is not here: see ``distinct_counts_sql``. ``half_life_days``: decayed_count
    only (each row weighs ``0.5 ** (days before t / half_life_days)``)."""
    condition = sql_in_window(window)
    with_value = f"{condition} AND {value} IS NOT NULL"
    days_after_t = f"(-before_us / {MICROSECONDS_PER_DAY}.0)"
    slope = f"regr_slope({value}, {days_after_t}) FILTER (WHERE {with_value})"
    expressions = {
        "count": f"count(*) FILTER (WHERE {condition})",
        "sum": f"sum({value}) FILTER (WHERE {with_value})",
        "mean": f"avg({value}) FILTER (WHERE {with_value})",
        "min": f"min({value}) FILTER (WHERE {with_value})",
        "max": f"max({value}) FILTER (WHERE {with_value})",
        "latest": f"arg_max({value}, (event_time, {value})) FILTER (WHERE {with_value})",
        "slope": f"{SLOPE_PER_DAYS} * {_nullif_nan(slope)}",
        "days_since_last": f"min(before_us) FILTER (WHERE {condition}) / {MICROSECONDS_PER_DAY}.0",
    }
    if aggregation == "decayed_count":
        half_life_us = f"{int(half_life_days or 0) * MICROSECONDS_PER_DAY}.0"
        expressions[aggregation] = f"sum(pow(0.5, before_us / {half_life_us})) FILTER (WHERE {condition})"
    return f"CAST({expressions[aggregation]} AS DOUBLE)"


def distinct_counts_sql(value: str, windows: list[Window], exploded: str) -> str:
    """Distinct counts of one value column per (row_id, filter) and window, in two cheap steps: one row
    per (row_id, filter, value) saying in which windows the value occurs, then a count per window."""
    occurs = ", ".join(f"bool_or({sql_in_window(w)}) AS w{i}" for i, w in enumerate(windows))
    counts = ", ".join(f"CAST(count(*) FILTER (WHERE w{i}) AS DOUBLE) AS w{i}" for i in range(len(windows)))
    return f"""
SELECT row_id, _flag, {counts}
FROM (
    SELECT row_id, _flag, {occurs}
    FROM {exploded} WHERE {value} IS NOT NULL
    GROUP BY row_id, _flag, {value}
)
GROUP BY row_id, _flag"""


def hfrs_sql(score: ScoreFeatureSpec, diagnoses: str, weights: str) -> str:
    """HFRS per (date, person): sum of the weights of the distinct categories found in the window."""
    column = score.column_names()[0]
    return f"""
SELECT row_id, CAST(round(sum(w.weight), 1) AS DOUBLE) AS {column}
FROM (
    SELECT DISTINCT row_id, substr(icd10_code, 1, 3) AS category
    FROM {diagnoses} WHERE {sql_in_window(score.window)}
) AS found JOIN {weights} AS w USING (category)
GROUP BY row_id"""


def charlson_prefix_rows(variant: str | None = None) -> list[tuple[str, int, str]]:
    """(prefix, prefix length, condition) of a Charlson variant's mapping, for a join table."""
    scheme = charlson_scheme(variant)
    return [
        (prefix, len(prefix), condition)
        for condition, prefixes in scheme.codes.items()
        for prefix in prefixes
    ]


def charlson_sql(score: ScoreFeatureSpec, diagnoses: str, prefixes: str | None = None) -> str:
    """Charlson index per (date, person) under the score's variant, with merges and the hierarchy.

    ``prefixes`` names a table (prefix, prefix_length, condition) of the *default* mapping (what
    ``features.engine`` registers); a non-default variant, or None, uses the variant's prefixes inline.
    """
    scheme = charlson_scheme(score.variant)
    column = score.column_names()[0]
    if prefixes is None or scheme.mapping != charlson_scheme().mapping:
        values = ", ".join(
            f"({sql_literal(p)}, {n}, {sql_literal(c)})" for p, n, c in charlson_prefix_rows(score.variant)
        )
        prefixes = f"(SELECT * FROM (VALUES {values}) AS v(prefix, prefix_length, condition))"
    lengths = sorted({length for _, length, _ in charlson_prefix_rows(score.variant)})
    matches = " UNION ".join(
        f"""SELECT d.row_id, p.condition FROM {diagnoses} AS d
    JOIN {prefixes} AS p ON p.prefix_length = {length} AND substr(d.icd10_code, 1, {length}) = p.prefix
    WHERE {sql_in_window(score.window)}"""
        for length in lengths
    )

    def has(conditions: list[str]) -> str:
        listed = ", ".join(sql_literal(c) for c in conditions)
        return f"bool_or(condition IN ({listed}))"

    # Conditions of the weight set, each with the mapping's conditions merged into it.
    members: dict[str, list[str]] = {}
    for condition in scheme.codes:
        members.setdefault(scheme.merges.get(condition, condition), []).append(condition)
    terms = []
    for condition, weight in scheme.weights.items():
        if weight == 0 or condition not in members:
            continue
        present = has(members[condition])
        replacer = CHARLSON_HIERARCHY.get(condition)
        if replacer is not None and replacer in members:
            present = f"({present} AND NOT {has(members[replacer])})"
        terms.append(f"{weight} * CAST({present} AS INTEGER)")
    return f"""
SELECT row_id, CAST({" + ".join(terms)} AS DOUBLE) AS {column}
FROM ({matches}) AS found
GROUP BY row_id"""


def source_of(feature: FeatureSpec | ScoreFeatureSpec) -> Source:
    """The source a feature reads (scores read diagnoses)."""
    return SOURCES["diagnoses"] if isinstance(feature, ScoreFeatureSpec) else SOURCES[feature.source]
