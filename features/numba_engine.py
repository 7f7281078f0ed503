"""The numba feature engine: the same feature table as ``features.engine`` (the DuckDB reference), without
ever forming (prediction date x event) pairs. The algorithm is explained in docs/features.md.

Per source: DuckDB reads the compact form (``features.compact``: integer persons, microsecond times, the
range of date indices at which each row version is known, filter bits, values, dictionary codes); a
compiled kernel groups the rows per person and sorts them by time once (``kernels.group_by_person``), then
computes every column of the source for every (person, date) in one pass per person
(``kernels.aggregate_source``), writing straight into the output matrix. Clinical scores and derived
columns are finished in NumPy; fallbacks are applied exactly as in the reference engine.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import duckdb
import numpy as np
import pandas as pd

from features.aggregates import SLOPE_PER_DAYS
from features.charlson import CHARLSON_HIERARCHY, CHARLSON_MAPPINGS, charlson_scheme
from features.cohort import (
    COHORT_DESCRIPTIVE_COLUMNS,
    COHORT_FEATURE_COLUMNS,
    COHORT_KEY_COLUMNS,
    build_cohort,
)
from features.compact import BITS_PER_WORD, CompactSource, dates_in_microseconds, read_source
from features.hfrs import HFRS_WEIGHTS
from features.known_rows import Mode, check_mode, existing_relations
from features.prediction_dates import normalise_prediction_dates, register_frame
from features.spec import DerivedFeatureSpec, FeatureSetSpec, FeatureSpec, RowFilter, ScoreFeatureSpec

logger = logging.getLogger(__name__)

MICROSECONDS_PER_DAY = 86_400_000_000
HFRS_DIVISOR = 10.0  # HFRS weights are summed in tenths: exact, then divided once


def numba_cache_folder() -> Path:
    """Where compiled kernels are cached: ``NUMBA_CACHE_DIR`` when set, else the first writable of the
    virtual environment (``<venv>/numba-cache``: CI caches the venv), ``~/.cache/tidlig/numba`` and a
    temporary folder (a read-only checkout still runs, it only compiles once per process)."""
    configured = os.environ.get("NUMBA_CACHE_DIR")
    if configured:
        return Path(configured)
    for candidate in (
        Path(sys.prefix) / "numba-cache",
        Path.home() / ".cache" / "tidlig" / "numba",
        Path(tempfile.gettempdir()) / "tidlig-numba-cache",
    ):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=candidate):
                return candidate
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix="tidlig-numba-"))


def load_kernels() -> ModuleType:
    """Import ``features.kernels`` (and numba) on first use, with the cache folder chosen first."""
    if "features.kernels" not in sys.modules and "numba" not in sys.modules:
        os.environ.setdefault("NUMBA_CACHE_DIR", str(numba_cache_folder()))
    from features import kernels

    return kernels


@dataclass
class _Slot:
    kind: int
    bit: int
    start_us: int
    end_us: int
    value: int = 0
    chain: int = 0
    factor: float = 1.0
    fallback: float = np.nan
    target: int = 0
    column: int = 0


@dataclass
class _SourceSlots:
    """What the kernel computes for one source, and what to read for it."""

    row_filters: list[RowFilter] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    slots: list[_Slot] = field(default_factory=list)
    chains: list[tuple[int, int]] = field(default_factory=list)
    hfrs_windows: list[tuple[int, int]] = field(default_factory=list)  # (slot index, output column)
    # (first scratch column, output column, variant) per Charlson score
    charlson: list[tuple[int, int, str | None]] = field(default_factory=list)
    # the code mappings the scores use, in order; their condition bits share one extra flag word
    charlson_mappings: list[str] = field(default_factory=list)

    def bit(self, row_filter: RowFilter) -> int:
        if row_filter == RowFilter():
            return -1
        if row_filter not in self.row_filters:
            self.row_filters.append(row_filter)
        return self.row_filters.index(row_filter)

    def numeric_row(self, column: str) -> int:
        if column not in self.numeric:
            self.numeric.append(column)
        return self.numeric.index(column)

    def code_row(self, column: str) -> int:
        if column not in self.categorical:
            self.categorical.append(column)
        return self.categorical.index(column)

    def chain(self, bit: int, code_row: int) -> int:
        if (bit, code_row) not in self.chains:
            self.chains.append((bit, code_row))
        return self.chains.index((bit, code_row))


def _feature_slots(
    kernels: ModuleType, plan: _SourceSlots, feature: FeatureSpec, columns: dict[str, int]
) -> None:
    kinds = {
        "count": kernels.COUNT,
        "sum": kernels.SUM_DIFF,
        "mean": kernels.MEAN_DIFF,
        "distinct_count": kernels.DISTINCT,
        "min": kernels.MIN,
        "max": kernels.MAX,
        "latest": kernels.LATEST,
        "slope": kernels.SLOPE,
        "days_since_last": kernels.DAYS_SINCE_LAST,
        "decayed_count": kernels.DECAYED_COUNT,
    }
    bit = plan.bit(feature.row_filter)
    for window, column in zip(feature.windows, feature.column_names(), strict=True):
        slot = _Slot(
            kinds[feature.aggregation],
            bit,
            window.start_days * MICROSECONDS_PER_DAY,
            window.end_days * MICROSECONDS_PER_DAY,
            column=columns[column],
        )
        if feature.aggregation == "distinct_count":
            slot.value = 0  # weight row 0: every code weighs 1
            slot.chain = plan.chain(bit, plan.code_row(str(feature.value)))
        elif feature.value is not None:
            slot.value = plan.numeric_row(feature.value)
        if feature.aggregation == "slope":
            slot.factor = float(SLOPE_PER_DAYS)
        if feature.half_life_days is not None:
            slot.factor = float(feature.half_life_days)
        if feature.default_fallback is not None:
            slot.fallback = float(feature.default_fallback)
        plan.slots.append(slot)


def _score_slots(kernels: ModuleType, plan: _SourceSlots, score: ScoreFeatureSpec, column: int) -> None:
    start, end = score.window.start_days * MICROSECONDS_PER_DAY, score.window.end_days * MICROSECONDS_PER_DAY
    if score.score == "hfrs":
        plan.code_row("icd10_code")
        plan.hfrs_windows.append((len(plan.slots), column))
        # chain and code row are fixed up once the HFRS category row exists (see _prepare_scores)
        plan.slots.append(
            _Slot(kernels.DISTINCT, -1, start, end, value=1, factor=HFRS_DIVISOR, fallback=0.0, column=column)
        )
        return
    plan.code_row("icd10_code")
    scheme = charlson_scheme(score.variant)
    if scheme.mapping not in plan.charlson_mappings:
        plan.charlson_mappings.append(scheme.mapping)
    base = _mapping_bit_base(plan, scheme.mapping)
    first = sum(len(charlson_scheme(variant).codes) for _, _, variant in plan.charlson)
    plan.charlson.append((first, column, score.variant))
    for offset in range(len(scheme.codes)):
        # condition bits live in an extra flag word after the row filters (see _charlson_flags)
        plan.slots.append(
            _Slot(kernels.COUNT, -(base + offset + 2), start, end, target=1, column=first + offset)
        )


def _mapping_bit_base(plan: _SourceSlots, mapping: str) -> int:
    """The first condition bit of ``mapping`` in the Charlson flag word (mappings follow each other)."""
    base = 0
    for earlier in plan.charlson_mappings:
        if earlier == mapping:
            return base
        base += len(CHARLSON_MAPPINGS[earlier])
    raise KeyError(mapping)


def _code_tables(compact: CompactSource, plan: _SourceSlots) -> tuple[np.ndarray, np.ndarray]:
    """(codes, weights): the code rows with the HFRS category row appended when a score needs it, and the
    weight rows: row 0 all ones (distinct counts), row 1 the HFRS weights in tenths per category."""
    codes = compact.codes
    hfrs = list(HFRS_WEIGHTS)
    space = max([len(d) for d in compact.dictionaries] + [len(hfrs), 1])
    weights = np.ones((2, space))
    weights[1, :] = 0.0
    weights[1, : len(hfrs)] = [round(HFRS_WEIGHTS[c] * HFRS_DIVISOR) for c in hfrs]
    if plan.hfrs_windows:
        dictionary = compact.dictionaries[plan.categorical.index("icd10_code")]
        position = {category: index for index, category in enumerate(hfrs)}
        category_of = np.array(
            [position.get(str(code)[:3], -1) for code in dictionary] + [-1], dtype=np.int64
        )
        icd10 = codes[plan.categorical.index("icd10_code")]
        codes = np.vstack([codes, category_of[icd10]])  # code -1 maps to the appended -1
    return np.ascontiguousarray(codes), weights


def _charlson_flags(compact: CompactSource, plan: _SourceSlots) -> np.ndarray:
    """Flag words with the Charlson condition bits appended (one word: 17 conditions)."""
    if not plan.charlson:
        return compact.flags
    dictionary = compact.dictionaries[plan.categorical.index("icd10_code")]
    masks = np.zeros(len(dictionary) + 1, dtype=np.uint64)
    for mapping in plan.charlson_mappings:
        base = _mapping_bit_base(plan, mapping)
        for index, code in enumerate(dictionary):
            text = str(code)
            for offset, prefixes in enumerate(CHARLSON_MAPPINGS[mapping].values()):
                if any(text.startswith(prefix) for prefix in prefixes):
                    masks[index] |= np.uint64(1 << (base + offset))
    icd10 = compact.codes[plan.categorical.index("icd10_code")]
    return np.ascontiguousarray(np.vstack([compact.flags, masks[icd10][np.newaxis, :]]))


def _finish_charlson(scratch: np.ndarray, first: int, values: np.ndarray, variant: str | None) -> None:
    """The Charlson index per row of ``variant`` from its condition counts in the scratch columns from
    ``first`` on: conditions merged as its weights say, the severity hierarchy, then the weights (the
    vectorised form of ``features.charlson.CharlsonScheme.weighted_conditions``)."""
    scheme = charlson_scheme(variant)
    present: dict[str, np.ndarray] = {}
    for offset, condition in enumerate(scheme.codes):
        found = np.nan_to_num(scratch[:, first + offset], nan=0.0) > 0
        merged = scheme.merges.get(condition, condition)
        present[merged] = present[merged] | found if merged in present else found
    total = np.zeros(scratch.shape[0])
    for condition, found in present.items():
        weight = scheme.weights.get(condition, 0)
        if weight <= 0:
            continue
        replacer = CHARLSON_HIERARCHY.get(condition)
        outranked = present[replacer] if replacer is not None and replacer in present else False
        total += weight * (found & ~outranked)
    values[:] = total


def _compute_source(
    kernels: ModuleType,
    compact: CompactSource,
    plan: _SourceSlots,
    *,
    dates_us: np.ndarray,
    lookback_days: int,
    row_of: np.ndarray,
    out: np.ndarray,
    persons: int,
    merge_dates: bool,
) -> None:
    codes, weights = _code_tables(compact, plan)
    flags = _charlson_flags(compact, plan)
    condition_word = len(compact.flags) if plan.charlson else 0
    hfrs_code_row = codes.shape[0] - 1
    hfrs_chain = plan.chain(-1, hfrs_code_row) if plan.hfrs_windows else -1
    for index, _ in plan.hfrs_windows:
        plan.slots[index].chain = hfrs_chain
    bits = [
        condition_word * BITS_PER_WORD + (-slot.bit - 2) if slot.bit <= -2 else slot.bit
        for slot in plan.slots
    ]
    order, offsets = kernels.group_by_person(compact.person, compact.time, persons)
    time = compact.time[order]
    known_from, known_until = compact.known_from[order], compact.known_until[order]
    flags = kernels.gather_rows(flags, order)
    values = kernels.gather_rows(compact.values, order)
    codes = kernels.gather_rows(codes, order)
    if merge_dates:
        keep = kernels.merge_date_rows(offsets, time, known_from, known_until, flags, values, codes)
        kept = np.concatenate([[0], np.cumsum(keep)])
        offsets = kept[offsets]
        time, known_from, known_until = time[keep], known_from[keep], known_until[keep]
        flags, values, codes = flags[:, keep], values[:, keep], codes[:, keep]
        logger.debug("Rows read once per date merged: %d of %d remain", int(keep.sum()), keep.size)
    edges = sorted({s.start_us for s in plan.slots} | {s.end_us for s in plan.slots})
    by_day, day_base = kernels.day_table(dates_us, lookback_days * MICROSECONDS_PER_DAY)
    charlson_columns = sum(len(charlson_scheme(variant).codes) for _, _, variant in plan.charlson)
    scratch = np.full((out.shape[0] if charlson_columns else 1, max(charlson_columns, 1)), np.nan)
    kernels.aggregate_source(
        offsets,
        time,
        known_from,
        known_until,
        np.ascontiguousarray(flags),
        np.ascontiguousarray(values),
        np.ascontiguousarray(codes),
        weights,
        dates_us,
        by_day,
        day_base,
        np.array(edges, dtype=np.int64),
        row_of,
        np.array([s.kind for s in plan.slots], dtype=np.int64),
        np.array(bits, dtype=np.int64),
        np.array([edges.index(s.start_us) for s in plan.slots], dtype=np.int64),
        np.array([edges.index(s.end_us) for s in plan.slots], dtype=np.int64),
        np.array([s.value for s in plan.slots], dtype=np.int64),
        np.array([s.chain for s in plan.slots], dtype=np.int64),
        np.array([s.factor for s in plan.slots], dtype=np.float64),
        np.array([s.fallback for s in plan.slots], dtype=np.float64),
        np.array([s.target for s in plan.slots], dtype=np.int64),
        np.array([s.column for s in plan.slots], dtype=np.int64),
        np.array([bit for bit, _ in plan.chains], dtype=np.int64),
        np.array([code for _, code in plan.chains], dtype=np.int64),
        out,
        scratch,
    )
    for first, column, variant in plan.charlson:
        _finish_charlson(scratch, first, out[:, column], variant)


class _ColumnMatrix:
    """The feature columns as one column-major float64 matrix (each column contiguous), every column filled
    with its fallback first (NaN when none) so that each page is touched once; the kernels overwrite the
    rows they compute. A pandas frame built from it takes it without a copy."""

    def __init__(self, spec: FeatureSetSpec, rows: int) -> None:
        self.spec = spec
        self.columns = list(spec.column_names())
        self.position = {column: index for index, column in enumerate(self.columns)}
        self.values = np.empty((rows, len(self.columns)), order="F")
        for feature in spec.features:
            fallback = np.nan
            if isinstance(feature, ScoreFeatureSpec):
                fallback = 0.0
            elif isinstance(feature, FeatureSpec) and feature.default_fallback is not None:
                fallback = feature.default_fallback
            for column in feature.column_names():
                self.values[:, self.position[column]] = fallback

    def derive(self) -> None:
        """Derived columns whose inputs are feature columns, in spec order."""
        from features.engine import derived_values

        for feature in self.spec.features:
            if isinstance(feature, DerivedFeatureSpec) and all(n in self.position for n in feature.inputs):
                inputs = [self.values[:, self.position[name]] for name in feature.inputs]
                self.values[:, self.position[feature.name]] = derived_values(feature, inputs)


@contextmanager
def _plain_pages() -> Iterator[None]:
    """NumPy asks the kernel for transparent huge pages on large arrays; where the kernel then compacts
    memory synchronously (``defrag = madvise``, as on these machines) a fresh 1 GB array takes several
    times longer to fill. The engine's own allocations use ordinary pages; the setting is restored."""
    try:
        # a private NumPy switch, absent from NumPy's stubs
        from numpy._core.multiarray import _set_madvise_hugepage  # type: ignore[attr-defined]
    except ImportError:  # a NumPy without the switch: nothing to change
        yield
        return
    previous = _set_madvise_hugepage(False)
    try:
        yield
    finally:
        _set_madvise_hugepage(previous)


