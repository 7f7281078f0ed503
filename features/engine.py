"""The feature engine: every feature of a source as a filtered aggregate over the rows known at each date.

Two phases keep it fast and memory-bounded:

1. once per call, per source: its row versions (``features.sources``), trimmed to the valid-time range the
   prediction dates can reach, with ``_superseded_at`` (when the next version of the record arrived) and one
   boolean column per row filter, land in a DuckDB temporary table;
2. per chunk of prediction dates: those rows are joined to the cohort rows of the chunk on ``person_key``,
   keeping versions known at each date (``_delivered_at <= t < _superseded_at``, or the final version in
   ``as_occurred`` mode) with valid time in the longest lookback; every window of every feature is then one
   ``FILTER`` aggregate in a single GROUP BY per source (distinct counts in two steps); results are
   left-joined onto the cohort with their fallbacks. Derived columns are added in pandas at the end.

Only aggregates leave DuckDB; the chunk size (dates per query) bounds memory.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from features.aggregates import (
    FlagColumns,
    charlson_sql,
    distinct_counts_sql,
    hfrs_sql,
    source_of,
    sql_aggregate,
)
from features.charlson import CHARLSON_CODES
from features.cohort import (
    COHORT_DESCRIPTIVE_COLUMNS,
    COHORT_FEATURE_COLUMNS,
    COHORT_KEY_COLUMNS,
    build_cohort,
)
from features.hfrs import HFRS_WEIGHTS
from features.known_rows import Mode, check_mode, existing_relations, known_condition_sql, versions_sql
from features.prediction_dates import normalise_prediction_dates, register_frame
from features.sources import Source
from features.spec import DerivedFeatureSpec, FeatureSetSpec, FeatureSpec, ScoreFeatureSpec, Window

logger = logging.getLogger(__name__)

DEFAULT_DATES_PER_CHUNK = 12
Engine = Literal["numba", "duckdb"]
ENGINES: tuple[str, ...] = get_args(Engine)


@dataclass
class _SourcePlan:
    """What one source must deliver: its features, scores, longest lookback and flag columns."""

    source: Source
    features: list[FeatureSpec] = field(default_factory=list)
    scores: list[tuple[int, ScoreFeatureSpec]] = field(default_factory=list)
    lookback_days: int = 0
    flags: FlagColumns | None = None


def plan_sources(spec: FeatureSetSpec) -> dict[str, _SourcePlan]:
    plans: dict[str, _SourcePlan] = {}
    for index, feature in enumerate(spec.features):
        if isinstance(feature, DerivedFeatureSpec):
            continue
        source = source_of(feature)
        plan = plans.setdefault(source.name, _SourcePlan(source))
        if isinstance(feature, FeatureSpec):
            plan.features.append(feature)
            days = max(window.end_days for window in feature.windows)
        else:
            plan.scores.append((index, feature))
            days = feature.window.end_days
        plan.lookback_days = max(plan.lookback_days, days)
    for plan in plans.values():
        plan.flags = FlagColumns(plan.source, [feature.row_filter for feature in plan.features])
    return plans


@contextmanager
def _source_rows(
    connection: duckdb.DuckDBPyConnection,
    plans: dict[str, _SourcePlan],
    *,
    available: set[str],
    mode: Mode,
    first_date: pd.Timestamp,
    last_date: pd.Timestamp,
) -> Iterator[dict[str, str]]:
    """Phase 1: a temporary table of row versions per source (source name -> table), dropped on exit."""
    tables: dict[str, str] = {}
    try:
        for name, plan in plans.items():
            versions = {
                table: f"({versions_sql(table)})" for table in plan.source.tables if table in available
            }
            relation = plan.source.relation_sql(versions)
            if relation is None:
                continue
            known = "AND _delivered_at <= $last" if mode == "as_known" else "AND _superseded_at IS NULL"
            temporary = f"_tidlig_rows_{name}_{uuid.uuid4().hex[:12]}"
            assert plan.flags is not None
            connection.execute(
                f"""CREATE TEMP TABLE {temporary} AS
                SELECT *, epoch_us(event_time) AS event_us{plan.flags.select_sql()}
                FROM {relation}
                WHERE event_time >= $first AND event_time < $last {known}""",
                {
                    "first": (first_date - pd.Timedelta(days=plan.lookback_days)).to_pydatetime(),
                    "last": last_date.to_pydatetime(),
                },
            )
            tables[name] = temporary
        yield tables
    finally:
        for temporary in tables.values():
            connection.execute(f"DROP TABLE IF EXISTS {temporary}")


def _known_rows_sql(plan: _SourcePlan, rows_table: str, cohort: str, mode: Mode) -> str:
    """Phase 2: the source rows known at each cohort row's date, with ``row_id``, ``before_us`` and the
    source's t-columns."""
    known = known_condition_sql(mode, version="s", at="c.prediction_date") if mode == "as_known" else "TRUE"
    t_columns = "".join(f", {sql} AS {name}" for name, sql in plan.source.t_columns)
    where = f"WHERE {plan.source.t_where}" if plan.source.t_where else ""
    return f"""
SELECT *{t_columns} FROM (
    SELECT c.row_id, c.prediction_date, s.* EXCLUDE (person_key, _delivered_at, _superseded_at, event_us),
           epoch_us(c.prediction_date) - s.event_us AS before_us
    FROM {rows_table} AS s
    JOIN {cohort} AS c
      ON c.person_key = s.person_key AND {known}
     AND s.event_time < c.prediction_date
     AND s.event_time >= c.prediction_date - to_days({plan.lookback_days})
) {where}"""


