"""Reading the models layer's inputs from disk: the feature set (docs/interfaces.md section 3) and the
synthetic world's hidden truth (section 1c). The only module of models/ that reads files."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

_READ_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class FeatureSet:
    """One feature set version: the feature table, labels and the spec that produced them."""

    version: str
    features: pd.DataFrame
    labels: pd.DataFrame
    spec: dict

    @property
    def spec_hash(self) -> str:
        """The feature spec hash (the version is its first 12 characters)."""
        return str(self.spec.get("spec_hash") or self.spec.get("hash") or self.version)

    @property
    def data_batches(self) -> list[str]:
        """Ids of the warehouse batches the features were built from (no person data)."""
        batches = self.spec.get("data_batches") or self.spec.get("batches") or []
        return [str(b.get("batch_id", b)) if isinstance(b, dict) else str(b) for b in batches]

    @property
    def contract_versions(self) -> dict[str, str]:
        """Contract version per source, when the spec records them."""
        versions = self.spec.get("contract_versions")
        if isinstance(versions, dict):
            return {str(k): str(v) for k, v in versions.items()}
        batches = self.spec.get("data_batches") or self.spec.get("batches") or []
        found = {
            str(b.get("source")): str(b.get("contract_version"))
            for b in batches
            if isinstance(b, dict) and b.get("source") and b.get("contract_version")
        }
        return dict(sorted(found.items()))


def latest_feature_set_version(features_dir: Path) -> str:
    """The version named by ``features_dir/LATEST``; raises a clear error when features were not built."""
    latest = Path(features_dir) / "LATEST"
    if not latest.exists():
        raise FileNotFoundError(
            f"No feature set found: {latest} does not exist. Run `tidlig features` first."
        )
    return latest.read_text().strip()


def read_feature_set(
    features_dir: Path,
    version: str | None = None,
    *,
    dates_from_labels: Callable[[pd.DataFrame], Sequence[pd.Timestamp]] | None = None,
) -> FeatureSet:
    """Read ``features_dir/<version>/`` (default: the LATEST version).

    Labels are read first and whole (they are small). ``dates_from_labels``, when given, picks from them
    the prediction dates whose feature rows are read (e.g. ``models.harness.prediction_dates_needed``);
    the other dates' features are never loaded. Feature values are read as float32, the precision the
    models see them at (``models.dataset.as_model_matrix``), which halves the memory of the table.
    """
    folder = _feature_set_folder(features_dir, version)
    spec_path = folder / "spec.json"
    spec = json.loads(spec_path.read_text()) if spec_path.exists() else {}
    labels = _with_timestamp(pd.read_parquet(folder / "labels.parquet"))
    prediction_dates = dates_from_labels(labels) if dates_from_labels is not None else None
    return FeatureSet(
        version=folder.name,
        features=_with_timestamp(_read_features(folder / "features.parquet", prediction_dates)),
        labels=labels,
        spec=spec,
    )


def _feature_set_folder(features_dir: Path, version: str | None) -> Path:
    folder = Path(features_dir) / (version or latest_feature_set_version(features_dir))
    missing = [n for n in ("features.parquet", "labels.parquet") if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(
            f"Feature set {folder} lacks {', '.join(missing)}; rebuild with `tidlig features`."
        )
    return folder


def _read_features(path: Path, prediction_dates: Sequence[pd.Timestamp] | None) -> pd.DataFrame:
    """The feature table, float64 columns as float32, optionally only the given prediction dates.

    Read in batches, each filtered and narrowed before the next is read, so the peak is about the size
    of the result rather than of the whole file in float64 (8 of the 60k world's 19 dates: 1.5 GiB
    peak, where reading the whole table first took 4.1 GiB).
    """
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    narrow = pa.schema(
        [field.with_type(pa.float32()) if pa.types.is_float64(field.type) else field for field in schema]
    )
    wanted = None
    if prediction_dates is not None:
        dates = pa.array(pd.to_datetime(list(prediction_dates)), pa.timestamp("ns"))
        wanted = dates.cast(schema.field("prediction_date").type)
    batches = []
    for batch in parquet.iter_batches(batch_size=_READ_BATCH_ROWS):
        kept = batch if wanted is None else batch.filter(pc.is_in(batch["prediction_date"], value_set=wanted))
        batches.append(kept.cast(narrow))
    table = pa.Table.from_batches(batches, schema=narrow)
    return table.to_pandas(self_destruct=True, split_blocks=True)


def _with_timestamp(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(prediction_date=pd.to_datetime(frame["prediction_date"]).astype("datetime64[ns]"))


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
        wanted = pd.to_datetime(pd.Series(months)).dt.to_period("M").dt.to_timestamp()
        filters = [("month", "in", sorted(set(wanted.dt.date)))]
    truth = pd.read_parquet(path, filters=filters)  # row groups of other months are never decoded
    truth["month"] = pd.to_datetime(truth["month"]).astype("datetime64[ns]")
    cprs = pd.Series(truth["cpr"].astype("string").unique())
    keys = dict(zip(cprs, pseudonymise_cpr(cprs, pseudonym_key), strict=True))
    return truth.drop(columns=["cpr"]).assign(person_key=truth["cpr"].astype("string").map(keys).to_numpy())
