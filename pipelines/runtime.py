"""Process environment for Prefect, MLflow and GX: quiet, offline, and local to the project."""

from __future__ import annotations

import logging
import os

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