class _FeatureMatrix:
    """The whole feature table as one float64 matrix (rows = sorted cohort rows, columns = every feature
    column including derived ones), filled in place: no per-chunk frames, no concatenation copies."""

    def __init__(self, spec: FeatureSetSpec, rows: int) -> None:
        self.spec = spec
        self.columns = list(spec.column_names())
        self.position = {column: index for index, column in enumerate(self.columns)}
        self.values = np.full((rows, len(self.columns)), np.nan)

    def assign(self, column: str, row_ids: np.ndarray, values: np.ndarray) -> None:
        self.values[row_ids, self.position[column]] = values

    def assign_by_filter(self, frame: pd.DataFrame, targets: list[tuple[int, str, str]]) -> None:
        """``frame`` has row_id, _flag and result columns; each target is (filter number, result, column)."""
        # pandas-stubs type groupby keys as any Scalar; ``_flag`` is an integer column
        groups = {int(cast(int, flag)): part for flag, part in frame.groupby("_flag", sort=False)}
        for flag, result, column in targets:
            part = groups.get(flag)
            if part is not None:
                values = part[result].to_numpy(dtype="float64", na_value=np.nan)
                self.assign(column, part["row_id"].to_numpy(), values)

    def finish(self) -> None:
        """Replace missing values by each feature's fallback, then compute derived columns in place."""
        for feature in self.spec.features:
            if isinstance(feature, DerivedFeatureSpec):
                self._derive(feature)
                continue
            fallback = 0.0 if isinstance(feature, ScoreFeatureSpec) else feature.default_fallback
            if fallback is None:
                continue
            for column in feature.column_names():
                values = self.values[:, self.position[column]]
                values[np.isnan(values)] = fallback

    def _derive(self, feature: DerivedFeatureSpec) -> None:
        inputs = [self.values[:, self.position[name]] for name in feature.inputs if name in self.position]
        if len(inputs) != len(feature.inputs):
            return  # inputs among the cohort columns: computed by apply_derived_features on the frame
        self.values[:, self.position[feature.name]] = derived_values(feature, inputs)


