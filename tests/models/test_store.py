"""Reading a feature set: only the dates asked for, at the precision the models see."""

import numpy as np
import pandas as pd
import pytest

from models.store import read_feature_set
from tests.models.synthetic_feature_set import write_feature_set


def test_reads_only_the_prediction_dates_asked_for(tmp_path):
    version = write_feature_set(tmp_path, persons=50)
    everything = read_feature_set(tmp_path / "features")
    wanted = sorted(everything.features["prediction_date"].unique())[2:5]

    part = read_feature_set(tmp_path / "features", version, dates_from_labels=lambda labels: wanted)

    assert sorted(part.features["prediction_date"].unique()) == wanted
    assert len(part.features) == 3 * 50
    assert len(part.labels) == len(everything.labels), "labels are always read whole"


def test_feature_values_are_float32_and_keys_untouched(tmp_path):
    version = write_feature_set(tmp_path, persons=20)
    on_disk = pd.read_parquet(tmp_path / "features" / version / "features.parquet")

    features = read_feature_set(tmp_path / "features").features

    assert features["hfrs_score_0_to_730d"].dtype == np.float32
    np.testing.assert_allclose(features["hfrs_score_0_to_730d"], on_disk["hfrs_score_0_to_730d"], rtol=1e-6)
    assert features["prediction_date"].dtype == "datetime64[ns]"
    assert features["person_key"].tolist() == on_disk["person_key"].tolist()
    assert features["district"].tolist() == on_disk["district"].tolist()


def test_dates_are_chosen_from_the_labels_read_once(tmp_path):
    write_feature_set(tmp_path, persons=20)
    seen = []

    def last_date(labels):
        seen.append(len(labels))
        return [labels["prediction_date"].max()]

    part = read_feature_set(tmp_path / "features", dates_from_labels=last_date)

    assert seen == [len(part.labels)]
    assert part.features["prediction_date"].unique().tolist() == [part.labels["prediction_date"].max()]


def test_a_feature_set_without_its_feature_table_is_refused_by_name(tmp_path):
    version = write_feature_set(tmp_path, persons=20)
    (tmp_path / "features" / version / "features.parquet").unlink()

    with pytest.raises(FileNotFoundError, match=r"features\.parquet"):
        read_feature_set(tmp_path / "features")


def test_a_date_absent_from_the_set_reads_no_rows(tmp_path):
    write_feature_set(tmp_path, persons=20)

    part = read_feature_set(tmp_path / "features", dates_from_labels=lambda _: [pd.Timestamp("1999-01-01")])

    assert part.features.empty
