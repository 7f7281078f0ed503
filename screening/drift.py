"""Input drift: population stability index (PSI) of each model input, scoring population vs reference.

PSI = sum over bins of (p_current - p_reference) * ln(p_current / p_reference), with bins from the
reference's deciles (numeric features with many values) or its distinct values (few values, booleans), and a
separate bin for missing values. Counts get half a person added per bin (additive smoothing) so an empty
bin in a small district does not give infinity or a spurious alarm.
Rule of thumb: < 0.1 stable, 0.1–0.25 some shift, > 0.25 major shift (the default refusal threshold).

A reference is only fair when it is comparable: a feature whose lookback window (``..._0_to_1825d``) is
longer than the history the warehouse held at the reference dates is compared only with reference dates that
covered as much history as today (:func:`comparable_dates`, :func:`comparable_drift_report`); the test suited
to each feature's type (:func:`distribution_test`: Kolmogorov–Smirnov or chi-square) sits beside the PSI.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, cast

import numpy as np
import pandas as pd
from scipy import special, stats

SMOOTHING = 0.5
MAX_DISCRETE_VALUES = 12
QUANTILE_BINS = 10


def population_stability_index(reference: pd.Series, current: pd.Series) -> float:
    """PSI of one feature (see module docstring); 0.0 when both are empty or identical in distribution."""
    return psi_against(reference_bins(reference), current)


def psi_bins(reference: pd.Series, current: pd.Series) -> int:
    """How many bins the PSI of these two samples sums over (the occupied ones; 0 when a side is empty)."""
    return psi_with_bins(reference, current)[1]


def psi_with_bins(reference: pd.Series, current: pd.Series) -> tuple[float, int]:
    """:func:`population_stability_index` and :func:`psi_bins` of two samples, binned once."""
    bins = reference_bins(reference)
    counts = _occupied_counts(bins.counts, bins.current_counts(current))
    return _psi_of_counts(counts), 0 if counts is None else len(counts[0])


def psi_noise_bound(bins: int, n_reference: int, n_current: int, alpha: float) -> float:
    """The PSI that sampling noise alone exceeds with probability ``alpha``, at these sizes.

    Without any change in the population, PSI (a symmetric Kullback–Leibler divergence of two sample
    histograms) times ``1 / (1/n_reference + 1/n_current)`` is approximately chi-square with
    ``bins - 1`` degrees of freedom (it is then the two-sample chi-square statistic). So the bound is
    ``chi2.isf(alpha, bins - 1) * (1/n_reference + 1/n_current)``: about 0.6 for ten bins, 90 current
    and 350 reference persons at alpha 1e-6, about 0.07 at 870 and 2,600. 0.0 when nothing can be judged.
    """
    if bins < 2 or n_reference <= 0 or n_current <= 0:
        return 0.0
    return float(stats.chi2.isf(alpha, bins - 1) * (1.0 / n_reference + 1.0 / n_current))


@dataclass(frozen=True)
class ReferenceBins:
    """The reference side of one feature's PSI: its bins and the reference's count in each, no rows.

    ``distinct``: the reference's distinct values (few values, booleans; bins: each value, "other",
    missing), else ``edges``: its inner decile edges (bins: between the edges, missing). Worth keeping
    between runs (:func:`comparable_drift_report`'s ``kept``): binning a million reference rows costs far
    more than binning today's rows against the edges."""

    counts: np.ndarray
    distinct: np.ndarray | None = None
    edges: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return int(self.counts.sum())

    def current_counts(self, current: pd.Series) -> np.ndarray:
        """Counts of ``current`` in these bins (same order as ``counts``)."""
        return self.counts_of(float_values(current))

    def counts_of(self, values: np.ndarray) -> np.ndarray:
        """Counts of float ``values`` (NaN: missing) in these bins (same order as ``counts``)."""
        if self.distinct is not None:
            return _discrete_counts(values, self.distinct)
        return _binned_counts(values, cast("np.ndarray", self.edges))


def reference_bins(reference: pd.Series) -> ReferenceBins:
    """Bin one feature's reference rows (deciles, or distinct values when there are few)."""
    return reference_bins_of(float_values(reference))


def reference_bins_of(values: np.ndarray) -> ReferenceBins:
    """:func:`reference_bins` of float ``values`` (NaN: missing), as :func:`float_values` gives them."""
    present = values[~np.isnan(values)]
    distinct = _distinct_if_few(present)
    if distinct is not None:
        return ReferenceBins(counts=_discrete_counts(values, distinct), distinct=distinct)
    edges = np.unique(np.quantile(present, np.linspace(0, 1, QUANTILE_BINS + 1)[1:-1]))
    return ReferenceBins(counts=_binned_counts(values, edges), edges=edges)


def psi_of_values(reference: np.ndarray, current: np.ndarray) -> tuple[float, int]:
    """:func:`psi_with_bins` of float arrays (NaN: missing), as :func:`float_values` gives them."""
    bins = reference_bins_of(reference)
    counts = _occupied_counts(bins.counts, bins.counts_of(current))
    return _psi_of_counts(counts), 0 if counts is None else len(counts[0])


def psi_against(bins: ReferenceBins, current: pd.Series) -> float:
    """:func:`population_stability_index` of ``current`` against a binned reference (the same value)."""
    return _psi_of_counts(_occupied_counts(bins.counts, bins.current_counts(current)))


def _psi_of_counts(counts: tuple[np.ndarray, np.ndarray] | None) -> float:
    if counts is None:
        return 0.0
    ref_counts, cur_counts = counts[0] + SMOOTHING, counts[1] + SMOOTHING
    p_ref = ref_counts / ref_counts.sum()
    p_cur = cur_counts / cur_counts.sum()
    return float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))


