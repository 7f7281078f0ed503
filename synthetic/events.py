"""What a simulated block produces: its citizens and an event log of columns per event kind."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np


@dataclass
class EventLog:
    """Columns of each event kind, appended month by month and joined once at the end."""

    parts: dict[str, list[dict[str, np.ndarray]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, event: str, /, **columns: np.ndarray) -> None:
        lengths = {np.asarray(v).shape[0] for v in columns.values()}
        if lengths != {0}:
            self.parts[event].append({k: np.asarray(v) for k, v in columns.items()})

    def table(self, kind: str) -> dict[str, np.ndarray]:
        """All events of a kind as equal-length column arrays (empty dict if none)."""
        parts = self.parts.get(kind, [])
        if not parts:
            return {}
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


@dataclass
class BlockHistory:
    """One block's citizens and everything that happened to them."""

    block: int
    cpr: np.ndarray
    names: np.ndarray
    birth_date: np.ndarray
    male: np.ndarray
    events: EventLog
    calibration: dict[str, list[list[int]]]
