"""One Prefect server for a chain of step processes: the steps' flow runs land in it; a server the user gave
by URL is used and left alone."""

import os
import subprocess
import sys

import httpx
import pytest

from pipelines.runtime import SharedPrefectServer
from pipelines.settings import Settings

A_STEP = """
from prefect import flow

@flow(name="a-demo-step")
def step():
    return 1

step()
"""


@pytest.fixture
def environment_kept():
    """The server sets PREFECT_HOME, MLFLOW_TRACKING_URI etc. for its home; later tests must not see them."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.slow
@pytest.mark.usefixtures("environment_kept")
def test_a_step_process_reports_its_flow_run_to_the_shared_server(tmp_path):
    from prefect import flow

    @flow(name="an-earlier-flow-in-this-process")
    def earlier():
        return 1

    earlier()  # as in a test session: Prefect loaded with another home, and its ephemeral server running
    for name in ("PREFECT_API_URL", "PREFECT_HOME"):
        os.environ.pop(name, None)
    settings = Settings(home=tmp_path / "home", demo=True)
    server = SharedPrefectServer(settings)
    try:
        url = server.api_url()
        assert url is not None, server.failure
        before = len(httpx.post(f"{url}/flow_runs/filter", json={}).json())
        environment = os.environ | {"PREFECT_API_URL": url}
        completed = subprocess.run(
            [sys.executable, "-c", A_STEP], env=environment, capture_output=True, text=True, check=False
        )
        assert completed.returncode == 0, completed.stderr
        runs = httpx.post(f"{url}/flow_runs/filter", json={}).json()
        assert before == 0  # a server of its own, not one this process had already
        assert [run["state_type"] for run in runs] == ["COMPLETED"]
        assert (settings.home / "prefect" / "prefect.db").exists()  # on the home given
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health")


def test_a_server_given_by_url_is_used_and_nothing_is_started(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    server = SharedPrefectServer(Settings(home=tmp_path / "home", demo=True))
    assert server.api_url() == "http://127.0.0.1:4200/api"
    server.stop()  # nothing to stop, and the user's server is not touched
    assert not (tmp_path / "home").exists()
    assert server.failure is None
