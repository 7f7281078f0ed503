"""Test-session environment: quiet, offline, and isolated from the user's Prefect and MLflow homes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Set before any test module imports Prefect, MLflow or GX.
_SESSION_HOME = tempfile.mkdtemp(prefix="tidlig-test-")
os.environ.setdefault("PREFECT_HOME", str(Path(_SESSION_HOME) / "prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@pytest.fixture
def postgres_engine():
    """A fresh database on the PostgreSQL server of TIDLIG_TEST_POSTGRES_URL (default the local one),
    dropped afterwards; the test is skipped when no server answers."""
    import uuid

    import sqlalchemy as sa

    base_url = os.environ.get("TIDLIG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception:
        pytest.skip("PostgreSQL is not reachable (set TIDLIG_TEST_POSTGRES_URL to run this variant)")
    name = f"tidlig_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(sa.make_url(base_url).set(database=name))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
