"""`tidlig serve`: the three schedules, and clear instructions when no Prefect server is reachable."""

import os
from dataclasses import asdict

import pytest
from click.testing import CliRunner

from pipelines import serve
from pipelines.cli import cli
from pipelines.parameters import MonitorParameters, ScoreParameters
from pipelines.settings import Settings


@pytest.fixture(autouse=True)
def restored_environment():
    """Keep whatever `tidlig serve` sets in the environment (PREFECT_HOME, ...) out of other tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_without_a_prefect_server_it_says_how_to_start_one_and_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(serve, "api_url", lambda: None)
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "serve"])
    assert result.exit_code != 0
    assert "prefect server start" in result.output
    assert "PREFECT_API_URL" in result.output


def test_an_unreachable_server_is_named_with_the_same_instructions(tmp_path, monkeypatch):
    monkeypatch.setattr(serve, "api_url", lambda: "http://127.0.0.1:9/api")
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "serve"])
    assert result.exit_code != 0
    assert "does not answer" in result.output
    assert "prefect server start" in result.output


def test_check_lists_the_schedules_without_serving(tmp_path, monkeypatch):
    monkeypatch.setattr(serve, "api_url", lambda: "http://127.0.0.1:4200/api")
    monkeypatch.setattr(serve, "server_is_healthy", lambda url: True)
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "serve", "--check"])
    assert result.exit_code == 0, result.output
    assert "weekly-score" in result.output
    assert "0 5 * * 1" in result.output
    assert "Europe/Copenhagen" in result.output


def test_deployments_are_nightly_ingest_weekly_score_and_monitor_on_monday_and_monthly_retrain(tmp_path):
    settings = Settings(home=tmp_path, demo=True)
    deployments = {
        d.name: d for d in serve.build_deployments(settings.reference(), score=ScoreParameters(capacity=12))
    }
    assert set(deployments) == {"nightly-ingest", "weekly-score", "weekly-monitor", "monthly-retrain"}
    crons = {name: d.schedules[0].schedule for name, d in deployments.items()}
    assert crons["weekly-score"].cron == "0 5 * * 1"
    assert crons["weekly-monitor"].cron == "0 6 * * 1"  # Monday, an hour after the lists are published
    assert crons["nightly-ingest"].cron == "0 2 * * *"
    assert crons["monthly-retrain"].cron == "0 3 1 * *"
    assert {schedule.timezone for schedule in crons.values()} == {"Europe/Copenhagen"}
    weekly = deployments["weekly-score"].parameters
    assert weekly["parameters"]["capacity"] == 12
    assert weekly["parameters"] == asdict(ScoreParameters(capacity=12))  # every option of `tidlig score`
    for deployment in deployments.values():  # the home, the demo flag and the cluster, never the key
        assert deployment.parameters["settings"] == {"home": str(tmp_path), "demo": True, "cluster": None}
    assert deployments["weekly-score"].entrypoint.endswith("scheduled_flows.py:weekly_score")


def test_serve_has_help():
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    assert "Monday" in result.output or "Mon 05:00" in result.output


def test_every_deployment_accepts_its_stored_parameters(tmp_path):
    """What a deployment stores (JSON) validates back into the flow's parameter objects."""
    import pipelines.scheduled_flows as flows
    from pipelines.settings import SettingsReference

    for schedule, deployment in zip(
        serve.SCHEDULES, serve.build_deployments(Settings(home=tmp_path).reference()), strict=True
    ):
        flow = getattr(flows, schedule.flow_attribute)
        validated = flow.validate_parameters(deployment.parameters)
        assert validated["settings"] == SettingsReference(home=str(tmp_path), demo=False)
        if schedule.flow_attribute == "weekly_score":
            assert validated["parameters"] == ScoreParameters()
        if schedule.flow_attribute == "weekly_monitor":
            assert validated["parameters"] == MonitorParameters()


def test_the_monitor_deployment_round_trips_every_option(tmp_path):
    import pipelines.scheduled_flows as flows

    chosen = MonitorParameters(as_of="2024-03-04", simulations=50, seed=3, alert_on_partial=True)
    deployments = {
        d.name: d for d in serve.build_deployments(Settings(home=tmp_path).reference(), monitor=chosen)
    }
    stored = deployments["weekly-monitor"].parameters
    assert stored["parameters"] == asdict(chosen)
    assert flows.weekly_monitor.validate_parameters(stored)["parameters"] == chosen
    assert deployments["weekly-monitor"].entrypoint.endswith("scheduled_flows.py:weekly_monitor")
