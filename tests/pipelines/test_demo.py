import click
import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.demo import demo_steps

STEPS = demo_steps(citizens=1000, years=5, seed=1, start_date="2019-01-01")


def test_demo_chain_runs_every_layer_in_data_flow_order():
    assert [step.arguments[0] for step in STEPS] == ["synth", "ingest", "features", "train", "score"]


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.arguments[0])
def test_every_demo_step_is_a_valid_command_line(step):
    """Each step's options must parse against the real command, so the demo cannot drift from the CLI."""
    context = click.Context(cli)
    command = cli.get_command(context, step.arguments[0])
    assert command is not None
    command.make_context(step.arguments[0], list(step.arguments[1:]), parent=context)


def test_demo_has_help():
    result = CliRunner().invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0
    assert "--citizens" in result.output
