"""Reading the models layer's inputs from disk: the feature set (docs/interfaces.md section 3, through
``features.store``, its one reader) and the synthetic world's hidden truth (section 1c). The only module
of models/ that reads files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pandas as pd

from features.store import (
    FeatureSetManifest,
    feature_set_folder,
    latest_version,
    read_features,
    read_labels,
    read_manifest,
)


@dataclass(frozen=True)
class FeatureSet:
    """One feature set version: the feature table, labels and the manifest that describes them."""

    version: str
    features: pd.DataFrame
    labels: pd.DataFrame
    manifest: FeatureSetManifest

    @property
    def spec_hash(self) -> str:
        """The feature spec hash (spec plus mode, area and horizons)."""
        return self.manifest.spec_hash

    @property
    def data_batches(self) -> list[str]:
        """Ids of the warehouse batches the features were built from (no person data)."""
        return list(self.manifest.batch_ids)

    @property
    def contract_versions(self) -> dict[str, str]:
        """Contract version per source."""
        return dict(sorted(self.manifest.contract_versions.items()))


def latest_feature_set_version(features_dir: Path) -> str:
    """The version named by ``features_dir/LATEST``; raises a clear error when features were not built."""
    return latest_version(features_dir)


def read_feature_set(
    features_dir: Path,
    version: str | None = None,
    *,
    dates_from_labels: Callable[[pd.DataFrame], Sequence[pd.Timestamp]] | None = None,
) -> FeatureSet:
    """Read ``features_dir/<version>/`` (default: the LATEST version) through ``features.store``.

    Labels are read first and whole (they are small). ``dates_from_labels``, when given, picks from them
    the prediction dates whose feature rows are read (e.g. ``models.harness.prediction_dates_needed``);
    the other dates' features are never loaded. Feature values are read as float32, the precision the
    models see them at (``models.dataset.as_model_matrix``), which halves the memory of the table.
    """
    folder = feature_set_folder(features_dir, version)
    labels = read_labels(features_dir, folder.name)
    prediction_dates = dates_from_labels(labels) if dates_from_labels is not None else None
    return FeatureSet(
        version=folder.name,
        features=read_features(features_dir, folder.name, prediction_dates=prediction_dates, float32=True),
        labels=labels,
        manifest=read_manifest(features_dir, folder.name),
    )


def read_truth(world_dir: Path, pseudonym_key: str, months: list[pd.Timestamp] | None = None) -> pd.DataFrame:
    """The hidden truth with ``cpr`` replaced by ``person_key`` (same HMAC pseudonym as ingest).

    ``months`` (first of month) limits the rows read. Only evaluation reads this file (the oracle
    baseline); it exists for synthetic worlds only.
    """
    from data_contracts.pseudonym import pseudonymise_cpr

    path = Path(world_dir) / "truth" / "truth.parquet"
    if not path.exists():
        raise FileNotFoundError(f"No truth file at {path}: the oracle baseline needs a synthetic world.")
    filters = None
    if months is not None:
        # pandas-stubs type Series.dt.to_timestamp() as a DatetimeArray; pandas returns a Series
        wanted = cast("pd.Series", pd.to_datetime(pd.Series(months)).dt.to_period("M").dt.to_timestamp())
        filters = [("month", "in", sorted(set(wanted.dt.date)))]
    truth = pd.read_parquet(path, filters=filters)  # row groups of other months are never decoded
    truth["month"] = pd.to_datetime(truth["month"]).astype("datetime64[ns]")
    cprs = pd.Series(truth["cpr"].astype("string").unique())
    keys = dict(zip(cprs, pseudonymise_cpr(cprs, pseudonym_key), strict=True))
    return truth.drop(columns=["cpr"]).assign(person_key=truth["cpr"].astype("string").map(keys).to_numpy())
