"""A user error is one paragraph saying what is wrong and what to do next: no traceback, printed once,
exit code 2 for a bad option; `tidlig --debug` shows the traceback instead. A missing home is refused,
not created."""

import pytest
from click.testing import CliRunner

from pipelines.cli import cli


def invoke(*arguments):
    return CliRunner().invoke(cli, list(arguments))


def test_a_missing_home_is_refused_and_not_created(tmp_path):
    home = tmp_path / "tidlig-dta"
    result = invoke("--home", str(home), "score")
    assert result.exit_code == 2
    assert "There is no Tidlig home" in result.output
    assert "tidlig synth" in result.output
    assert "Traceback" not in result.output
    assert not home.exists()


def test_a_home_that_is_a_file_is_refused(tmp_path):
    home = tmp_path / "file"
    home.write_text("")
    result = invoke("--home", str(home), "features")
    assert result.exit_code == 2
    assert "is a file" in result.output


def test_help_works_with_any_home(tmp_path):
    result = invoke("--home", str(tmp_path / "nowhere"), "score", "--help")
    assert result.exit_code == 0
    assert "Score every eligible citizen" in result.output


@pytest.mark.parametrize(
    ("arguments", "option"),
    [
        (("features", "--start", "2024/01/01"), "--start"),
        (("features", "--end", "20240101"), "--end"),
        (("features", "--start", "2024-02-30"), "--start"),
        (("score", "--as-of", "next monday"), "--as-of"),
    ],
)
def test_a_badly_written_date_is_refused_with_the_expected_format(tmp_path, arguments, option):
    result = invoke("--home", str(tmp_path), *arguments)
    assert result.exit_code == 2
    assert option in result.output
    assert "YYYY-MM-DD" in result.output
    assert "Traceback" not in result.output
    assert result.output.count("YYYY-MM-DD") == 1  # printed once
    assert not (tmp_path / "prefect").exists()  # refused before Prefect starts


def test_debug_shows_the_traceback_of_a_user_error(tmp_path):
    arguments = ["--home", str(tmp_path), "--debug", "features", "--start", "2024/01/01"]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "InvalidParameterError"
    assert result.exc_info is not None
    assert result.exc_info[2] is not None


def test_a_missing_step_input_is_one_paragraph_naming_the_next_step(tmp_path):
    result = invoke("--home", str(tmp_path), "score", "--as-of", "latest")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("Error:") or "Error:" in result.output
    assert "tidlig features" in result.output
    assert "Traceback" not in result.output
