"""Small synthetic worlds shared by the tests of one module (generated once per session)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from synthetic.config import WorldConfig
from synthetic.faults import EXPORT_VARIANTS, FAULT_KINDS
from synthetic.world import generate_world

SMALL = WorldConfig(citizens=3_000, years=3, seed=11, start_date=date(2019, 1, 1), history_years=1)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean 3,000-citizen world: one history year (2018, LPR2 shape) and three simulated years."""
    out = tmp_path_factory.mktemp("small-world")
    generate_world(SMALL, out)
    return out


@pytest.fixture(scope="session")
def faulty_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same world with every fault kind and every export variant injected."""
    out = tmp_path_factory.mktemp("faulty-world")
    generate_world(WorldConfig(**{**SMALL.__dict__, "faults": FAULT_KINDS + EXPORT_VARIANTS}), out)
    return out