def derived_values(feature: DerivedFeatureSpec, inputs: list[np.ndarray]) -> np.ndarray:
    """The values of a derived feature from its input columns (NaN propagates)."""
    first = np.asarray(inputs[0], dtype="float64")
    if feature.operation == "difference":
        difference: npt.NDArray[np.float64] = first - np.asarray(inputs[1], dtype="float64")
        return difference
    if feature.operation == "percent_change":
        base = np.asarray(inputs[1], dtype="float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            percent: npt.NDArray[np.float64] = np.where(base == 0.0, np.nan, 100.0 * (first - base) / base)
            return percent
    with np.errstate(invalid="ignore"):
        if feature.threshold is None:
            raise ValueError(f"Derived feature {feature.name!r} ({feature.operation}) has no threshold.")
        flagged: npt.NDArray[np.float64] = np.where(
            np.isnan(first), np.nan, (first >= float(feature.threshold)).astype("float64")
        )
        return flagged


def _compute_source(
    connection: duckdb.DuckDBPyConnection,
    plan: _SourcePlan,
    *,
    rows_table: str,
    cohort: str,
    mode: Mode,
    result: _FeatureMatrix,
    score_tables: tuple[str, str],
) -> None:
    """Phase 2 for one source and chunk: known rows to a temporary table, then one GROUP BY (row, filter)
    for every (aggregation, value, window), one per distinct-counted value, one per score."""
    flags = plan.flags  # a local, so the closure below sees it narrowed
    assert flags is not None
    known = f"_tidlig_known_{plan.source.name}_{uuid.uuid4().hex[:12]}"
    connection.execute(f"CREATE TEMP TABLE {known} AS {_known_rows_sql(plan, rows_table, cohort, mode)}")
    try:

        def exploded(features: list[FeatureSpec]) -> str:
            """The known rows, once per filter they pass among the filters of ``features``."""
            numbers = ", ".join(sorted({str(flags.number(f.row_filter)) for f in features}))
            return (
                f"(SELECT * FROM (SELECT * EXCLUDE (_flags), unnest(_flags) AS _flag FROM {known}) "
                f"WHERE _flag IN ({numbers}))"
            )

        levels: dict[tuple[str, str | None, Window, int | None], str] = {}
        targets: list[tuple[int, str, str]] = []
        plain = [f for f in plan.features if f.aggregation != "distinct_count"]
        for feature in plain:
            for window, column in zip(feature.windows, feature.column_names(), strict=True):
                key = (feature.aggregation, feature.value, window, feature.half_life_days)
                name = levels.setdefault(key, f"level_{len(levels)}")
                targets.append((flags.number(feature.row_filter), name, column))
        if levels:
            aggregates = ", ".join(f"{sql_aggregate(*key)} AS {name}" for key, name in levels.items())
            frame = connection.execute(
                f"SELECT row_id, _flag, {aggregates} FROM {exploded(plain)} GROUP BY row_id, _flag"
            ).df()
            result.assign_by_filter(frame, targets)
        distinct = [f for f in plan.features if f.aggregation == "distinct_count"]
        for value in sorted({str(f.value) for f in distinct}):
            same = [f for f in distinct if f.value == value]
            windows = sorted({w for f in same for w in f.windows})
            frame = connection.execute(distinct_counts_sql(value, windows, exploded(same))).df()
            result.assign_by_filter(
                frame,
                [
                    (flags.number(f.row_filter), f"w{windows.index(w)}", column)
                    for f in same
                    for w, column in zip(f.windows, f.column_names(), strict=True)
                ],
            )
        weights, prefixes = score_tables
        for _, score in plan.scores:
            column = score.column_names()[0]
            sql = (
                hfrs_sql(score, known, weights)
                if score.score == "hfrs"
                else charlson_sql(score, known, prefixes)
            )
            frame = connection.execute(sql).df()
            result.assign(column, frame["row_id"].to_numpy(), frame[column].to_numpy(dtype="float64"))
    finally:
        connection.execute(f"DROP TABLE IF EXISTS {known}")


def apply_derived_features(frame: pd.DataFrame, spec: FeatureSetSpec) -> pd.DataFrame:
    """A new frame with every DerivedFeatureSpec column (re)computed from its inputs, columns in spec order
    after the cohort columns (the input frame is not changed)."""
    new_columns: dict[str, np.ndarray] = {}
    for feature in spec.features:
        if isinstance(feature, DerivedFeatureSpec):
            inputs = [
                new_columns[n] if n in new_columns else frame[n].to_numpy(dtype="float64")
                for n in feature.inputs
            ]
            new_columns[feature.name] = derived_values(feature, inputs)
    result = frame.drop(columns=[c for c in new_columns if c in frame.columns])
    if new_columns:
        result = pd.concat([result, pd.DataFrame(new_columns, index=frame.index)], axis=1)
    ordered = [
        *COHORT_KEY_COLUMNS,
        *COHORT_DESCRIPTIVE_COLUMNS,
        *COHORT_FEATURE_COLUMNS,
        *spec.column_names(),
    ]
    return result[ordered].copy()


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
    engine: Engine = "numba",
) -> pd.DataFrame:
    """Features for every cohort member at every prediction date, as known at that date (or as occurred).

    ``connection`` must expose the warehouse tables of docs/interfaces.md section 2 (a missing table only
    leaves its features at their fallbacks, with a warning). ``cohort`` defaults to ``build_cohort(...)``
    with the same mode; when given it needs person_key, prediction_date, municipality, district,
    age_years, sex_female, living_alone. Returns one row per cohort row at the given dates, keyed by
    (person_key, prediction_date) and sorted by it: keys, municipality, district, the cohort feature
    columns, then ``spec.column_names()``. Features are float64 (missing = NaN).

    ``engine`` chooses the implementation: ``"numba"`` (default, ``features.numba_engine``: compiled
    kernels over each person's events, no date x event pairs) or ``"duckdb"`` (the SQL reference below;
    ``dates_per_chunk`` bounds its memory). Both give the same values (tests/features/test_numba_engine.py).
    """
    if engine == "numba":
        from features.numba_engine import build_feature_table_numba

        return build_feature_table_numba(
            connection, spec, prediction_dates, mode, cohort=cohort, area_municipalities=area_municipalities
        )
    if engine != "duckdb":
        raise ValueError(f"Feature engine {engine!r} is not one of {', '.join(ENGINES)}.")
    check_mode(mode)
    if dates_per_chunk < 1:
        raise ValueError("dates_per_chunk must be at least 1.")
    dates = normalise_prediction_dates(prediction_dates)
    if cohort is None:
        cohort = build_cohort(connection, dates, mode, area_municipalities).members
    available = existing_relations(connection)
    plans = plan_sources(spec)
    missing = sorted({t for plan in plans.values() for t in plan.source.tables} - available)
    if missing:
        logger.warning(
            "Warehouse tables missing, their features take their fallbacks: %s", ", ".join(missing)
        )
    members = cohort[[*COHORT_KEY_COLUMNS, *COHORT_DESCRIPTIVE_COLUMNS, *COHORT_FEATURE_COLUMNS]].copy()
    members["prediction_date"] = pd.to_datetime(members["prediction_date"]).astype("datetime64[us]")
    members = members[members["prediction_date"].isin(dates)]
    members = members.sort_values(list(COHORT_KEY_COLUMNS), kind="stable").reset_index(drop=True)
    keys = pd.DataFrame(
        {
            "row_id": np.arange(len(members)),
            "person_key": members["person_key"].astype(str),
            "prediction_date": members["prediction_date"],
        }
    )
    matrix = _FeatureMatrix(spec, len(members))
    hfrs, charlson = _score_tables()
    with (
        register_frame(connection, hfrs, "hfrs") as hfrs_name,
        register_frame(connection, charlson, "charlson") as charlson_name,
        _source_rows(
            connection, plans, available=available, mode=mode, first_date=dates[0], last_date=dates[-1]
        ) as rows_tables,
    ):
        for start in range(0, len(dates), dates_per_chunk):
            chunk = keys[keys["prediction_date"].isin(dates[start : start + dates_per_chunk])]
            with register_frame(connection, chunk, "cohort") as cohort_name:
                relation = (
                    "(SELECT row_id, CAST(person_key AS VARCHAR) AS person_key, "
                    f"CAST(prediction_date AS TIMESTAMP) AS prediction_date FROM {cohort_name})"
                )
                for name, plan in plans.items():
                    if name in rows_tables:
                        _compute_source(
                            connection,
                            plan,
                            rows_table=rows_tables[name],
                            cohort=relation,
                            mode=mode,
                            result=matrix,
                            score_tables=(hfrs_name, charlson_name),
                        )
    matrix.finish()
    return feature_frame(matrix.values, matrix.columns, matrix.position, members, spec)


def feature_frame(
    values: np.ndarray,
    columns: Sequence[str],
    position: Mapping[str, int],
    members: pd.DataFrame,
    spec: FeatureSetSpec,
) -> pd.DataFrame:
    """The engines' common last step: the computed columns after the cohort's, then any derived feature
    whose inputs include cohort columns (the others were derived inside the matrix)."""
    table = pd.DataFrame(values, columns=list(columns), copy=False)
    for index, column in enumerate(members.columns):
        table.insert(index, column, members[column].to_numpy())
    derived_on_cohort = [
        f
        for f in spec.features
        if isinstance(f, DerivedFeatureSpec) and any(name not in position for name in f.inputs)
    ]
    return apply_derived_features(table, spec) if derived_on_cohort else table
