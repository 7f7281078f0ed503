"""The feature-set store: a typed manifest with one writer and one reader, and a version that
identifies the contents (spec, mode, prediction dates, data batches)."""

import datetime as dt
import json

import pandas as pd
import pytest

from features.store import (
    DataBatch,
    FeatureColumns,
    FeatureSetManifest,
    FeatureSetManifestError,
    FeatureSetNotFoundError,
    feature_set_version,
    latest_version,
    read_features,
    read_manifest,
    write_feature_set,
)

DATES = (dt.date(2023, 1, 1), dt.date(2023, 2, 1))
BATCHES = (DataBatch("b1", "cpr_population", "2023-01-01", "1"),)


def manifest(version="v1", dates=DATES):
    return FeatureSetManifest(
        version=version,
        spec_hash="a" * 64,
        spec={"name": "tidlig-default-v1", "features": []},
        mode="as_known",
        area_municipalities=("101",),
        horizons=(6, 12),
        prediction_dates=dates,
        every="month",
        end_of_data=pd.Timestamp("2023-06-01"),
        data_batches=BATCHES,
        contract_versions={"cpr_population": "1"},
        columns=("person_key", "prediction_date", "age_years"),
        rows=2,
    )


def frame(dates=DATES):
    return pd.DataFrame(
        {"person_key": ["a", "a"], "prediction_date": pd.to_datetime(list(dates)), "age_years": [70.0, 70.1]}
    )


def test_a_rebuild_with_other_dates_gets_another_version():
    first = feature_set_version("a" * 64, DATES, ["b1"])
    assert feature_set_version("a" * 64, DATES[:1], ["b1"]) != first


def test_newer_data_batches_give_another_version_and_the_same_inputs_the_same():
    first = feature_set_version("a" * 64, DATES, ["b1"])
    assert feature_set_version("a" * 64, DATES, ["b1", "b2"]) != first
    assert feature_set_version("a" * 64, tuple(reversed(DATES)), ["b1"]) == first  # order does not matter
    assert feature_set_version("b" * 64, DATES, ["b1"]) != first  # spec, mode, area, horizons


def test_a_rebuild_with_other_dates_leaves_the_set_a_model_names(tmp_path):
    old = feature_set_version("a" * 64, DATES, ["b1"])
    write_feature_set(tmp_path, manifest(old), features=frame(), labels=frame(), attrition=frame())
    new = feature_set_version("a" * 64, DATES[:1], ["b1"])
    write_feature_set(
        tmp_path, manifest(new, DATES[:1]), features=frame()[:1], labels=frame()[:1], attrition=frame()[:1]
    )
    assert latest_version(tmp_path) == new
    assert read_manifest(tmp_path, old).prediction_dates == DATES
    assert len(read_features(tmp_path, old)) == 2


def test_the_manifest_round_trips_through_its_file(tmp_path):
    write_feature_set(tmp_path, manifest(), features=frame(), labels=frame(), attrition=frame())
    assert read_manifest(tmp_path) == manifest()
    assert read_manifest(tmp_path).spec_context == {
        "mode": "as_known",
        "area_municipalities": ["101"],
        "horizons": [6, 12],
    }


def test_a_manifest_missing_a_field_is_refused_naming_the_file_and_field(tmp_path):
    write_feature_set(tmp_path, manifest(), features=frame(), labels=frame(), attrition=frame())
    path = tmp_path / "v1" / "spec.json"
    document = json.loads(path.read_text())
    del document["data_batches"]
    path.write_text(json.dumps(document))
    with pytest.raises(FeatureSetManifestError, match=r"spec\.json lacks data_batches"):
        read_manifest(tmp_path)


def test_without_latest_the_reader_says_to_build_features(tmp_path):
    with pytest.raises(FeatureSetNotFoundError, match="tidlig features"):
        latest_version(tmp_path)


def test_features_can_be_read_for_some_dates_or_before_a_date(tmp_path):
    write_feature_set(tmp_path, manifest(), features=frame(), labels=frame(), attrition=frame())
    february = pd.Timestamp("2023-02-01")
    assert read_features(tmp_path, "v1", prediction_dates=[february])["prediction_date"].tolist() == [
        february
    ]
    assert read_features(tmp_path, "v1", before=february)["prediction_date"].tolist() == [
        pd.Timestamp("2023-01-01")
    ]


def test_feature_columns_give_the_columns_read_features_gives_one_at_a_time(tmp_path):
    dates = (dt.date(2023, 1, 1), dt.date(2023, 2, 1), dt.date(2023, 3, 1))
    rows = pd.DataFrame(
        {
            "person_key": ["a", "b", "a", "b", "a", "b"],
            "prediction_date": pd.to_datetime([d for d in dates for _ in range(2)]),
            "age_years": [70.0, 81.5, 70.1, 81.6, 70.2, None],
        }
    )
    write_feature_set(tmp_path, manifest(dates=dates), features=rows, labels=rows, attrition=rows)
    for before in (pd.Timestamp("2023-03-01"), pd.Timestamp("2023-01-01"), None):
        expected = read_features(tmp_path, "v1", before=before)
        if expected.empty:  # nothing before the date: every row, as the scoring run's reference
            expected = read_features(tmp_path, "v1")
        view = FeatureColumns(tmp_path, "v1", before=before)
        assert len(view) == len(expected)
        assert view.columns == list(expected.columns)
        assert "age_years" in view
        assert "risk" not in view
        for name in expected.columns:
            pd.testing.assert_series_equal(view[name], expected[name].reset_index(drop=True))
    with pytest.raises(KeyError):
        FeatureColumns(tmp_path, "v1")["risk"]
