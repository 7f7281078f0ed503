"""`tidlig features`: the command, the flow on a tiny landed warehouse, and the atomic version folder."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from features import default_feature_set, label_column_names
from features.store import FeatureSetManifest, feature_set_version, read_manifest, write_feature_set
from pipelines.cli import cli
from pipelines.features_flow import attrition_markdown, default_date_range
from privacy import attrition_text
from tests.features.conftest import bitemporal_frame, frame_from_csv
from warehouse import BatchRecord, Warehouse

TABLES = {
    "population": """
        person_key,birth_date,sex,status,municipality,district,civil_status,household_size,spell_start,spell_end,_delivered_at
        p1,1940-01-01,F,01,101,101-01,E,1,2010-01-01,,2021-01-01
        p2,1950-01-01,M,01,101,101-02,G,2,2010-01-01,,2021-01-01
        p3,1980-01-01,M,01,101,101-02,G,2,2010-01-01,,2021-01-01
        """,
    "hospital_contacts": """
        person_key,contact_id,contact_start,contact_end,contact_type,priority,action_diagnosis,responsible_unit,lpr_version,_delivered_at
        p1,c1,2021-11-01T10:00,2021-11-03T10:00,physical,acute,DI500,u1,LPR3,2021-12-01
        p2,c2,2022-05-01T10:00,2022-05-04T10:00,physical,acute,DJ441,u1,LPR3,2022-06-01
        """,
    "deaths": """
        person_key,death_date,cause_icd10_sks,_delivered_at
        p1,2022-08-01,,2022-09-01
        """,
}


def land_tiny_warehouse(warehouse_dir: Path) -> None:
    store = Warehouse(warehouse_dir)
    for number, (table, text) in enumerate(TABLES.items()):
        frame = bitemporal_frame(table, frame_from_csv(text))
        store.land_batch(
            frame,
            BatchRecord(
                batch_id=f"batch-{number}",
                source=table,
                delivery="2022-12-01",
                content_sha256=hashlib.sha256(text.encode()).hexdigest(),
                rows=len(frame),
                contract_version="test-1",
                delivered_at=pd.Timestamp("2022-12-01"),
                ingested_at=pd.Timestamp("2022-12-02"),
                status="landed",
                table_name=table,
            ),
        )


@pytest.mark.slow
def test_features_command_writes_a_versioned_feature_set(tmp_path):
    home = tmp_path / "home"
    land_tiny_warehouse(home / "warehouse")
    result = CliRunner().invoke(
        cli,
        ["--home", str(home), "--demo", "features", "--start", "2022-01-01", "--end", "2022-03-01"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    features_dir = home / "features"
    version = (features_dir / "LATEST").read_text().strip()
    folder = features_dir / version
    features = pd.read_parquet(folder / "features.parquet")
    labels = pd.read_parquet(folder / "labels.parquet")
    attrition = pd.read_csv(folder / "attrition.csv")
    spec = json.loads((folder / "spec.json").read_text())
    manifest = read_manifest(features_dir, version)
    # the version identifies the contents: spec hash, prediction dates and the batches read
    assert version == feature_set_version(manifest.spec_hash, manifest.prediction_dates, manifest.batch_ids)
    assert spec["mode"] == "as_known"
    assert {b["batch_id"] for b in spec["data_batches"]} == {"batch-0", "batch-1", "batch-2"}
    assert len(features) == 6  # p1 and p2 at three monthly dates; p3 is under 65
    assert list(features.columns[7:]) == list(default_feature_set().column_names())
    assert list(labels.columns[2:]) == list(label_column_names())
    assert set(attrition["rule"]) >= {"registered", "aged_65_or_over", "alive"}
    assert "tidlig train" in result.output


def test_features_command_without_a_warehouse_says_to_ingest(tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "--demo", "features"])
    assert result.exit_code != 0
    assert "tidlig ingest" in result.output


def test_features_command_has_help():
    result = CliRunner().invoke(cli, ["features", "--help"])
    assert result.exit_code == 0
    assert "--every" in result.output
    assert "--mode" in result.output
    assert "--feature-set" in result.output


def test_an_unknown_feature_set_is_a_usage_error_naming_the_known_ones(tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "--demo", "features", "--feature-set", "nope"])
    assert result.exit_code == 2
    assert "default" in result.output


def manifest_for(version: str, rows: int = 1) -> FeatureSetManifest:
    return FeatureSetManifest(
        version=version,
        spec_hash="0" * 64,
        spec={"name": "test", "features": []},
        mode="as_known",
        area_municipalities=None,
        horizons=(6, 12),
        prediction_dates=(pd.Timestamp("2023-01-01").date(),),
        every="month",
        end_of_data=pd.Timestamp("2023-06-01"),
        data_batches=(),
        columns=("person_key",),
        rows=rows,
    )


def test_writing_a_version_replaces_the_folder_and_points_latest_at_it(tmp_path):
    frame = pd.DataFrame({"person_key": ["a"], "prediction_date": [pd.Timestamp("2023-01-01")]})
    attrition = pd.DataFrame(
        {
            "prediction_date": [pd.Timestamp("2023-01-01")],
            "rule": ["registered"],
            "removed": [0],
            "remaining": [1],
        }
    )
    for rows in (1, 2):
        write_feature_set(
            tmp_path,
            manifest_for("abc123", rows),
            features=pd.concat([frame] * rows),
            labels=frame,
            attrition=attrition,
        )
    assert (tmp_path / "LATEST").read_text().strip() == "abc123"
    assert len(pd.read_parquet(tmp_path / "abc123" / "features.parquet")) == 2
    assert read_manifest(tmp_path).rows == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_failed_write_leaves_the_previous_version_intact(tmp_path):
    frame = pd.DataFrame({"person_key": ["a"]})
    write_feature_set(tmp_path, manifest_for("v1"), features=frame, labels=frame, attrition=frame)

    unwritable = pd.DataFrame({"person_key": [object()]})  # parquet cannot store a bare object
    with pytest.raises((TypeError, ValueError)):
        write_feature_set(tmp_path, manifest_for("v1"), features=unwritable, labels=frame, attrition=frame)
    assert (tmp_path / "v1" / "features.parquet").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".staging")] == []


def test_default_dates_run_from_when_every_source_delivered_to_the_latest_delivery_month():
    start, end = default_date_range(pd.Timestamp("2019-01-01"), pd.Timestamp("2023-12-15"))
    assert (start, end) == ("2019-01-01", "2023-12-01")
    start, end = default_date_range(pd.Timestamp("2019-01-08"), pd.Timestamp("2019-01-20"))
    assert (start, end) == ("2019-01-01", "2019-01-01")  # never after the end


def test_small_attrition_counts_are_suppressed():
    attrition = pd.DataFrame({"rule": ["a", "b", "c"], "removed": [0, 3, 12], "remaining": [4, 5, 100]})
    shown = attrition_text(attrition)
    assert list(shown["removed"]) == ["0", "<5", "12"]
    assert list(shown["remaining"]) == ["<5", "5", "100"]


def test_the_attrition_artifact_withholds_a_count_that_subtraction_would_give_away():
    attrition = pd.DataFrame(
        {
            "prediction_date": pd.Timestamp("2024-01-01"),
            "rule": ["population", "aged 65+", "resident", "not in nursing home"],
            "removed": [0, 400, 3, 97],
            "remaining": [1000, 600, 597, 500],
        }
    )
    markdown = attrition_markdown(attrition)
    assert "| resident | <5 |" in markdown
    # 597 shown beside 600 would give the 3 away: one of them is withheld as its complement
    assert not ("| 600 |" in markdown and "| 597 |" in markdown)
