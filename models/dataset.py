"""The modelling frame for one outcome: features joined to labels, censored rows set apart explicitly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.labels import FOLLOW_UP_END
from models.censoring import STRATUM_COLUMNS, CensoringWeights, censoring_weights, horizon_months_of
from models.config import Censoring

KEY_COLUMNS = ("person_key", "prediction_date")
DESCRIPTIVE_COLUMNS = ("municipality", "district")
WEIGHT_COLUMN = "sample_weight"


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


def row_weights(rows: pd.DataFrame) -> np.ndarray | None:
    """The rows' censoring weights (``WEIGHT_COLUMN``), or None where every weight is 1 (censoring
    'exclude', or a frame without the column): unweighted fits and rates stay exactly as before."""
    if WEIGHT_COLUMN not in rows.columns:
        return None
    weights = rows[WEIGHT_COLUMN].to_numpy(dtype="float64")
    return None if np.all(weights == 1.0) else weights


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

    ``frame`` keeps the keys, descriptive columns, features, ``label`` (0/1 float), ``sample_weight``
    and, when the labels carry it, ``event_date``. Censored rows (label NaN or ``<target>_censored``
    true) are excluded from training and evaluation for this target: treating them as negatives would
    bias risk downwards. ``censoring`` says how the rest are weighted: 'ipcw' (``sample_weight`` from
    ``models.censoring``, whose estimate ``weighting`` describes) or 'exclude' (every weight 1).
    """

    target: str
    frame: pd.DataFrame
    feature_names: list[str]
    censored_rows: int
    labelled_share_by_date: pd.Series
    censoring: str = "exclude"
    weighting: CensoringWeights | None = None

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


def censoring_method(labels: pd.DataFrame, target: str, censoring: Censoring) -> str:
    """'ipcw' or 'exclude' for the requested ``censoring`` on these labels ('auto': IPCW when the labels
    carry ``follow_up_end`` and the target names its horizon, ``<outcome>_<h>m``)."""
    if censoring not in ("auto", "exclude", "ipcw"):
        raise ValueError(f"Unknown censoring method {censoring!r}; use 'auto', 'exclude' or 'ipcw'.")
    if censoring != "auto":
        return censoring
    weighable = FOLLOW_UP_END in labels.columns and f"{target}_censored" in labels.columns
    return "ipcw" if weighable and horizon_months_of(target) is not None else "exclude"


def build_outcome_frame(
    features: pd.DataFrame, labels: pd.DataFrame, target: str, censoring: Censoring = "auto"
) -> OutcomeFrame:
    """Join features and labels on (person_key, prediction_date), drop censored rows for ``target`` and
    weight the rest as ``censoring`` says (see ``censoring_method``).

    Neither input is modified. Raises ValueError when the label column is absent, keys are duplicated,
    or 'ipcw' is asked of labels that cannot carry it.
    """
    _require_target(labels, target)
    for name, frame in (("features", features), ("labels", labels)):
        if frame.duplicated(list(KEY_COLUMNS)).any():
            raise ValueError(f"The {name} table has duplicate (person_key, prediction_date) keys.")
    if WEIGHT_COLUMN in features.columns:
        raise ValueError(
            f"The feature table has a column '{WEIGHT_COLUMN}', a name training keeps for itself; rename it."
        )
    names = feature_columns(features)
    method = censoring_method(labels, target, censoring)
    horizon = horizon_months_of(target)
    if method == "ipcw" and horizon is None:
        raise ValueError(
            f"Censoring weights need the horizon in the target's name ('<outcome>_<h>m'); '{target}' has "
            "none. Train it with censoring 'exclude'."
        )
    label_columns = [target]
    censored_column = f"{target}_censored"
    event_column = f"{target}_event_date"
    weighting_columns: tuple[str, ...] = ()
    if method == "ipcw":
        weighting_columns = (FOLLOW_UP_END, f"{target}_competing_death", f"death_{horizon}m_event_date")
    extras = [censored_column, event_column, *weighting_columns]
    label_columns += [extra for extra in dict.fromkeys(extras) if extra in labels.columns and extra != target]
    # The weights are estimated on a narrow join (keys, stratum columns, labels) and then joined to the
    # features with the labels, so the wide feature frame is joined once and never widened in place.
    strata = [column for column in STRATUM_COLUMNS if column in features.columns]
    narrow = features[[*KEY_COLUMNS, *strata]].merge(
        labels[[*KEY_COLUMNS, *label_columns]], on=list(KEY_COLUMNS), how="inner"
    )
    weighting = None
    weights = np.ones(len(narrow))
    if method == "ipcw":
        weighting = censoring_weights(narrow, target, int(horizon))  # type: ignore[arg-type]
        weights = weighting.weights
    label_part = narrow.drop(columns=strata).assign(**{WEIGHT_COLUMN: weights})
    joined = features.merge(label_part, on=list(KEY_COLUMNS), how="inner")
    censored = censored_rows(joined, target)
    kept = joined.loc[~censored].rename(columns={target: "label", event_column: "event_date"})
    dropped = [censored_column, *(c for c in weighting_columns if c in label_columns)]
    kept = kept.drop(columns=dropped, errors="ignore").reset_index(drop=True)
    kept["label"] = kept["label"].astype("float64")
    if not set(kept["label"].unique()) <= {0.0, 1.0}:
        raise ValueError(f"The label column '{target}' must hold 0/1 outcomes (or NaN when censored).")
    return OutcomeFrame(
        target=target,
        frame=kept,
        feature_names=names,
        censored_rows=int(censored.sum()),
        labelled_share_by_date=labelled_share_by_date(joined, target),
        censoring=method,
        weighting=weighting,
    )
