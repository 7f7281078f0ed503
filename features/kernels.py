"""Compiled kernels of the numba feature engine (``features.numba_engine``); see docs/features.md.

Inputs are the compact form of one source (``features.compact``): per row version its person index, valid
time in microseconds, the range ``[known_from, known_until)`` of prediction-date indices at which it is
known, row-filter bits, numeric values (NaN = missing) and dictionary codes (-1 = missing). Events are
grouped per person and sorted by time once (``group_by_person``); then ``aggregate_source`` computes every
feature column of the source for every (person, prediction date) in one pass over each person's events:

- counts, sums of integral values, distinct counts and scores add ``+x`` at the first and ``-x`` after the
  last date index at which an event is inside a window and known (a difference array over the dates), so
  no (date, event) pair is ever formed; a running sum over the dates gives the value at each date;
- an event is in the window ``[t - end, t - start)`` of the dates ``t_j`` with ``time + start < t_j <=
  time + end``: a contiguous range of date indices (two binary searches in the sorted dates), clipped to
  the known range of the row version;
- a code counts towards a distinct count at date j only through its latest occurrence that is inside the
  window and known at j: the later occurrences of the same code (a per-person chain) remove the dates at
  which they take over;
- min, max, latest, slope, days since last, recency-weighted (decayed) counts and sums of non-integral
  values scan the person's events inside each window (binary search for its edges), at the dates a
  cohort row needs.

Compiled kernels are cached on disk (``cache=True``); ``features.numba_engine`` chooses the cache folder
before it first imports this module.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# slot kinds: the first four use difference arrays over the dates, the others scan the window's events
(
    COUNT,
    SUM_DIFF,
    MEAN_DIFF,
    DISTINCT,
    SUM_SCAN,
    MEAN_SCAN,
    MIN,
    MAX,
    LATEST,
    SLOPE,
    DAYS_SINCE_LAST,
    DECAYED_COUNT,
) = range(12)
DIFF_KINDS = (COUNT, SUM_DIFF, MEAN_DIFF, DISTINCT)
MICROSECONDS_PER_DAY = 86_400_000_000
NO_CODE = -1


@njit(cache=True)
def _first_after(dates: np.ndarray, value: int) -> int:
    """Index of the first date strictly after ``value`` (``searchsorted(..., side='right')``)."""
    low, high = 0, dates.shape[0]
    while low < high:
        middle = (low + high) >> 1
        if dates[middle] <= value:
            low = middle + 1
        else:
            high = middle
    return low


@njit(cache=True)
def _first_at_or_after(times: np.ndarray, start: int, stop: int, value: int) -> int:
    """Index in ``[start, stop]`` of the first time ``>= value`` in the sorted ``times[start:stop]``."""
    low, high = start, stop
    while low < high:
        middle = (low + high) >> 1
        if times[middle] < value:
            low = middle + 1
        else:
            high = middle
    return low


@njit(cache=True)
def _first_after_by_day(dates: np.ndarray, by_day: np.ndarray, base: int, value: int) -> int:
    """Index of the first date strictly after ``value``, via the per-day table ``by_day[d]`` = number of
    dates at or before the start of day ``d`` (days counted from ``base``): one look-up, then a step past
    any date inside that day. Exact for any times of day."""
    day = (value - base) // MICROSECONDS_PER_DAY
    if day < 0:
        return _first_after(dates, value)
    if day >= by_day.shape[0]:
        return dates.shape[0] if value >= dates[dates.shape[0] - 1] else _first_after(dates, value)
    index: int = by_day[day]
    while index < dates.shape[0] and dates[index] <= value:
        index += 1
    return index


def day_table(dates: np.ndarray, lookback_us: int) -> tuple[np.ndarray, int]:
    """(by_day, base) for ``_first_after_by_day``: days from the first reachable day to the last date."""
    base = (int(dates[0]) - lookback_us) // MICROSECONDS_PER_DAY * MICROSECONDS_PER_DAY - MICROSECONDS_PER_DAY
    days = (int(dates[-1]) - base) // MICROSECONDS_PER_DAY + 2
    starts = base + np.arange(days, dtype=np.int64) * MICROSECONDS_PER_DAY
    return np.searchsorted(dates, starts, side="right").astype(np.int64), base


@njit(cache=True, parallel=True)
def group_by_person(person: np.ndarray, time: np.ndarray, persons: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, offsets): ``order`` lists row indices grouped by person and sorted by time within a
    person (stable), ``offsets[p]:offsets[p + 1]`` is person p's slice of it."""
    counts = np.zeros(persons + 1, dtype=np.int64)
    for index in range(person.shape[0]):
        counts[person[index] + 1] += 1
    offsets = np.cumsum(counts)
    cursor = offsets[:-1].copy()
    order = np.empty(person.shape[0], dtype=np.int64)
    for index in range(person.shape[0]):
        p = person[index]
        order[cursor[p]] = index
        cursor[p] += 1
    for p in prange(persons):
        start, stop = offsets[p], offsets[p + 1]
        if stop - start > 1:
            segment = order[start:stop].copy()
            within = np.argsort(time[segment], kind="mergesort")
            order[start:stop] = segment[within]
    return order, offsets