def _member_frame(cohort: pd.DataFrame, dates: list[pd.Timestamp]) -> pd.DataFrame:
    members = cohort[[*COHORT_KEY_COLUMNS, *COHORT_DESCRIPTIVE_COLUMNS, *COHORT_FEATURE_COLUMNS]].copy()
    members["prediction_date"] = pd.to_datetime(members["prediction_date"]).astype("datetime64[us]")
    members = members[members["prediction_date"].isin(dates)]
    return members.sort_values(list(COHORT_KEY_COLUMNS), kind="stable").reset_index(drop=True)


def build_feature_table_numba(
    connection: duckdb.DuckDBPyConnection,
    spec: FeatureSetSpec,
    prediction_dates: Sequence[object],
    mode: Mode = "as_known",
    *,
    cohort: pd.DataFrame | None = None,
    area_municipalities: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``features.build_feature_table`` computed by the numba engine (same contract, same values)."""
    from features.engine import feature_frame, plan_sources

    check_mode(mode)
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
    members = _member_frame(cohort, dates)
    keys = members["person_key"].astype(str).to_numpy()
    new_person = np.ones(len(keys), dtype=bool)
    new_person[1:] = keys[1:] != keys[:-1]
    person_of_row = np.cumsum(new_person) - 1
    persons = int(new_person.sum())
    dates_us = dates_in_microseconds(dates)
    row_dates = members["prediction_date"].to_numpy().astype("datetime64[us]").astype(np.int64)
    row_of = np.full((persons, len(dates)), -1, dtype=np.int64)
    row_of[person_of_row, np.searchsorted(dates_us, row_dates)] = np.arange(len(members))
    kernels = load_kernels()
    with _plain_pages():
        matrix = _ColumnMatrix(spec, len(members))
    person_frame = pd.DataFrame({"person_key": keys[new_person], "_person": np.arange(persons)})
    date_frame = pd.DataFrame({"_date_index": np.arange(len(dates)), "prediction_date": dates})
    date_frame["prediction_date"] = date_frame["prediction_date"].astype("datetime64[us]")
    with (
        _plain_pages(),
        register_frame(connection, person_frame, "persons") as persons_name,
        register_frame(connection, date_frame, "dates") as dates_name,
    ):
        for plan in plans.values():
            slots = _SourceSlots()
            for feature in plan.features:
                _feature_slots(kernels, slots, feature, matrix.position)
            for _, score in plan.scores:
                _score_slots(kernels, slots, score, matrix.position[score.column_names()[0]])
            started = time.perf_counter()
            compact = read_source(
                connection,
                plan.source,
                available=available,
                persons=f"(SELECT CAST(person_key AS VARCHAR) AS person_key, _person FROM {persons_name})",
                dates=dates,
                mode=mode,
                lookback_days=plan.lookback_days,
                row_filters=slots.row_filters,
                numeric_columns=slots.numeric,
                categorical_columns=slots.categorical,
                dates_relation=(
                    f"(SELECT _date_index, CAST(prediction_date AS TIMESTAMP) AS prediction_date "
                    f"FROM {dates_name})"
                ),
            )
            read_seconds = time.perf_counter() - started
            if compact is None or compact.rows == 0 or persons == 0:
                continue
            _prefer_exact_sums(kernels, slots, compact)
            _compute_source(
                kernels,
                compact,
                slots,
                dates_us=dates_us,
                lookback_days=plan.lookback_days,
                row_of=row_of,
                out=matrix.values,
                persons=persons,
                merge_dates=bool(plan.source.t_columns),
            )
            logger.debug(
                "Source %s: %d rows read in %.2f s, %d columns computed in %.2f s",
                plan.source.name,
                compact.rows,
                read_seconds,
                len(slots.slots),
                time.perf_counter() - started - read_seconds,
            )
    matrix.derive()
    return feature_frame(matrix.values, matrix.columns, matrix.position, members, spec)


def _prefer_exact_sums(kernels: ModuleType, plan: _SourceSlots, compact: CompactSource) -> None:
    """Sums and means by difference arrays only over integral values (exact in float64); others are
    summed by scanning each window, in time order."""
    for slot in plan.slots:
        if slot.kind not in (kernels.SUM_DIFF, kernels.MEAN_DIFF):
            continue
        values = compact.values[slot.value]
        finite = values[~np.isnan(values)]
        integral = bool(np.all(finite == np.round(finite))) and (
            finite.size == 0 or float(np.abs(finite).max()) < 2.0**40
        )
        if not integral:
            slot.kind = kernels.SUM_SCAN if slot.kind == kernels.SUM_DIFF else kernels.MEAN_SCAN
