"""The drift check's reference bins kept in the home (D143): the same report as binning the rows afresh,
made once per feature set version and reference dates and reused, made again for a new version or a
rewritten feature table."""

import datetime as dt
import os

import numpy as np
import pandas as pd
import pytest

from features.store import FeatureColumns
from screening.drift import (
    BinnedReference,
    comparable_drift_report,
    population_stability_index,
    psi_against,
    reference_bins,
)
from screening.kept_bins import FOLDER, KeptReferenceBins

HISTORY_START = dt.date(2020, 1, 1)
TODAY = dt.date(2024, 1, 1)
FEATURES = [
    "gp_contacts_count_0_to_1825d",  # its window is longer than the reference dates' history: not compared
    "gp_contacts_count_0_to_365d",
    "weight_change_percent_0_to_90d_vs_180_to_365d",  # continuous, partly missing
    "living_alone",  # two values
    "fsiii_score_mean_0_to_180d",  # missing for everyone
]


def world(persons=2000, seed=5, shift=0.0):
    """Reference rows at two dates and today's rows; ``shift`` moves the reference's weight change."""
    rng = np.random.default_rng(seed)

    def rows(day):
        weight = rng.normal(shift, 3.0, persons)
        weight[rng.random(persons) < 0.3] = np.nan
        return pd.DataFrame(
            {
                "prediction_date": pd.Timestamp(day),
                "gp_contacts_count_0_to_1825d": rng.poisson(8.0, persons).astype(float),
                "gp_contacts_count_0_to_365d": rng.poisson(4.0, persons).astype(float),
                "weight_change_percent_0_to_90d_vs_180_to_365d": weight,
                "living_alone": rng.integers(0, 2, persons).astype(float),
                "fsiii_score_mean_0_to_180d": np.full(persons, np.nan),
            }
        )

    reference = pd.concat([rows(dt.date(2021, 1, 1)), rows(dt.date(2021, 7, 1))], ignore_index=True)
    return reference, rows(TODAY)


class CountingColumns:
    """A feature table view that counts which columns the drift check read."""

    def __init__(self, features_dir, version):
        self.rows = FeatureColumns(features_dir, version, before=pd.Timestamp(TODAY))
        self.read: list[str] = []

    def __contains__(self, name):
        return name in self.rows

    def __getitem__(self, name):
        self.read.append(name)
        return self.rows[name]


def write_version(features_dir, version, reference):
    folder = features_dir / version
    folder.mkdir(parents=True, exist_ok=True)
    reference.to_parquet(folder / "features.parquet", index=False)
    reference[["prediction_date"]].to_parquet(folder / "labels.parquet", index=False)
    return folder / "features.parquet"


def kept_reference(home, version):
    rows = CountingColumns(home / "features", version)
    features_file = home / "features" / version / "features.parquet"
    return rows, BinnedReference(rows, KeptReferenceBins(home / FOLDER / version, version, features_file))


def report(reference, current):
    return comparable_drift_report(
        reference, current, FEATURES, 0.25, current_date=TODAY, history_start=HISTORY_START
    )


def assert_same_report(left, right):
    pd.testing.assert_series_equal(left.psi, right.psi, check_exact=True)
    assert left.not_comparable == right.not_comparable


@pytest.mark.parametrize("shift", [0.0, 2.0])
def test_kept_bins_give_the_same_report_as_binning_the_rows_afresh(tmp_path, shift):
    reference, current = world(shift=shift)
    write_version(tmp_path / "features", "v1", reference)
    fresh = report(reference, current)
    _, first = kept_reference(tmp_path, "v1")
    _, second = kept_reference(tmp_path, "v1")
    assert_same_report(report(first, current), fresh)
    assert_same_report(report(second, current), fresh)  # read back from the files
    assert fresh.not_comparable == ("gp_contacts_count_0_to_1825d",)


def test_a_second_run_with_the_same_champion_reads_only_the_dates(tmp_path):
    reference, current = world()
    write_version(tmp_path / "features", "v1", reference)
    first_rows, first = kept_reference(tmp_path, "v1")
    report(first, current)
    assert set(FEATURES) <= set(first_rows.read)
    second_rows, second = kept_reference(tmp_path, "v1")
    report(second, current)
    assert second_rows.read == ["prediction_date"]


def test_a_new_feature_set_version_gets_bins_of_its_own(tmp_path):
    reference, current = world()
    write_version(tmp_path / "features", "v1", reference)
    report(kept_reference(tmp_path, "v1")[1], current)
    shifted, _ = world(seed=6, shift=2.0)
    write_version(tmp_path / "features", "v2", shifted)
    rows, binned = kept_reference(tmp_path, "v2")
    assert_same_report(report(binned, current), report(shifted, current))
    assert set(FEATURES) <= set(rows.read)
    assert sorted({path.parent.name for path in (tmp_path / FOLDER).glob("*/*.json")}) == ["v1", "v2"]


def test_bins_of_a_feature_table_since_rewritten_are_made_again(tmp_path):
    reference, current = world()
    features_file = write_version(tmp_path / "features", "v1", reference)
    report(kept_reference(tmp_path, "v1")[1], current)
    shifted, _ = world(seed=6, shift=2.0)
    write_version(tmp_path / "features", "v1", shifted)
    stat = features_file.stat()
    os.utime(features_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    rows, binned = kept_reference(tmp_path, "v1")
    assert_same_report(report(binned, current), report(shifted, current))
    assert "weight_change_percent_0_to_90d_vs_180_to_365d" in rows.read


def test_other_reference_dates_get_other_bins(tmp_path):
    """The key is what the comparable-date rule chose, so a date at which it chooses otherwise (here:
    the 5-year window becomes comparable once the current date has as little history) bins afresh."""
    reference, current = world()
    write_version(tmp_path / "features", "v1", reference)
    report(kept_reference(tmp_path, "v1")[1], current)
    rows, binned = kept_reference(tmp_path, "v1")
    options = {"current_date": dt.date(2021, 7, 1), "history_start": HISTORY_START}
    early = comparable_drift_report(binned, current, FEATURES, 0.25, **options)
    assert_same_report(early, comparable_drift_report(reference, current, FEATURES, 0.25, **options))
    assert "gp_contacts_count_0_to_1825d" in rows.read


def test_the_kept_files_hold_bins_and_counts_only(tmp_path):
    reference, current = world()
    write_version(tmp_path / "features", "v1", reference)
    report(kept_reference(tmp_path, "v1")[1], current)
    paths = list((tmp_path / FOLDER / "v1").glob("*.json"))
    assert len(paths) == 2  # the 5-year window's dates (none comparable) and everybody else's
    for path in paths:
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert len(path.read_text()) < 4000  # a few numbers per feature, not 4,000 rows


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        (pd.Series([1.0, 2.0, np.nan, 2.0]), pd.Series([2.0, 3.0, np.nan])),
        (pd.Series(np.arange(100.0)), pd.Series(np.arange(50.0, 150.0))),
        (pd.Series([np.nan, np.nan]), pd.Series([1.0, np.nan])),
        (pd.Series([], dtype=float), pd.Series([1.0])),
        (pd.Series([True, False, True]), pd.Series([False, False])),
    ],
)
def test_psi_against_the_bins_is_the_psi_of_the_rows(reference, current):
    assert psi_against(reference_bins(reference), current) == population_stability_index(reference, current)