@njit(cache=True)
def _passes(flags: np.ndarray, event: int, bit: int) -> bool:
    if bit < 0:
        return True
    passed: bool = ((flags[bit >> 6, event] >> np.uint64(bit & 63)) & np.uint64(1)) == np.uint64(1)
    return passed


@njit(cache=True)
def _scan_value(  # noqa: PLR0911, PLR0912, PLR0917 (one branch per aggregation)
    kind: int,
    t: int,
    j: int,
    first: int,
    stop: int,
    time: np.ndarray,
    known_from: np.ndarray,
    known_until: np.ndarray,
    flags: np.ndarray,
    bit: int,
    values: np.ndarray,
    factor: float,
) -> float:
    """One scanned aggregate over events ``first..stop-1`` (one person's events inside the window of
    date ``t``, index ``j``) known at j and passing the filter; NaN when there is none. ``factor``:
    the half-life in days of a decayed count (each event weighs ``0.5 ** (days before t / factor)``)."""
    if kind == DECAYED_COUNT:
        found = False
        weighted = 0.0
        half_life_us = factor * MICROSECONDS_PER_DAY
        for event in range(first, stop):
            if known_from[event] <= j < known_until[event] and _passes(flags, event, bit):
                found = True
                weighted += 0.5 ** ((t - time[event]) / half_life_us)
        return weighted if found else np.nan
    if kind == DAYS_SINCE_LAST:
        for event in range(stop - 1, first - 1, -1):
            if known_from[event] <= j < known_until[event] and _passes(flags, event, bit):
                days: float = (t - time[event]) / MICROSECONDS_PER_DAY
                return days
        return np.nan
    n = 0
    total = 0.0
    best = np.nan
    best_time = np.int64(0)
    sum_x = 0.0
    for event in range(first, stop):
        value = values[event]
        if not (known_from[event] <= j < known_until[event]) or np.isnan(value):
            continue
        if not _passes(flags, event, bit):
            continue
        n += 1
        if kind in (SUM_SCAN, MEAN_SCAN, SLOPE):
            total += value
            sum_x += -(t - time[event]) / MICROSECONDS_PER_DAY
        elif kind == MIN:
            if n == 1 or value < best:
                best = value
        elif kind == MAX:
            if n == 1 or value > best:
                best = value
        elif n == 1 or time[event] > best_time or (time[event] == best_time and value > best):
            best = value  # LATEST: greatest valid time, ties: the largest value
            best_time = time[event]
    if n == 0:
        return np.nan
    if kind == SUM_SCAN:
        return total
    if kind == MEAN_SCAN:
        return total / n
    if kind != SLOPE:
        return best
    if n < 2:
        return np.nan
    mean_x = sum_x / n
    mean_y = total / n
    sxx = 0.0
    sxy = 0.0
    for event in range(first, stop):
        value = values[event]
        if known_from[event] <= j < known_until[event] and not np.isnan(value) and _passes(flags, event, bit):
            dx = -(t - time[event]) / MICROSECONDS_PER_DAY - mean_x
            sxx += dx * dx
            sxy += dx * (value - mean_y)
    if sxx == 0.0:
        return np.nan
    return sxy / sxx


