"""The feature-set store: one writer and one reader of ``features_dir/<version>/`` (docs/interfaces.md 3).

The only module of ``features/`` that touches files. A feature set is a folder holding
``features.parquet``, ``labels.parquet``, ``attrition.csv`` and its manifest ``spec.json`` (a
:class:`FeatureSetManifest`); ``features_dir/LATEST`` names the folder written last.

The version identifies the contents: it is a hash of the spec hash (the spec with its mode, area and
horizons), the prediction dates and the data batches read (:func:`feature_set_version`). A rebuild with
other dates or newer batches therefore gets a new folder and never overwrites a set that a registered
model names; a rebuild of the same inputs replaces its own folder with the same contents.
Writes are atomic: a reader sees the previous complete folder or the new complete one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

MANIFEST_FILE = "spec.json"
LATEST_FILE = "LATEST"
FEATURES_FILE = "features.parquet"
LABELS_FILE = "labels.parquet"
ATTRITION_FILE = "attrition.csv"
_READ_BATCH_ROWS = 65_536


class FeatureSetNotFoundError(FileNotFoundError):
    """The feature set asked for (or LATEST) is not there; the message says which and what to run."""


class FeatureSetManifestError(ValueError):
    """A manifest lacks a field or holds a wrong value; the message names the file and the fields."""


@dataclass(frozen=True)
class DataBatch:
    """One warehouse batch a feature set was built from (ids and versions only, no person data)."""

    batch_id: str
    source: str
    delivery: str
    contract_version: str


@dataclass(frozen=True)
class FeatureSetManifest:
    """What a feature set is: its version, the spec that made it and the data it was made from.

    ``spec`` is ``FeatureSetSpec.to_dict()``; ``spec_hash`` is ``spec_hash(**spec_context)`` of that spec.
    ``labels_mode`` is always ``as_occurred`` (labels use the final data, docs/decisions.md D7).
    """

    version: str
    spec_hash: str
    spec: Mapping[str, Any]
    mode: str
    area_municipalities: tuple[str, ...] | None
    horizons: tuple[int, ...]
    prediction_dates: tuple[dt.date, ...]
    every: str
    end_of_data: pd.Timestamp
    data_batches: tuple[DataBatch, ...]
    columns: tuple[str, ...]
    rows: int
    labels_mode: str = "as_occurred"
    contract_versions: Mapping[str, str] = field(default_factory=dict)

    @property
    def feature_set_name(self) -> str:
        """The name of the spec (a key of ``features.catalogue.FEATURE_SETS``)."""
        return str(self.spec["name"])

    @property
    def batch_ids(self) -> tuple[str, ...]:
        return tuple(batch.batch_id for batch in self.data_batches)

    @property
    def spec_context(self) -> dict[str, object]:
        """The run context that enters the spec hash (``FeatureSetSpec.spec_hash(**context)``)."""
        area = None if self.area_municipalities is None else list(self.area_municipalities)
        return {"mode": self.mode, "area_municipalities": area, "horizons": list(self.horizons)}

    def to_dict(self) -> dict[str, Any]:
        """The JSON document written as ``spec.json`` (the layout of docs/interfaces.md section 3)."""
        return {
            "version": self.version,
            "spec_hash": self.spec_hash,
            "feature_set": dict(self.spec),
            **self.spec_context,
            "prediction_dates": [d.isoformat() for d in self.prediction_dates],
            "every": self.every,
            "end_of_data": self.end_of_data.isoformat(),
            "labels_mode": self.labels_mode,
            "data_batches": [
                {
                    "batch_id": b.batch_id,
                    "source": b.source,
                    "delivery": b.delivery,
                    "contract_version": b.contract_version,
                }
                for b in self.data_batches
            ],
            "contract_versions": dict(self.contract_versions),
            "columns": list(self.columns),
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, document: Mapping[str, Any], where: str = "manifest") -> FeatureSetManifest:
        """Read a manifest document; raise FeatureSetManifestError naming ``where`` and what is missing."""
        required = (
            "version", "spec_hash", "feature_set", "mode", "area_municipalities", "horizons",
            "prediction_dates", "every", "end_of_data", "labels_mode", "data_batches",
            "contract_versions", "columns", "rows",
        )  # fmt: skip
        missing = [key for key in required if key not in document]
        if missing:
            raise FeatureSetManifestError(
                f"{where} lacks {', '.join(missing)}; it was not written by `tidlig features`. "
                "Rebuild the feature set with `tidlig features`."
            )
        try:
            area = document["area_municipalities"]
            return cls(
                version=str(document["version"]),
                spec_hash=str(document["spec_hash"]),
                spec=dict(document["feature_set"]),
                mode=str(document["mode"]),
                area_municipalities=None if area is None else tuple(str(m) for m in area),
                horizons=tuple(int(h) for h in document["horizons"]),
                prediction_dates=tuple(dt.date.fromisoformat(str(d)) for d in document["prediction_dates"]),
                every=str(document["every"]),
                end_of_data=pd.Timestamp(document["end_of_data"]),
                labels_mode=str(document["labels_mode"]),
                data_batches=tuple(
                    DataBatch(
                        batch_id=str(b["batch_id"]),
                        source=str(b["source"]),
                        delivery=str(b["delivery"]),
                        contract_version=str(b["contract_version"]),
                    )
                    for b in document["data_batches"]
                ),
                contract_versions={str(k): str(v) for k, v in dict(document["contract_versions"]).items()},
                columns=tuple(str(c) for c in document["columns"]),
                rows=int(document["rows"]),
            )
        except (TypeError, KeyError, ValueError) as error:
            raise FeatureSetManifestError(f"{where} holds a malformed field: {error}") from error


def feature_set_version(
    spec_hash: str, prediction_dates: Sequence[dt.date | pd.Timestamp], data_batch_ids: Sequence[str]
) -> str:
    """The version of a feature set: 12 hex characters of a hash of what it was built from."""
    payload = {
        "spec_hash": spec_hash,
        "prediction_dates": sorted(pd.Timestamp(d).date().isoformat() for d in prediction_dates),
        "data_batches": sorted(str(b) for b in data_batch_ids),
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


# ----- writing ------------------------------------------------------------------------------------------


def write_feature_set(
    features_dir: Path,
    manifest: FeatureSetManifest,
    *,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    attrition: pd.DataFrame,
) -> Path:
    """Write ``features_dir/<manifest.version>/`` atomically (temporary folder, then rename), then LATEST.

    A reader sees either the previous complete folder or the new complete one, never a half-written one.
    """
    features_dir = Path(features_dir)
    features_dir.mkdir(parents=True, exist_ok=True)
    version = manifest.version
    target = features_dir / version
    staging = features_dir / f".staging-{version}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        features.to_parquet(staging / FEATURES_FILE, index=False)
        labels.to_parquet(staging / LABELS_FILE, index=False)
        attrition.to_csv(staging / ATTRITION_FILE, index=False, date_format="%Y-%m-%d")
        (staging / MANIFEST_FILE).write_text(
            json.dumps(manifest.to_dict(), indent=2, sort_keys=True, default=str) + "\n"
        )
        for path in staging.iterdir():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
        retired = None
        if target.exists():
            retired = features_dir / f".retired-{version}-{uuid.uuid4().hex[:8]}"
            target.rename(retired)
        staging.rename(target)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    latest_staging = features_dir / f".{LATEST_FILE}-{uuid.uuid4().hex[:8]}"
    latest_staging.write_text(version + "\n")
    latest_staging.replace(features_dir / LATEST_FILE)
    return target


# ----- reading ------------------------------------------------------------------------------------------


def latest_version(features_dir: Path) -> str:
    """The version named by ``features_dir/LATEST``; FeatureSetNotFoundError when none was built."""
    latest = Path(features_dir) / LATEST_FILE
    if not latest.exists():
        raise FeatureSetNotFoundError(
            f"No feature set found: {latest} does not exist. Run `tidlig features` first."
        )
    return latest.read_text().strip()


def feature_set_folder(features_dir: Path, version: str | None = None) -> Path:
    """The folder of ``version`` (default: LATEST), checked to hold its feature table and labels."""
    folder = Path(features_dir) / (version or latest_version(features_dir))
    if not folder.is_dir():
        raise FeatureSetNotFoundError(
            f"Feature set {folder.name} does not exist in {Path(features_dir)}. Rebuild it with "
            "`tidlig features` (with the same spec, dates and data) or retrain with `tidlig train`."
        )
    missing = [name for name in (FEATURES_FILE, LABELS_FILE) if not (folder / name).exists()]
    if missing:
        raise FeatureSetNotFoundError(
            f"Feature set {folder} lacks {', '.join(missing)}; rebuild with `tidlig features`."
        )
    return folder


def read_manifest(features_dir: Path, version: str | None = None) -> FeatureSetManifest:
    """The manifest of ``version`` (default: LATEST)."""
    folder = Path(features_dir) / (version or latest_version(features_dir))
    path = folder / MANIFEST_FILE
    if not path.exists():
        raise FeatureSetNotFoundError(
            f"{path} does not exist; rebuild the feature set with `tidlig features`."
        )
    return FeatureSetManifest.from_dict(json.loads(path.read_text()), where=str(path))


def read_labels(features_dir: Path, version: str) -> pd.DataFrame:
    """The whole label table (small: one row per cohort member and date), ``prediction_date`` as ns."""
    return _with_timestamp(pd.read_parquet(feature_set_folder(features_dir, version) / LABELS_FILE))


def read_attrition(features_dir: Path, version: str) -> pd.DataFrame:
    """The cohort attrition table (counts only): ``prediction_date``, ``rule``, ``removed``, ``remaining``."""
    return pd.read_csv(
        feature_set_folder(features_dir, version) / ATTRITION_FILE, parse_dates=["prediction_date"]
    )


def read_features(
    features_dir: Path,
    version: str,
    *,
    prediction_dates: Sequence[pd.Timestamp] | None = None,
    before: pd.Timestamp | None = None,
    float32: bool = False,
) -> pd.DataFrame:
    """The feature table of ``version``, optionally only the given prediction dates or those before a date.

    Read in batches, each filtered (and, with ``float32``, narrowed) before the next is read, so the peak
    is about the size of the result rather than of the whole file in float64 (docs/decisions.md D11).
    """
    parquet = pq.ParquetFile(feature_set_folder(features_dir, version) / FEATURES_FILE)
    schema = parquet.schema_arrow
    target = pa.schema(
        [f.with_type(pa.float32()) if float32 and pa.types.is_float64(f.type) else f for f in schema]
    )
    date_type = schema.field("prediction_date").type
    wanted = None
    if prediction_dates is not None:
        wanted = pa.array(pd.to_datetime(list(prediction_dates)), pa.timestamp("ns")).cast(date_type)
    cut = None if before is None else pa.scalar(pd.Timestamp(before), pa.timestamp("ns")).cast(date_type)
    batches = []
    for read in parquet.iter_batches(batch_size=_READ_BATCH_ROWS):
        kept = read
        if wanted is not None:
            kept = kept.filter(pc.is_in(kept["prediction_date"], value_set=wanted))
        if cut is not None:
            kept = kept.filter(pc.less(kept["prediction_date"], cut))
        batches.append(kept.cast(target))
    table = pa.Table.from_batches(batches, schema=target)
    return _with_timestamp(table.to_pandas(self_destruct=True, split_blocks=True))


def _with_timestamp(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(prediction_date=pd.to_datetime(frame["prediction_date"]).astype("datetime64[ns]"))


class FeatureColumns:
    """The rows of one feature set dated before a date (all rows when none is), one column at a time.

    A read-only, dict-like view (``name in rows``, ``rows[name]`` as a Series, ``rows.columns``) for code
    that looks at one feature at a time, such as a drift check over 240 features: a million rows of all of
    them as one float64 frame is about 2 GB, one column 8 MB. ``rows[name]`` gives the values
    ``read_features(..., before=before)[name]`` gives (same dtype, same order, a default index).
    """

    def __init__(self, features_dir: Path, version: str, *, before: pd.Timestamp | None = None) -> None:
        self._parquet = pq.ParquetFile(feature_set_folder(features_dir, version) / FEATURES_FILE)
        self.columns = list(self._parquet.schema_arrow.names)
        dates = self._parquet.read(columns=["prediction_date"]).column(0)
        self._kept: pa.ChunkedArray | None = None
        if before is not None:
            cut = pa.scalar(pd.Timestamp(before), pa.timestamp("ns")).cast(dates.type)
            kept = pc.less(dates, cut)
            if pc.any(kept).as_py():  # no row before the date: all rows, as score_flow did before
                self._kept = kept
        self.rows = len(dates) if self._kept is None else int(pc.sum(self._kept).as_py() or 0)

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __len__(self) -> int:
        return self.rows

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self.columns:
            raise KeyError(name)
        column = self._parquet.read(columns=[name]).column(0)
        if self._kept is not None:
            column = pc.filter(column, self._kept)
        frame = pa.table({name: column}).to_pandas()
        if name == "prediction_date":
            frame = _with_timestamp(frame)
        values: pd.Series = frame[name]
        return values
