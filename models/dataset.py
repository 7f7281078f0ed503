"""The modelling frame for one outcome: features joined to labels, censored rows set apart explicitly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

KEY_COLUMNS = ("person_key", "prediction_date")
DESCRIPTIVE_COLUMNS = ("municipality", "district")


def feature_columns(features: pd.DataFrame) -> list[str]:
    """Model inputs: every numeric or boolean column except the keys and descriptive columns, in order.

    Any other column (text, category, dates) raises ValueError naming it: a feature table's columns are
    all used or the table is refused, never thinned silently. ``models.estimator.RiskClassifier`` takes
    categorical columns; here, convert or drop them before training.
    """
    skip = set(KEY_COLUMNS) | set(DESCRIPTIVE_COLUMNS)
    names, refused = [], []
    for column in features.columns:
        if column in skip:
            continue
        dtype = features[column].dtype
        if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            names.append(column)
        else:
            refused.append(f"'{column}' ({dtype})")
    if refused:
        raise ValueError(
            f"The feature table has column(s) {', '.join(refused)} that are not numeric or boolean. Encode "
            "them as numbers, drop them before training, or use models.estimator.RiskClassifier, which "
            "takes pandas 'category' columns."
        )
    return names


def as_model_matrix(features: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The float32 matrix LightGBM sees (booleans as 0/1, missing as NaN); raises naming absent columns.

    float32 halves the memory of a float64 matrix. Training and every prediction go through this one
    function, so a model always sees values at the precision it was trained on.
    """
    missing = [name for name in names if name not in features.columns]
    if missing:
        raise KeyError(
            f"The feature frame lacks {len(missing)} model feature(s): {', '.join(missing[:10])}. "
            "Score with the feature set version the model was trained on (see the model card)."
        )
    return features[names].to_numpy(dtype="float32", na_value=np.nan)


@dataclass(frozen=True)
class OutcomeFrame:
    """Rows with an observed label for one target, plus how many censored rows were set apart.

    ``frame`` keeps the keys, descriptive columns, features, ``label`` (0/1 float) and, when the labels
    carry it, ``event_date``. Censored rows (label NaN or ``<target>_censored`` true) are excluded from
    training and evaluation for this target: treating them as negatives would bias risk downwards.
    """

    target: str
    frame: pd.DataFrame
    feature_names: list[str]
    censored_rows: int
    labelled_share_by_date: pd.Series

    def usable_dates(self, min_labelled_share: float) -> list[pd.Timestamp]:
        """Prediction dates where at least this share of rows has an observed label (``usable_dates``)."""
        return usable_dates(self.labelled_share_by_date, min_labelled_share)


def usable_dates(labelled_share_by_date: pd.Series, min_labelled_share: float) -> list[pd.Timestamp]:
    """Prediction dates where at least ``min_labelled_share`` of rows has an observed label.

    Dates near the end of follow-up are mostly censored; keeping their few labelled rows would keep
    mainly early events and bias every metric, so such dates are left out whole.
    """
    share = labelled_share_by_date
    return sorted(share.index[share >= min_labelled_share])


def censored_rows(labels: pd.DataFrame, target: str) -> pd.Series:
    """True where ``target`` is not observed: the label is missing or ``<target>_censored`` is set."""
    censored = labels[target].isna()
    censored_column = f"{target}_censored"
    if censored_column in labels.columns:
        censored |= labels[censored_column].fillna(True).astype(bool)
    return censored


def labelled_share_by_date(labels: pd.DataFrame, target: str) -> pd.Series:
    """Share of rows with an observed ``target`` label, per prediction date (labels alone suffice)."""
    _require_target(labels, target)
    return (~censored_rows(labels, target)).groupby(labels["prediction_date"]).mean()


def _require_target(labels: pd.DataFrame, target: str) -> None:
    if target not in labels.columns:
        raise ValueError(f"labels.parquet has no column '{target}'; rebuild features with this horizon.")


def build_outcome_frame(features: pd.DataFrame, labels: pd.DataFrame, target: str) -> OutcomeFrame:
    """Join features and labels on (person_key, prediction_date) and drop censored rows for ``target``.

    Neither input is modified. Raises ValueError when the label column is absent or keys are duplicated.
    """
    _require_target(labels, target)
    for name, frame in (("features", features), ("labels", labels)):
        if frame.duplicated(list(KEY_COLUMNS)).any():
            raise ValueError(f"The {name} table has duplicate (person_key, prediction_date) keys.")
    names = feature_columns(features)
    label_columns = [target]
    censored_column = f"{target}_censored"
    event_column = f"{target}_event_date"
    for extra in (censored_column, event_column):
        if extra in labels.columns:
            label_columns.append(extra)
    joined = features.merge(labels[[*KEY_COLUMNS, *label_columns]], on=list(KEY_COLUMNS), how="inner")
    censored = censored_rows(joined, target)
    kept = joined.loc[~censored].rename(columns={target: "label", event_column: "event_date"})
    kept = kept.drop(columns=[censored_column], errors="ignore").reset_index(drop=True)
    kept["label"] = kept["label"].astype("float64")
    if not set(kept["label"].unique()) <= {0.0, 1.0}:
        raise ValueError(f"The label column '{target}' must hold 0/1 outcomes (or NaN when censored).")
    return OutcomeFrame(
        target=target,
        frame=kept,
        feature_names=names,
        censored_rows=int(censored.sum()),
        labelled_share_by_date=labelled_share_by_date(joined, target),
    )