@njit(cache=True, parallel=True)
def aggregate_source(  # noqa: PLR0912, PLR0915, PLR0917 (the whole per-person pass in one loop, on purpose)
    offsets: np.ndarray,
    time: np.ndarray,
    known_from: np.ndarray,
    known_until: np.ndarray,
    flags: np.ndarray,
    values: np.ndarray,
    codes: np.ndarray,
    code_weights: np.ndarray,
    dates: np.ndarray,
    by_day: np.ndarray,
    day_base: int,
    edges: np.ndarray,
    row_of: np.ndarray,
    slot_kind: np.ndarray,
    slot_bit: np.ndarray,
    slot_start: np.ndarray,
    slot_end: np.ndarray,
    slot_value: np.ndarray,
    slot_chain: np.ndarray,
    slot_factor: np.ndarray,
    slot_fallback: np.ndarray,
    slot_target: np.ndarray,
    slot_column: np.ndarray,
    chain_bit: np.ndarray,
    chain_code: np.ndarray,
    out: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """Write every slot (a feature column, or a scratch column of a score) of one source into ``out``
    (``slot_target`` 0) or ``scratch`` (1) at row ``row_of[person, date index]`` (-1: no cohort row).

    Rows are grouped per person and sorted by time (``offsets`` delimit persons). Per slot: kind, filter
    bit (-1: every row), window edges as indices into ``edges`` (microseconds before t: the window is
    ``[t - edges[end], t - edges[start])``), value row of ``values`` (numeric kinds) or of
    ``code_weights`` (distinct counts), chain (distinct counts: which (filter, code row) chain), factor
    (distinct counts: divisor of the summed weights; slope: multiplier; decayed count: half-life in days),
    fallback: written where no row
    contributes (or a slope is undefined), as the reference engine's missing values take the fallback.
    Rows of persons without any event are not written: the caller fills the columns with the fallbacks.
    """
    persons = offsets.shape[0] - 1
    dates_count = dates.shape[0]
    slots = slot_kind.shape[0]
    chains = chain_bit.shape[0]
    code_space = code_weights.shape[1]
    blocks = max(1, min(persons, 512))
    for block in prange(blocks):
        first_person = block * persons // blocks
        last_person = (block + 1) * persons // blocks
        most = 1
        for p in range(first_person, last_person):
            most = max(most, offsets[p + 1] - offsets[p])
        accumulated = np.zeros((slots, dates_count + 1))
        present = np.zeros((slots, dates_count + 1))
        entry = np.empty((edges.shape[0], most), dtype=np.int64)
        following = np.empty((max(chains, 1), most), dtype=np.int64)
        last_seen = np.full(max(code_space, 1), -1, dtype=np.int64)
        open_dates = np.zeros(dates_count + 1, dtype=np.bool_)
        for p in range(first_person, last_person):
            start, stop = offsets[p], offsets[p + 1]
            n = stop - start
            if n == 0:
                continue
            for u in range(edges.shape[0]):
                for i in range(n):
                    entry[u, i] = _first_after_by_day(dates, by_day, day_base, time[start + i] + edges[u])
            # per chain: the next later occurrence of the same code among rows passing the chain's filter
            for c in range(chains):
                code_row = chain_code[c]
                for i in range(n - 1, -1, -1):
                    event = start + i
                    code = codes[code_row, event]
                    if code < 0 or known_from[event] >= known_until[event]:
                        following[c, i] = -2  # not part of the chain
                    elif not _passes(flags, event, chain_bit[c]):
                        following[c, i] = -2
                    else:
                        following[c, i] = last_seen[code]
                        last_seen[code] = i
                for i in range(n):
                    code = codes[code_row, start + i]
                    if code >= 0:
                        last_seen[code] = -1
            accumulated[:, :] = 0.0
            present[:, :] = 0.0
            for s in range(slots):
                kind = slot_kind[s]
                if kind > DISTINCT:
                    continue
                bit = slot_bit[s]
                for i in range(n):
                    event = start + i
                    lo = known_from[event]
                    hi = known_until[event]
                    if lo >= hi:
                        continue
                    weight = 1.0
                    if kind == DISTINCT:
                        if following[slot_chain[s], i] == -2:
                            continue
                        weight = code_weights[slot_value[s], codes[chain_code[slot_chain[s]], event]]
                        if weight == 0.0:
                            continue
                    elif not _passes(flags, event, bit):
                        continue
                    elif kind != COUNT:
                        weight = values[slot_value[s], event]
                        if np.isnan(weight):
                            continue
                    a = max(entry[slot_start[s], i], lo)
                    b = min(entry[slot_end[s], i], hi)
                    if a >= b:
                        continue
                    if kind != DISTINCT:
                        accumulated[s, a] += weight
                        accumulated[s, b] -= weight
                        present[s, a] += 1.0
                        present[s, b] -= 1.0
                        continue
                    # remove the dates at which a later occurrence of the code is in the window and known
                    for j in range(a, b):
                        open_dates[j] = True
                    later = following[slot_chain[s], i]
                    while later >= 0:
                        entered = entry[slot_start[s], later]
                        if entered >= b:
                            break
                        later_from = known_from[start + later]
                        later_until = known_until[start + later]
                        for j in range(max(entered, later_from, a), min(later_until, b)):
                            open_dates[j] = False
                        if later_from <= max(entered, a) and later_until >= b:
                            break  # it covers every date from `entered` on; occurrences after it add nothing
                        later = following[slot_chain[s], later]
                    inside = False
                    for j in range(a, b + 1):
                        now = j < b and open_dates[j]
                        if now and not inside:
                            accumulated[s, j] += weight
                        elif inside and not now:
                            accumulated[s, j] -= weight
                        inside = now
                        open_dates[j] = False
            # running sums over the dates give the value at each date
            for s in range(slots):
                kind = slot_kind[s]
                if kind > DISTINCT:
                    continue
                total = 0.0
                rows_in = 0.0
                for j in range(dates_count):
                    total += accumulated[s, j]
                    rows_in += present[s, j]
                    row = row_of[p, j]
                    if row < 0:
                        continue
                    value = np.nan
                    if kind == DISTINCT:
                        if total > 0.5:
                            value = total / slot_factor[s]
                    elif rows_in > 0.5:
                        if kind == COUNT:
                            value = rows_in
                        elif kind == SUM_DIFF:
                            value = total
                        else:
                            value = total / rows_in
                    if np.isnan(value):
                        value = slot_fallback[s]
                    if slot_target[s] == 0:
                        out[row, slot_column[s]] = value
                    else:
                        scratch[row, slot_column[s]] = value
            # scanned aggregations, only at the dates a cohort row needs
            for s in range(slots):
                kind = slot_kind[s]
                if kind <= DISTINCT:
                    continue
                person_time = time[start:stop]
                for j in range(dates_count):
                    row = row_of[p, j]
                    if row < 0:
                        continue
                    t = dates[j]
                    first = _first_at_or_after(person_time, 0, n, t - edges[slot_end[s]])
                    last = _first_at_or_after(person_time, first, n, t - edges[slot_start[s]])
                    value = np.nan
                    if first < last:
                        value = _scan_value(
                            kind,
                            t,
                            j,
                            start + first,
                            start + last,
                            time,
                            known_from,
                            known_until,
                            flags,
                            slot_bit[s],
                            values[max(slot_value[s], 0)],
                            slot_factor[s],
                        )
                        if kind == SLOPE:
                            value = value * slot_factor[s]
                    if np.isnan(value):
                        value = slot_fallback[s]
                    if slot_target[s] == 0:
                        out[row, slot_column[s]] = value
                    else:
                        scratch[row, slot_column[s]] = value


@njit(cache=True, parallel=True)
def gather_rows(source: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``source[..., order]`` for a 1-D or 2-D array (rows along the last axis), in parallel."""
    result = np.empty((source.shape[0], order.shape[0]), dtype=source.dtype)
    for index in prange(order.shape[0]):
        for row in range(source.shape[0]):
            result[row, index] = source[row, order[index]]
    return result


@njit(cache=True)
def _same_row(flags: np.ndarray, values: np.ndarray, codes: np.ndarray, first: int, second: int) -> bool:
    for word in range(flags.shape[0]):
        if flags[word, first] != flags[word, second]:
            return False
    for row in range(values.shape[0]):
        a, b = values[row, first], values[row, second]
        if a != b and not (np.isnan(a) and np.isnan(b)):
            return False
    for row in range(codes.shape[0]):  # noqa: SIM110 (a plain loop: numba compiles it)
        if codes[row, first] != codes[row, second]:
            return False
    return True


@njit(cache=True, parallel=True)
def merge_date_rows(  # noqa: PLR0917 (the arrays of one source)
    offsets: np.ndarray,
    time: np.ndarray,
    known_from: np.ndarray,
    known_until: np.ndarray,
    flags: np.ndarray,
    values: np.ndarray,
    codes: np.ndarray,
) -> np.ndarray:
    """For rows read once per date (sources with t-columns; each known at one date index): merge rows of
    one person with the same time and identical content at consecutive date indices into one row known
    over the whole range (``known_until`` is extended in place). Returns the mask of rows to keep. Every
    (row, date) is still covered exactly once, duplicates included, so every aggregate is unchanged."""
    keep = np.ones(time.shape[0], dtype=np.bool_)
    persons = offsets.shape[0] - 1
    for p in prange(persons):
        start = offsets[p]
        stop = offsets[p + 1]
        group = start
        while group < stop:
            end = group + 1
            while end < stop and time[end] == time[group]:
                end += 1
            if end - group > 1:
                members = np.arange(group, end)
                members = members[np.argsort(known_from[group:end], kind="mergesort")]
                for index in range(members.shape[0]):
                    row = members[index]
                    for earlier in range(index):
                        island = members[earlier]
                        if (
                            keep[island]
                            and known_until[island] == known_from[row]
                            and _same_row(flags, values, codes, island, row)
                        ):
                            known_until[island] = known_until[row]
                            keep[row] = False
                            break
            group = end
    return keep
