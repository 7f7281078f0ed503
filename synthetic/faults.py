"""Realistic defects injected into chosen deliveries and care tables, each recorded in the manifest."""

from __future__ import annotations

from pathlib import Path

from synthetic.config import WorldConfig
from synthetic.writers import CareDatabase

FAULT_KINDS: tuple[str, ...] = ()


def inject_faults(
    config: WorldConfig, landing_dir: Path, database: CareDatabase, counts: dict[str, dict[str, int]]
) -> list[dict[str, object]]:
    """Inject the configured faults; return one manifest entry per injected fault."""
    if config.faults:
        raise NotImplementedError("fault injection is not implemented yet")
    return []
