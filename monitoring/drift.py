"""Before labels: the score distribution and every model input, now vs the training reference, per district.

One row per (district, feature): the PSI (``screening.drift.population_stability_index``), the test suited
to the feature's type (Kolmogorov–Smirnov for continuous values, chi-square for binary and categorical
ones, ``screening.drift.distribution_test``), the persons on each side and whether the reference was
comparable (``screening.drift.comparable_dates``: a window longer than the history the reference dates had
is not judged), and how many bins the PSI summed over (``bins``: with the persons, what sampling noise
alone gives, ``screening.drift.psi_noise_bound``; decision D105). ``district`` ``all`` is the whole
municipality; each district is compared with its own reference rows (with the whole reference when it
has none: a new or merged district). A district with fewer persons than the small-cell rule allows has
its numbers suppressed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring.disclosure import cell_is_disclosable
from screening.drift import (
    DistributionTest,
    chi_square_test_of_values,
    comparable_dates,
    distribution_test,
    feature_kind,
    float_values,
    ks_test_of_values,
    psi_of_values,
    psi_with_bins,
)

SCORE_FEATURE = "risk"
ALL_DISTRICTS = "all"
DRIFT_COLUMNS = (
    "district",
    "feature",
    "kind",
    "psi",
    "test",
    "statistic",
    "p_value",
    "n_reference",
    "n_current",
    "comparable",
    "reference_scope",
    "suppressed",
    "bins",
)


def drift_rows(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: Sequence[str],
    *,
    current_date: dt.date,
    history_start: dt.date | None,
    tolerance_days: int = 31,
) -> pd.DataFrame:
    """Drift history rows (:data:`DRIFT_COLUMNS`) for the score (``risk``, when both frames have it) and
    every feature in ``features`` present in both frames.

    ``reference`` needs ``prediction_date`` and ``district``; ``current`` needs ``district``. Neither frame
    is changed. Rows are sorted by district (``all`` first) and feature.
    """
    names = [name for name in features if name in reference and name in current]
    if SCORE_FEATURE in reference and SCORE_FEATURE in current and SCORE_FEATURE not in names:
        names = [SCORE_FEATURE, *names]
    reference_days = pd.to_datetime(reference["prediction_date"]).dt.date
    kept_rows = {
        name: reference_days.isin(
            comparable_dates(name, reference_days.unique(), current_date, history_start, tolerance_days)
        ).to_numpy()
        for name in names
    }
    kinds = {
        name: "score" if name == SCORE_FEATURE else feature_kind(pd.concat([reference[name], current[name]]))
        for name in names
    }
    columns = {name: _FeatureColumns.of(reference[name], current[name]) for name in names}
    rows = []
    ref_district = reference["district"].astype(str).to_numpy()
    cur_district = current["district"].astype(str).to_numpy()
    scopes = [(ALL_DISTRICTS, np.ones(len(reference), bool), np.ones(len(current), bool))]
    scopes += [
        (district, ref_district == district, cur_district == district)
        for district in sorted(set(cur_district.tolist()))
    ]
    for district, own_reference, in_current in scopes:
        scope = "district" if district != ALL_DISTRICTS else "all districts"
        in_reference = own_reference
        if district != ALL_DISTRICTS and not own_reference.any():
            in_reference, scope = np.ones(len(reference), bool), "all districts"
        for name in names:
            kept = in_reference & kept_rows[name]
            rows.append(
                _one_row(
                    columns[name],
                    kept,
                    in_current,
                    district=district,
                    feature=name,
                    kind=kinds[name],
                    reference_scope=scope,
                )
            )
    return pd.DataFrame(rows, columns=list(DRIFT_COLUMNS))


@dataclass(frozen=True)
class _FeatureColumns:
    """One feature's reference and current values, read out of the frames once for all districts: as
    float arrays when both are numbers or booleans (binned and tested as arrays), else as the Series."""

    reference: pd.Series
    current: pd.Series
    reference_values: np.ndarray | None
    current_values: np.ndarray | None

    @classmethod
    def of(cls, reference: pd.Series, current: pd.Series) -> _FeatureColumns:
        numeric = all(
            pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
            for column in (reference, current)
        )
        if not numeric:
            return cls(reference, current, None, None)
        return cls(reference, current, float_values(reference), float_values(current))

    def test(self, in_reference: np.ndarray, in_current: np.ndarray, kind: str) -> DistributionTest:
        """The test suited to ``kind`` (``score``: as continuous) on the rows selected on each side."""
        if self.reference_values is None or self.current_values is None:
            return distribution_test(
                self.reference[in_reference],
                self.current[in_current],
                "continuous" if kind == "score" else kind,  # type: ignore[arg-type]
            )
        reference, current = self.reference_values[in_reference], self.current_values[in_current]
        if kind in ("continuous", "score"):
            return ks_test_of_values(reference, current)
        return chi_square_test_of_values(reference, current)

    def psi(self, in_reference: np.ndarray, in_current: np.ndarray) -> tuple[float, int]:
        if self.reference_values is None or self.current_values is None:
            return psi_with_bins(self.reference[in_reference], self.current[in_current])
        return psi_of_values(self.reference_values[in_reference], self.current_values[in_current])


def _one_row(
    columns: _FeatureColumns,
    in_reference: np.ndarray,
    in_current: np.ndarray,
    *,
    district: str,
    feature: str,
    kind: str,
    reference_scope: str,
) -> dict[str, object]:
    n_reference, n_current = int(in_reference.sum()), int(in_current.sum())
    row: dict[str, object] = {
        "district": district,
        "feature": feature,
        "kind": kind,
        "psi": None,
        "test": "ks" if kind in ("continuous", "score") else "chi_square",
        "statistic": None,
        "p_value": None,
        "n_reference": n_reference,
        "n_current": n_current,
        "comparable": n_reference > 0,
        "reference_scope": reference_scope,
        "suppressed": False,
        "bins": None,
    }
    if not cell_is_disclosable(n_current):
        return row | {"n_current": None, "suppressed": True}
    if n_reference == 0:
        return row
    test = columns.test(in_reference, in_current, kind)
    psi, bins = columns.psi(in_reference, in_current)
    return row | {
        "psi": round(psi, 6),
        "bins": bins,
        "statistic": test.statistic,
        "p_value": test.p_value,
    }
