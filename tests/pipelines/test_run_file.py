"""A run file (TOML) holds the steps' parameters, round-trips to TrainingConfig and ScreeningConfig, and
is what `--run-file` starts from; options on the command line override it."""

import pytest
from click.testing import CliRunner

from models.config import TrainingConfig
from pipelines.cli import cli
from pipelines.errors import InvalidParameterError
from pipelines.parameters import FeaturesParameters, ScoreParameters, TrainParameters
from pipelines.run_file import RunFile
from screening.config import ScreeningConfig

EXAMPLE = """
[features]
feature_set = "repeat-admissions"
every = "quarter"

[train]
outcomes = ["admission"]
search_trials = 4

[score]
capacity = 20
capacity_by_district = { "101-01" = 12 }
"""


def test_a_run_file_reads_into_the_steps_parameter_objects():
    run = RunFile.from_toml(EXAMPLE)
    assert run.features == FeaturesParameters(feature_set="repeat-admissions", every="quarter")
    assert run.train == TrainParameters(outcomes=("admission",), search_trials=4)
    assert run.score == ScoreParameters(capacity=20, capacity_by_district={"101-01": 12})


def test_writing_and_reading_a_run_file_gives_the_same_run():
    run = RunFile.from_toml(EXAMPLE)
    assert RunFile.from_toml(run.to_toml()) == run
    assert RunFile.from_toml(RunFile().to_toml()) == RunFile()


def test_it_round_trips_to_the_training_and_screening_configs():
    training = TrainingConfig(search_trials=3, seed=11, calibration="platt", outcomes=("death",))
    screening = ScreeningConfig(capacity=7, capacity_by_district={"101-02": 2}, dismissed_days=30)
    run = RunFile.from_toml(RunFile.from_configs(training, screening).to_toml())
    assert run.training_config() == training
    assert run.screening_config() == screening


def test_an_unknown_key_is_refused_naming_the_table_and_key():
    with pytest.raises(InvalidParameterError, match=r"\[train\]: unknown key\(s\) trails"):
        RunFile.from_toml("[train]\ntrails = 3\n")


def test_an_unknown_table_is_refused():
    with pytest.raises(InvalidParameterError, match="unknown table"):
        RunFile.from_toml("[scoring]\ncapacity = 3\n")


def test_the_commands_take_a_run_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[train]\ntrials = 3\n")
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "train", "--run-file", str(path)])
    assert result.exit_code == 2
    assert "trials" in result.output
    for command in ("features", "train", "score"):
        assert "--run-file" in CliRunner().invoke(cli, [command, "--help"]).output
