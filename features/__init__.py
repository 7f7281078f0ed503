"""features layer (see DEVELOPERS.md and docs/features.md): point-in-time features, clinical scores,
cohorts and outcome labels. No Prefect and no I/O beyond the DuckDB connection it is given."""

from features.catalogue import default_feature_set
from features.cohort import Cohort, build_cohort
from features.engine import ENGINES, build_feature_table
from features.labels import build_labels, label_column_names
from features.prediction_dates import choose_prediction_dates
from features.spec import (
    DerivedFeatureSpec,
    FeatureSetSpec,
    FeatureSpec,
    FeatureSpecError,
    RowFilter,
    ScoreFeatureSpec,
    Window,
)

__all__ = [
    "ENGINES",
    "Cohort",
    "DerivedFeatureSpec",
    "FeatureSetSpec",
    "FeatureSpec",
    "FeatureSpecError",
    "RowFilter",
    "ScoreFeatureSpec",
    "Window",
    "build_cohort",
    "build_feature_table",
    "build_labels",
    "choose_prediction_dates",
    "default_feature_set",
    "label_column_names",
]
