"""Running `tidlig` commands in-process, as an analyst would type them, for tests of whole chains."""

from click.testing import CliRunner

from pipelines.cli import cli


def run_step(home, *arguments):
    """Run ``tidlig --home <home> --demo <arguments>``; fail the test with its output unless it succeeds."""
    result = CliRunner().invoke(cli, ["--home", str(home), "--demo", *arguments], catch_exceptions=False)
    assert result.exit_code == 0, f"`tidlig {' '.join(arguments)}` failed:\n{result.output}"
    return result.output
