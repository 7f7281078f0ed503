from click.testing import CliRunner

from pipelines.cli import cli
from tests.synthetic.reading import manifest


def test_synth_has_help_naming_its_options():
    result = CliRunner().invoke(cli, ["synth", "--help"])
    assert result.exit_code == 0
    for option in (
        "--citizens",
        "--years",
        "--seed",
        "--start-date",
        "--municipalities",
        "--out",
        "--faults",
    ):
        assert option in result.output


def test_synth_writes_a_world_into_the_settings_world_dir_and_reports(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            *("--home", str(tmp_path), "--demo", "synth", "--citizens", "400", "--years", "1"),
            *("--workers", "1", "--history-years", "1", "--municipalities", "101,751"),
            *("--faults", "all", "--report"),
        ],
    )
    assert result.exit_code == 0, result.output
    world = tmp_path / "world"
    assert (world / "care.sqlite").exists()
    recorded = manifest(world)
    assert recorded["municipalities"] == ["101", "751"]
    assert recorded["faults"]
    assert "within tolerance" in result.output
    assert "Next: tidlig ingest" in result.output


def test_synth_refuses_unknown_fault_kinds_and_municipalities(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["--home", str(tmp_path), "synth", "--faults", "gremlins"])
    assert result.exit_code != 0
    assert "unknown fault kind" in result.output
    result = runner.invoke(cli, ["--home", str(tmp_path), "synth", "--municipalities", "999"])
    assert result.exit_code != 0
    assert "unknown municipality" in result.output
