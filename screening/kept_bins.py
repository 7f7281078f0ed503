"""The drift check's reference bins, kept in the home between scoring runs (docs/decisions.md D143).

Binning a champion's reference (its feature set's rows before the date: a million rows of 240 features at
60,000 citizens) is most of the drift check's cost, and it gives the same bins on every run that compares
the same feature with the same reference dates. So the bins (:class:`screening.drift.ReferenceBins`: edges
or distinct values, and a count per bin; no rows) are written once per feature set version and per set of
reference dates the comparable-date rule chose, and read back by later runs:

``<home>/drift_reference/<feature set version>/<digest of the dates>.json``

A file is used only while the feature table it was made from is the same file (its size and modification
time); otherwise it is made again. The rule itself is not part of the key: what it chose (the dates) is,
so a changed rule picks other dates and other files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from screening.drift import ReferenceBins

FORMAT = 1
FOLDER = "drift_reference"


def features_file_stamp(features_file: Path) -> dict[str, int]:
    """What says the feature table is the one the bins were made from: its size and modification time."""
    status = Path(features_file).stat()
    return {"bytes": status.st_size, "mtime_ns": status.st_mtime_ns}


class KeptReferenceBins:
    """:class:`screening.drift.KeptBins` in files under ``folder`` (``<home>/drift_reference/<version>``),
    for the feature table ``features_file``; read on first use, written by :meth:`save`."""

    def __init__(self, folder: Path, version: str, features_file: Path) -> None:
        self.folder = Path(folder)
        self.version = version
        self.stamp = features_file_stamp(features_file)
        self._sets: dict[tuple[dt.date, ...], dict[str, ReferenceBins]] = {}
        self._changed: set[tuple[dt.date, ...]] = set()

    def path_for(self, dates: tuple[dt.date, ...]) -> Path:
        text = ",".join(day.isoformat() for day in dates)
        return self.folder / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"

    def get(self, feature: str, dates: tuple[dt.date, ...]) -> ReferenceBins | None:
        return self._set(dates).get(feature)

    def put(self, feature: str, dates: tuple[dt.date, ...], bins: ReferenceBins) -> None:
        self._set(dates)[feature] = bins
        self._changed.add(dates)

    def save(self) -> None:
        """Write every set of bins that gained a feature (each file by atomic rename, 0600)."""
        from screening.exports import write_atomic

        for dates in sorted(self._changed):
            document = {
                "format": FORMAT,
                "feature_set_version": self.version,
                "features_file": self.stamp,
                "dates": [day.isoformat() for day in dates],
                "bins": {name: _bins_document(bins) for name, bins in sorted(self._sets[dates].items())},
            }
            write_atomic(self.path_for(dates), json.dumps(document, sort_keys=True) + "\n")
        self._changed.clear()

    def _set(self, dates: tuple[dt.date, ...]) -> dict[str, ReferenceBins]:
        if dates not in self._sets:
            self._sets[dates] = self._read(dates)
        return self._sets[dates]

    def _read(self, dates: tuple[dt.date, ...]) -> dict[str, ReferenceBins]:
        """The kept bins for ``dates``; none when there is no file, or it was made from another table."""
        path = self.path_for(dates)
        if not path.exists():
            return {}
        document = json.loads(path.read_text())
        same = (
            document.get("format") == FORMAT
            and document.get("feature_set_version") == self.version
            and document.get("features_file") == self.stamp
            and document.get("dates") == [day.isoformat() for day in dates]
        )
        return {name: _bins_from(entry) for name, entry in document["bins"].items()} if same else {}


def _bins_document(bins: ReferenceBins) -> dict[str, Any]:
    # counts are whole numbers; floats are written as repr, which reads back to the same float64
    return {
        "counts": [int(count) for count in bins.counts],
        "distinct": None if bins.distinct is None else bins.distinct.tolist(),
        "edges": None if bins.edges is None else bins.edges.tolist(),
    }


def _bins_from(entry: dict[str, Any]) -> ReferenceBins:
    return ReferenceBins(
        counts=np.asarray(entry["counts"], dtype=float),
        distinct=None if entry["distinct"] is None else np.asarray(entry["distinct"], dtype=float),
        edges=None if entry["edges"] is None else np.asarray(entry["edges"], dtype=float),
    )
