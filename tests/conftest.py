"""Test-session environment: quiet, offline, and isolated from the user's Prefect and MLflow homes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Set before any test module imports Prefect, MLflow or GX.
_SESSION_HOME = tempfile.mkdtemp(prefix="tidlig-test-")
os.environ.setdefault("PREFECT_HOME", str(Path(_SESSION_HOME) / "prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
