"""Process environment for Prefect, MLflow and GX: quiet, offline, and local to the project."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from pipelines.settings import Settings

QUIET_ENVIRONMENT = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    # ...but the run loggers at INFO: the steps' progress and reasons (pipelines.progress) reach the
    # Prefect UI and the terminal.
    "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL": "INFO",
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "INFO",
    # The ephemeral server starts in 4-10 s on an idle machine; on a busy 2-core one it can pass the
    # default 20 s and fail the whole flow.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}


def prepare_environment(settings: Settings) -> None:
    """Set the environment variables every Tidlig process needs before Prefect or MLflow is imported.

    Values the user already set win, so a real Prefect server or MLflow server can be given by URL. The
    home is made 0700 (``privacy.files.private_home``; the `tidlig` command also sets umask 077).
    """
    from privacy.files import private_home

    private_home(settings.home)
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    # Prefect reads the run loggers' level when it configures logging; in a process that imported it
    # already (a notebook, a test session) set them here too, to the same (possibly user-given) value.
    for logger in ("flow_runs", "task_runs"):
        level = os.environ[f"PREFECT_LOGGING_LOGGERS_PREFECT_{logger.upper()}_LEVEL"]
        logging.getLogger(f"prefect.{logger}").setLevel(level)
    os.environ.setdefault("MLFLOW_TRACKING_URI", str(settings.mlflow_tracking_uri))


class SharedPrefectServer:
    """One temporary Prefect API server for a chain of step processes (``tidlig demo``), started in the
    background while the first step runs.

    Without it every step process starts Prefect's ephemeral server of its own, about 10-15 s each on this
    2-core machine (decision D149). The server is Prefect's own (``SubprocessASGIServer``, what ephemeral
    mode runs), on the home's Prefect database, so the runs land where the steps' own servers would put
    them. A user's ``PREFECT_API_URL`` wins: then nothing is started and that server is used.
    """

    def __init__(self, settings: Settings) -> None:
        self._given = os.environ.get("PREFECT_API_URL")
        self._server: Any = None
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        if self._given is None:
            prepare_environment(settings)  # PREFECT_HOME is the home's before Prefect reads its settings
            self._thread = threading.Thread(target=self._start, name="prefect-server", daemon=True)
            self._thread.start()

    def _start(self) -> None:
        try:
            from prefect.server.api.server import SubprocessASGIServer
            from prefect.settings import PREFECT_HOME, temporary_settings

            # Prefect keeps one server object per port; without a port of its own this would be the
            # ephemeral server a process that ran a flow in-process already has (a test session), with
            # that process's database, and stop() would stop it.
            server = SubprocessASGIServer(port=_free_port())
            self._server = server
            # The server process takes Prefect's settings as this thread sees them: in a process that
            # loaded them before prepare_environment (a notebook, a test session) the home is set here.
            with temporary_settings(updates={PREFECT_HOME: os.environ["PREFECT_HOME"]}):
                server.start(timeout=int(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))
        except Exception as error:  # the steps then start their own, as without this
            self._failure = error

    def api_url(self) -> str | None:
        """The server's API address once it answers (waits for it), or None when it could not start (each
        step then starts its own ephemeral server); the reason is in :attr:`failure`."""
        if self._given is not None:
            return self._given
        if self._thread is not None:
            self._thread.join()
        if self._failure is not None or self._server is None:
            return None
        return str(self._server.api_url)

    @property
    def failure(self) -> BaseException | None:
        return self._failure

    def stop(self) -> None:
        """Stop the server this object started (a user's server is left alone)."""
        if self._thread is not None:
            self._thread.join()
        if self._server is not None:
            self._server.stop()
            self._server = None


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the operating system's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
