"""Matured metrics reach the MLflow run of the model version that made the list (a real SQLite store)."""

import datetime as dt

import pandas as pd
from mlflow import MlflowClient

from monitoring.tracking import log_matured_metrics


def test_matured_metrics_are_logged_against_the_version_that_made_the_list(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("t", artifact_location=(tmp_path / "artifacts").as_uri())
    run = client.create_run(experiment)
    client.create_registered_model("tidlig-admission-12m")
    version = client.create_model_version(
        "tidlig-admission-12m", f"{run.info.artifact_uri}/model", run_id=run.info.run_id
    )
    realised = pd.DataFrame(
        [
            {"list_id": "L1", "maturity": "mature", "district": "101-01", "as_of_date": dt.date(2023, 1, 2),
             "model_version": version.version, "dimension": "overall", "group": "all", "auroc": 0.71,
             "calibration_slope": 0.95, "observed_expected": 1.02, "suppressed": False},
            {"list_id": "L1", "maturity": "mature", "district": "101-01", "as_of_date": dt.date(2023, 1, 2),
             "model_version": version.version, "dimension": "sex", "group": "F", "auroc": 0.7,
             "suppressed": False},
            {"list_id": "L2", "maturity": "partial", "district": "101-02", "as_of_date": dt.date(2023, 7, 3),
             "model_version": version.version, "dimension": "overall", "group": "all", "auroc": None,
             "suppressed": True},
        ]
    )  # fmt: skip
    assert log_matured_metrics(realised, "tidlig-admission-12m", uri) == 3
    history = client.get_metric_history(run.info.run_id, "monitor.mature.auroc.101-01")
    assert [(point.value, point.step) for point in history] == [
        (0.71, (dt.date(2023, 1, 2) - dt.date(1970, 1, 1)).days)
    ]
    assert "monitor.mature.auroc.F" not in client.get_run(run.info.run_id).data.metrics
