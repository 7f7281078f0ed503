"""Fixtures shared by the data-contract tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.settings import Settings
from tests.data_contracts import tiny_world


@pytest.fixture
def world(tmp_path: Path) -> Settings:
    """A fresh tiny world (demo key, research deployment) for a test that breaks it."""
    return tiny_world.write_tiny_world(tmp_path / "home")
