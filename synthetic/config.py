"""What a synthetic world is asked to be: size, period, seed, municipalities, faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from synthetic.codes import DEFAULT_MUNICIPALITIES, DISTRICTS_PER_MUNICIPALITY

# Citizens are simulated in fixed blocks, each with its own seeded random streams, so a world is the same
# whichever way blocks are grouped into chunks for memory.
BLOCK_SIZE = 10_000


@dataclass(frozen=True)
class WorldConfig:
    """Parameters of one synthetic world.

    ``citizens`` are alive at the start of the history period and aged 60+ on ``start_date``;
    ``history_years`` of burn-in before ``start_date`` are simulated too and delivered with the first
    extracts. ``years`` are simulated after ``start_date``; extracts are made on the first of every month
    from ``start_date`` to ``start_date + years``.
    """

    citizens: int = 2_000
    years: int = 3
    seed: int = 7
    start_date: date = date(2019, 1, 1)
    history_years: int = 2
    municipalities: tuple[str, ...] = DEFAULT_MUNICIPALITIES
    faults: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.citizens < 1:
            raise ValueError("--citizens must be at least 1")
        if self.years < 1 or self.history_years < 0:
            raise ValueError("--years must be at least 1 and the history period cannot be negative")
        if self.start_date.day != 1:
            raise ValueError("--start-date must be the first day of a month (extracts are monthly)")
        unknown = [code for code in self.municipalities if code not in DISTRICTS_PER_MUNICIPALITY]
        if unknown or not self.municipalities:
            raise ValueError(
                "unknown municipality code(s) "
                f"{', '.join(unknown) or '(none given)'}; choose from "
                f"{', '.join(sorted(DISTRICTS_PER_MUNICIPALITY))}"
            )

    @property
    def months(self) -> int:
        """Simulated months, history included."""
        return 12 * (self.history_years + self.years)

    @property
    def history_months(self) -> int:
        return 12 * self.history_years

    @property
    def month_starts(self) -> np.ndarray:
        """First day of each simulated month (``datetime64[D]``), plus the end as the last element."""
        first = np.datetime64(self.start_date, "M") - self.history_months
        return (first + np.arange(self.months + 1)).astype("datetime64[D]")

    @property
    def extract_dates(self) -> np.ndarray:
        """Monthly extract dates from the start date to the end of the simulation, inclusive."""
        return self.month_starts[self.history_months :]

    @property
    def blocks(self) -> int:
        return -(-self.citizens // BLOCK_SIZE)

    def block_range(self, block: int) -> tuple[int, int]:
        """Global citizen indices [first, last) of a block."""
        return block * BLOCK_SIZE, min(self.citizens, (block + 1) * BLOCK_SIZE)

    def rng(self, block: int, stream: int) -> np.random.Generator:
        """The random stream ``stream`` of block ``block``; independent of how blocks are chunked."""
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(block, stream)))