def float_values(values: pd.Series) -> np.ndarray:
    """A feature's values as floats, missing (and anything that is not a number) as NaN: what the PSI bins."""
    numbers = pd.to_numeric(values.astype("float64", errors="ignore"), errors="coerce")
    return numbers.to_numpy(dtype=float, na_value=np.nan)


def _occupied_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    if ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return None
    occupied = (ref_counts + cur_counts) > 0
    return ref_counts[occupied], cur_counts[occupied]


def _distinct_if_few(values: np.ndarray) -> np.ndarray | None:
    """``np.unique(values)`` when it has at most ``MAX_DISCRETE_VALUES`` entries, else None; without
    sorting a reference of a million rows (a sample with more distinct values already says None)."""
    if len(np.unique(values[:4096])) > MAX_DISCRETE_VALUES:
        return None
    distinct = np.unique(pd.unique(values))
    return distinct if len(distinct) <= MAX_DISCRETE_VALUES else None


def _discrete_counts(values: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    missing = np.isnan(values)
    present = values[~missing]
    known = np.array([(present == v).sum() for v in distinct], dtype=float)
    other = float(len(present) - known.sum())
    return np.concatenate([known, [other, float(missing.sum())]])


def _binned_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    missing = np.isnan(values)
    bins = np.searchsorted(edges, values[~missing], side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(float)
    return np.concatenate([counts, [float(missing.sum())]])


class FeatureRows(Protocol):
    """Feature rows read a column at a time (``features.store.FeatureColumns``); a DataFrame also does."""

    def __contains__(self, name: object) -> bool: ...

    def __getitem__(self, name: str) -> pd.Series: ...


@dataclass(frozen=True)
class DriftReport:
    """PSI per feature (highest first) and whether any exceeds the threshold. Holds no person data."""

    psi: pd.Series
    threshold: float
    not_comparable: tuple[str, ...] = ()

    @property
    def tripped(self) -> bool:
        return bool((self.psi > self.threshold).any())

    @property
    def drifted(self) -> pd.Series:
        """The PSI of the features over the threshold, highest first."""
        return self.psi.loc[self.psi > self.threshold]

    def drifted_lines(self) -> list[str]:
        """One line per feature over the threshold, highest PSI first: ``name: PSI 0.412``."""
        return [f"{name}: PSI {value:.3f}" for name, value in self.drifted.items()]

    def not_comparable_line(self) -> str:
        """How many features were not compared, and why (empty when every feature was)."""
        if not self.not_comparable:
            return ""
        return (
            f"{len(self.not_comparable)} feature(s) not compared (their window is longer than the history "
            "the reference dates had)."
        )

    def summary(self, top: int = 5) -> str:
        """One line naming the most drifted features and their PSI."""
        worst = ", ".join(f"{name} {value:.3f}" for name, value in self.psi.head(top).items())
        text = f"max PSI {self.psi.max():.3f} (threshold {self.threshold}); highest: {worst}"
        if self.not_comparable:
            text += "; " + self.not_comparable_line().rstrip(".")
        return text


def drift_report(
    reference: pd.DataFrame, current: pd.DataFrame, features: Sequence[str], threshold: float
) -> DriftReport:
    """PSI of every feature in ``features`` present in both frames, compared with ``threshold``."""
    values = {
        name: population_stability_index(reference[name], current[name])
        for name in features
        if name in reference and name in current
    }
    psi = pd.Series(values, dtype=float).sort_values(ascending=False, kind="stable")
    return DriftReport(psi=psi, threshold=threshold)


# ----- comparability and type-suited tests (used by the scoring gate and by monitoring/) ------------------

_WINDOW_SUFFIX = re.compile(r"_(\d+)_to_(\d+)d$")
COMPARABILITY_TOLERANCE_DAYS = 31
FeatureKind = Literal["binary", "categorical", "continuous"]


def lookback_days(feature: str) -> int | None:
    """How far back a feature looks, from its self-describing name (``..._0_to_1825d`` -> 1825), else None."""
    match = _WINDOW_SUFFIX.search(feature)
    return int(match.group(2)) if match else None


def effective_lookback_days(feature: str, date: dt.date, history_start: dt.date | None) -> int | None:
    """The days of history a feature really covers at ``date``: its window, cut at the start of history.

    A 5-year window at a date two years after the warehouse's history starts covers only two years, so its
    counts are lower than the same window's counts at a later date, without any change in the population.
    """
    window = lookback_days(feature)
    if window is None or history_start is None:
        return window
    return max(0, min(window, (date - history_start).days))


def comparable_dates(
    feature: str,
    reference_dates: Iterable[dt.date],
    current_date: dt.date,
    history_start: dt.date | None,
    tolerance_days: int = COMPARABILITY_TOLERANCE_DAYS,
) -> list[dt.date]:
    """The reference prediction dates at which ``feature`` covered as much history as at ``current_date``.

    The rule: a reference date is comparable when the feature's effective lookback there
    (:func:`effective_lookback_days`) is within ``tolerance_days`` of its effective lookback at
    ``current_date`` (one monthly delivery by default). Features without a window in their name (age,
    living alone) and all features when ``history_start`` is unknown are comparable at every date.
    Of those, only the dates in the same calendar position are kept (:func:`same_calendar_dates`; all
    of them when none is), so month lengths do not pass for drift (decision D125).
    """
    dates = sorted(set(reference_dates))
    now = effective_lookback_days(feature, current_date, history_start)
    if now is not None:
        dates = [
            day
            for day in dates
            if abs((effective_lookback_days(feature, day, history_start) or 0) - now) <= tolerance_days
        ]
    window = lookback_days(feature)
    if window is not None and window < SHORT_WINDOW_DAYS:
        dates = same_month_count_dates(dates, current_date, window)
    return same_calendar_dates(dates, current_date)


# Windows shorter than this hold few monthly records, so one month more or less inside them changes the
# feature (a slope needs two points); longer ones hold twelve or more and one month is noise.
SHORT_WINDOW_DAYS = 365


def month_starts_in_window(day: dt.date, window_days: int) -> int:
    """How many first-of-month days fall in the half-open window [``day`` - ``window_days``, ``day``).

    Monthly care records are dated on the month's first day, so this is how many of them a window of
    that length can hold: a 90-day window holds three at 1 May (1 February, 1 March, 1 April) and two at
    1 July (1 May, 1 June), and a ``..._slope_0_to_90d`` has its second point at one and not the other.
    """
    start = day - dt.timedelta(days=window_days)
    first = start.year * 12 + start.month - 1 + (0 if start.day == 1 else 1)  # first month start >= start
    last = day.year * 12 + day.month - 1 - (1 if day.day == 1 else 0)  # last month start < day
    return max(0, last - first + 1)


def same_month_count_dates(
    dates: Sequence[dt.date], current_date: dt.date, window_days: int
) -> list[dt.date]:
    """The ``dates`` whose window of ``window_days`` holds as many month starts as ``current_date``'s;
    all of them when none does (decision D147)."""
    return _dates_alike(dates, current_date, lambda day: month_starts_in_window(day, window_days))


def calendar_span_days(day: dt.date) -> int:
    """Days from the first of the month two months before ``day``'s month to ``day`` (61 at 1 November).

    Care records are kept per month and registered a few days into the next month, so at a month start
    the latest known record is of the month before last: its recency (``..._days_since_last_...``) is
    this span (how many records a short window holds is a second rule, :func:`month_starts_in_window`).
    Two dates with different spans (1 April: 59; 1 July: 61) give such
    features different values for the same citizens.
    """
    year, month = divmod(day.year * 12 + day.month - 1 - 2, 12)
    return (day - dt.date(year, month + 1, 1)).days


def same_calendar_dates(dates: Sequence[dt.date], current_date: dt.date) -> list[dt.date]:
    """The ``dates`` whose :func:`calendar_span_days` equals ``current_date``'s; all of them when none does
    (a reference is never emptied by this rule, decision D125)."""
    return _dates_alike(dates, current_date, calendar_span_days)


# How many reference dates :func:`reference_dates_moved_to` builds: each costs one feature build at
# scoring time.
MOVED_REFERENCE_DATES = 4


def _months_before(day: dt.date) -> tuple[int, int]:
    """The lengths in days of the month before ``day``'s month and of the one before that."""
    index = day.year * 12 + day.month - 1
    lengths = []
    for back in (1, 2):
        year, month = divmod(index - back, 12)
        lengths.append(calendar.monthrange(year, month + 1)[1])
    return lengths[0], lengths[1]


def reference_dates_moved_to(
    dates: Sequence[dt.date], current_date: dt.date, count: int = MOVED_REFERENCE_DATES
) -> list[dt.date]:
    """Days at which to build the drift reference because none of the reference ``dates`` is in
    ``current_date``'s calendar position; an empty list when one is, and at a month start (its rule is
    :func:`same_calendar_dates`; decision D148).

    A weekly list falls on any day of the month, while features are mostly built for month starts. At the
    24th the month before's care records are registered and at the 1st they are not, so recency and
    short-window features differ for everyone, and comparing them reports the calendar as drift. The same
    day of another month is comparable when the two months before it are as long as the two before
    ``current_date`` (the 24th follows 23 days of its month and a whole month before it: a record of
    the month before is 54 days old on 24 November and 53 on 24 July). So this returns that day in the
    latest ``count`` such months before ``current_date``, back to the month of the earliest reference
    date (fewer when there are fewer: a 30 March follows a 28-day February only once a year).
    """
    before = sorted(day for day in set(dates) if day < current_date)
    if current_date.day == 1 or not before:
        return []
    position = (current_date.day, _months_before(current_date))
    if any((day.day, _months_before(day)) == position for day in before):
        return []
    earliest = before[0].year * 12 + before[0].month - 1
    moved: list[dt.date] = []
    index = current_date.year * 12 + current_date.month - 1 - 1
    while index >= earliest and len(moved) < count:
        year, month = divmod(index, 12)
        if current_date.day <= calendar.monthrange(year, month + 1)[1]:
            candidate = dt.date(year, month + 1, current_date.day)
            if _months_before(candidate) == position[1]:
                moved.append(candidate)
        index -= 1
    return sorted(moved)


def _dates_alike(
    dates: Sequence[dt.date], current_date: dt.date, position: Callable[[dt.date], int]
) -> list[dt.date]:
    """The ``dates`` whose ``position`` equals ``current_date``'s; all of them when none does."""
    same = [day for day in dates if position(day) == position(current_date)]
    return same or list(dates)


def feature_kind(values: pd.Series) -> FeatureKind:
    """``binary`` (only 0/1 or booleans), ``categorical`` (text, or at most a dozen distinct values) or
    ``continuous``; missing values are ignored when deciding."""
    present = values.dropna()
    if pd.api.types.is_bool_dtype(present):
        return "binary"
    if not pd.api.types.is_numeric_dtype(present):
        return "categorical"
    distinct = np.unique(present.to_numpy(dtype=float))
    if set(distinct.tolist()) <= {0.0, 1.0}:
        return "binary"
    if len(distinct) <= MAX_DISCRETE_VALUES:
        return "categorical"
    return "continuous"


@dataclass(frozen=True)
class DistributionTest:
    """A two-sample test of one feature: ``ks`` (Kolmogorov–Smirnov, continuous values, missing counted as
    the lowest value) or ``chi_square`` (categories and a missing category: binary and categorical)."""

    test: Literal["ks", "chi_square"]
    statistic: float
    p_value: float


def distribution_test(reference: pd.Series, current: pd.Series, kind: FeatureKind) -> DistributionTest:
    """The test suited to ``kind``; NaN statistic and p-value when a side has no value to compare."""
    if kind == "continuous":
        ref = pd.to_numeric(reference, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        cur = pd.to_numeric(current, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return ks_test_of_values(ref, cur)
    ref_counts, cur_counts = _category_counts(reference), _category_counts(current)
    table = pd.concat([ref_counts, cur_counts], axis=1).fillna(0.0).to_numpy(dtype=float).T
    return _chi_square_of_table(table)


def ks_test_of_values(reference: np.ndarray, current: np.ndarray) -> DistributionTest:
    """:func:`distribution_test` of a continuous feature given as float arrays (NaN: missing)."""
    present = np.concatenate([reference[~np.isnan(reference)], current[~np.isnan(current)]])
    if len(reference) == 0 or len(current) == 0 or len(present) == 0:
        return DistributionTest("ks", float("nan"), float("nan"))
    # Missing counts as a value below every other, so a source that goes missing moves the distribution.
    below = present.min() - 1.0
    with warnings.catch_warnings():
        # With many ties (counts) SciPy's exact p-value can fail; it then uses the asymptotic one, which
        # is what a sample of this size should get. The warning says nothing the result does not.
        warnings.filterwarnings("ignore", "ks_2samp: Exact calculation unsuccessful", RuntimeWarning)
        result = stats.ks_2samp(np.nan_to_num(reference, nan=below), np.nan_to_num(current, nan=below))
    return DistributionTest("ks", float(result.statistic), float(result.pvalue))


def chi_square_test_of_values(reference: np.ndarray, current: np.ndarray) -> DistributionTest:
    """:func:`distribution_test` of a binary or categorical feature whose categories are numbers, given
    as float arrays (NaN: missing, a category of its own)."""
    ref_values, ref_counts = np.unique(reference, return_counts=True, equal_nan=True)
    cur_values, cur_counts = np.unique(current, return_counts=True, equal_nan=True)
    categories = np.unique(np.concatenate([ref_values, cur_values]), equal_nan=True)
    table = np.zeros((2, len(categories)))
    # np.unique sorts NaN last and keeps one, so each side's categories index into the union in order
    table[0, np.searchsorted(categories, ref_values)] = ref_counts
    table[1, np.searchsorted(categories, cur_values)] = cur_counts
    return _chi_square_of_table(table)


def _chi_square_of_table(table: np.ndarray) -> DistributionTest:
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return DistributionTest("chi_square", 0.0 if table.shape[1] == 1 else float("nan"), 1.0)
    # Pearson's chi-square test of independence, as ``scipy.stats.chi2_contingency(table,
    # correction=False)`` computes it (the same statistic and p-value up to rounding; its argument checks
    # cost more than the test on a 2 x k table, thousands of times per monitor run).
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return DistributionTest("chi_square", statistic, float(special.chdtrc(table.shape[1] - 1, statistic)))


def _category_counts(values: pd.Series) -> pd.Series:
    """Rows per category, missing as a category of its own. Numbers are counted as numbers (each distinct
    value one category, as its text would be, without writing a text per row)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        counts = values.astype("float64").value_counts(dropna=False)
        return counts.set_axis(["<missing>" if np.isnan(key) else repr(float(key)) for key in counts.index])
    return values.astype("object").where(values.notna(), "<missing>").astype(str).value_counts()


class KeptBins(Protocol):
    """Reference bins kept between runs, each for one feature and the reference dates it was compared with
    (``screening.kept_bins.KeptReferenceBins``: files in the home, one set per feature set version)."""

    def get(self, feature: str, dates: tuple[dt.date, ...]) -> ReferenceBins | None: ...

    def put(self, feature: str, dates: tuple[dt.date, ...], bins: ReferenceBins) -> None: ...

    def save(self) -> None: ...


@dataclass(frozen=True)
class BinnedReference:
    """Reference rows with the bins already made from them (``kept``): :func:`comparable_drift_report`
    bins a feature's rows only when ``kept`` lacks them for the dates compared, and keeps what it made."""

    rows: FeatureRows
    kept: KeptBins

    def __contains__(self, name: object) -> bool:
        return name in self.rows

    def __getitem__(self, name: str) -> pd.Series:
        return self.rows[name]


def comparable_drift_report(
    reference: pd.DataFrame | FeatureRows,
    current: pd.DataFrame,
    features: Sequence[str],
    threshold: float,
    *,
    current_date: dt.date,
    history_start: dt.date | None,
    date_column: str = "prediction_date",
) -> DriftReport:
    """Like :func:`drift_report`, but each feature is compared only with the reference rows dated where it
    covered as much history as at ``current_date`` (:func:`comparable_dates`); a feature with no such
    reference row is left out of the PSI and named in ``not_comparable`` (it cannot raise an alarm).
    ``reference`` is read one column at a time, so it may be a :class:`FeatureRows` view of a file; a
    :class:`BinnedReference` reads a feature's column only when its bins for those dates are not kept yet
    (same report: the kept bins are what :func:`reference_bins` makes of the same rows)."""
    kept = reference.kept if isinstance(reference, BinnedReference) else None
    stamps = pd.to_datetime(cast("pd.Series", reference[date_column]))
    codes, distinct_stamps = pd.factorize(stamps, sort=True)
    distinct_days = [pd.Timestamp(stamp).date() for stamp in distinct_stamps]
    masks: dict[tuple[dt.date, ...], np.ndarray | None] = {}  # None: every row is comparable
    values: dict[str, float] = {}
    not_comparable: list[str] = []
    for name in features:
        if name not in reference or name not in current:
            continue
        dates = tuple(comparable_dates(name, distinct_days, current_date, history_start))
        bins = kept.get(name, dates) if kept is not None else None
        if bins is None:
            if dates not in masks:
                chosen = np.array([day in set(dates) for day in distinct_days], dtype=bool)
                masks[dates] = None if chosen.all() and (codes >= 0).all() else chosen[codes] & (codes >= 0)
            mask = masks[dates]
            column = cast("pd.Series", reference[name])
            bins = reference_bins(column if mask is None else column[mask])
            if kept is not None:
                kept.put(name, dates, bins)
        if bins.rows == 0:
            not_comparable.append(name)
            continue
        values[name] = psi_against(bins, current[name])
    if kept is not None:
        kept.save()
    psi = pd.Series(values, dtype=float).sort_values(ascending=False, kind="stable")
    return DriftReport(psi=psi, threshold=threshold, not_comparable=tuple(not_comparable))
