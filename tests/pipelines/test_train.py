"""`tidlig train` end to end on a small synthetic feature set: three registered models, gated champions."""

import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.run_file import RunFile
from tests.models.synthetic_feature_set import write_feature_set


def test_train_help_lists_the_search_options():
    result = CliRunner().invoke(cli, ["train", "--help"])
    assert result.exit_code == 0
    assert "--trials" in result.output
    assert "--no-oracle" in result.output
    assert "--censoring [auto|exclude|ipcw]" in result.output


def test_the_censoring_choice_reaches_the_training_config():
    from pipelines.parameters import TrainParameters

    assert TrainParameters().training_config().censoring == "auto"
    assert TrainParameters(censoring="exclude").training_config().censoring == "exclude"


def test_train_without_features_says_to_build_them(tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "--demo", "train"])
    assert result.exit_code != 0
    assert "tidlig features" in result.output


@pytest.mark.slow
def test_train_registers_three_models_and_moves_champion_only_through_the_gate(tmp_path, monkeypatch):
    import mlflow

    import models

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # The command exports these for its flow; set them here so they are restored after the test.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    write_feature_set(tmp_path, persons=1000)
    arguments = [
        "--home",
        str(tmp_path),
        "--demo",
        "train",
        "--trials",
        "1",
        "--max-rounds",
        "80",
        "--bootstrap",
        "5",
    ]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    assert "Registered 3 model(s)" in result.output
    client = mlflow.MlflowClient(uri)
    for outcome in ("admission", "death", "frailty"):
        name = f"tidlig-{outcome}-12m"
        version = client.get_model_version(name, "1")
        promoted = version.tags["gate_decision"] == "promote"
        assert ("champion" in client.get_registered_model(name).aliases) == promoted
        if promoted:
            assert models.load_champion(outcome, uri).feature_set_version == "abc123def456"
    runs = mlflow.search_runs(experiment_names=["tidlig-training"], output_format="list")
    assert {run.data.params["split_horizon_months"] for run in runs} == {"12"}
    assert all(run.data.metrics["oracle_auroc"] > 0.6 for run in runs)
    for run in runs:  # each run carries the run file that repeats it
        logged = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/run.toml")
        assert RunFile.from_toml(logged).train.search_trials == 1
