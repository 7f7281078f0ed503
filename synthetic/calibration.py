"""Calibration of the world to Danish rates by age band: targets, tolerances, tallies and the report.

Rates are tallied inside the simulation on yearly cohorts: on each 1 January after the start date (with a
full year left to simulate), every resident aged 65+ is placed in an age band. Prevalences are measured
on that day; yearly risks count the cohort members with at least one event in the following 12 months.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BANDS: tuple[str, ...] = ("65-74", "75-84", "85+")
BAND_LOWER = np.array([65.0, 75.0, 85.0])


@dataclass(frozen=True)
class Target:
    """A rate to hit per age band, and how far off still counts as calibrated."""

    label: str
    values: tuple[float, float, float]
    relative_tolerance: float = 0.25
    absolute_floor: float = 0.004

    def tolerance(self, band: int) -> float:
        return max(self.relative_tolerance * self.values[band], self.absolute_floor)


# From ../shared/docs/danish-sources.md ("What the population looks like").
TARGETS: dict[str, Target] = {
    "mortality": Target("annual mortality", (0.015, 0.045, 0.14)),
    "acute_admission": Target(">= 1 acute admission in a year", (0.12, 0.20, 0.30)),
    "home_care": Target("receives home care", (0.03, 0.12, 0.40)),
    "nursing_home": Target("lives in a nursing home", (0.005, 0.03, 0.15)),
    "living_alone": Target("lives alone (outside nursing homes)", (0.30, 0.45, 0.65)),
    "polypharmacy": Target(">= 5 drugs (ATC) dispensed in 90 days", (0.30, 0.45, 0.55)),
    "fall_hospital": Target("fall with hospital contact in a year", (0.03, 0.06, 0.12)),
    "dementia": Target("dementia diagnosis ever", (0.02, 0.07, 0.18)),
}
# Men's mortality relative to women's in the same band (crude, pooled over 65+ bands by band weights).
MALE_MORTALITY_RATIO = (1.3, 1.5)
MALE_MORTALITY_TOLERANCE = (1.15, 1.75)


class CalibrationTally:
    """Counts (events, persons) per measure and age band while a block is simulated."""

    def __init__(self, n: int, snapshot_months: list[int]) -> None:
        self.snapshot_months = set(snapshot_months)
        self.band = np.full(n, -1, dtype=np.int8)
        self.male = np.zeros(n, dtype=bool)
        self.died = np.zeros(n, dtype=bool)
        self.admitted = np.zeros(n, dtype=bool)
        self.fell = np.zeros(n, dtype=bool)
        self.counts: dict[str, np.ndarray] = {name: np.zeros((3, 2), dtype=np.int64) for name in TARGETS}
        self.counts["mortality_male"] = np.zeros((3, 2), dtype=np.int64)
        self.counts["mortality_female"] = np.zeros((3, 2), dtype=np.int64)

    def _add(self, measure: str, band: np.ndarray, event: np.ndarray) -> None:
        for b in range(3):
            in_band = band == b
            self.counts[measure][b] += (int((event & in_band).sum()), int(in_band.sum()))

    def close_year(self) -> None:
        """Count the yearly risks of the cohort that started 12 months ago."""
        member = self.band >= 0
        band = self.band[member]
        self._add("mortality", band, self.died[member])
        self._add("mortality_male", np.where(self.male[member], band, -1), self.died[member])
        self._add("mortality_female", np.where(~self.male[member], band, -1), self.died[member])
        self._add("acute_admission", band, self.admitted[member])
        self._add("fall_hospital", band, self.fell[member])
        self.band[:] = -1

    def start_month(
        self,
        month: int,
        idx: np.ndarray,
        *,
        age: np.ndarray,
        male: np.ndarray,
        resident: np.ndarray,
        home_care: np.ndarray,
        nursing_home: np.ndarray,
        living_alone: np.ndarray,
        dementia: np.ndarray,
        drugs_90d: np.ndarray,
    ) -> None:
        """At a snapshot month, close the previous cohort and open a new one (state before events)."""
        if month not in self.snapshot_months:
            return
        if (self.band >= 0).any():
            self.close_year()
        band = np.where(resident & (age >= 65.0), np.searchsorted(BAND_LOWER, age, side="right") - 1, -1)
        self.band[idx] = band
        self.male[idx] = male
        self.died[:] = self.admitted[:] = self.fell[:] = False
        member = band >= 0
        self._add("home_care", band[member], home_care[member])
        self._add("nursing_home", band[member], nursing_home[member])
        community = member & ~nursing_home
        self._add("living_alone", band[community], living_alone[community])
        self._add("dementia", band[member], dementia[member])
        self._add("polypharmacy", band[member], drugs_90d[member] >= 5)

    def record_events(
        self, idx: np.ndarray, *, died: np.ndarray, admitted: np.ndarray, fall_hospital: np.ndarray
    ) -> None:
        self.died[idx] |= died
        self.admitted[idx] |= admitted
        self.fell[idx] |= fall_hospital

    def finish(self, months: int) -> dict[str, list[list[int]]]:
        """Close a cohort whose year ended with the simulation; return counts as plain lists."""
        if (self.band >= 0).any() and (max(self.snapshot_months, default=-99) + 12 <= months):
            self.close_year()
        return {name: counts.tolist() for name, counts in self.counts.items()}


def snapshot_months(history_months: int, months: int) -> list[int]:
    """Month indices of the 1 January cohorts that have a full year to follow."""
    return list(range(history_months, months - 11, 12))


def combine(tallies: list[dict[str, list[list[int]]]]) -> dict[str, list[list[int]]]:
    """Sum block tallies."""
    total: dict[str, np.ndarray] = {}
    for tally in tallies:
        for name, counts in tally.items():
            total[name] = total.get(name, 0) + np.array(counts)
    return {name: counts.tolist() for name, counts in total.items()}


@dataclass(frozen=True)
class RateCheck:
    measure: str
    band: str
    generated: float
    target: float
    tolerance: float
    persons: int

    @property
    def passed(self) -> bool:
        return abs(self.generated - self.target) <= self.tolerance


def calibration_checks(counts: dict[str, list[list[int]]]) -> list[RateCheck]:
    """Generated vs target for every measure and band."""
    checks = []
    for name, target in TARGETS.items():
        for b, band in enumerate(BANDS):
            events, persons = counts[name][b]
            rate = events / persons if persons else float("nan")
            checks.append(RateCheck(name, band, rate, target.values[b], target.tolerance(b), persons))
    return checks


def male_mortality_ratio(counts: dict[str, list[list[int]]]) -> float:
    """Men's over women's mortality, averaged over bands weighted by persons (a crude hazard ratio)."""
    ratios, weights = [], []
    for b in range(3):
        male_events, male_persons = counts["mortality_male"][b]
        female_events, female_persons = counts["mortality_female"][b]
        if male_persons and female_persons and female_events:
            ratios.append((male_events / male_persons) / (female_events / female_persons))
            weights.append(male_persons + female_persons)
    return float(np.average(ratios, weights=weights)) if ratios else float("nan")


def calibration_report(world_dir: Path) -> dict[str, object]:
    """The calibration section of a world's manifest with checks evaluated."""
    manifest = json.loads((Path(world_dir) / "manifest.json").read_text(encoding="utf-8"))
    counts = manifest["calibration"]["counts"]
    return {"checks": calibration_checks(counts), "male_mortality_ratio": male_mortality_ratio(counts)}


def format_report(report: dict[str, object]) -> str:
    """A fixed-width table of generated vs target rates with PASS/FAIL."""
    lines = [
        "Calibration: generated vs target (yearly 1 January cohorts of residents aged 65+)",
        f"{'measure':<40} {'band':<6} {'generated':>9} {'target':>7} {'tolerance':>10} "
        f"{'persons':>8}  result",
    ]
    checks: list[RateCheck] = report["checks"]  # type: ignore[assignment]
    for check in checks:
        lines.append(
            f"{TARGETS[check.measure].label:<40} {check.band:<6} {check.generated:>9.3%} "
            f"{check.target:>7.1%} {'±' + format(check.tolerance, '.1%'):>10} {check.persons:>8}  "
            f"{'PASS' if check.passed else 'FAIL'}"
        )
    ratio = float(report["male_mortality_ratio"])  # type: ignore[arg-type]
    low, high = MALE_MORTALITY_TOLERANCE
    verdict = "PASS" if low <= ratio <= high else "FAIL"
    lines.append(
        f"{'male/female mortality ratio':<40} {'65+':<6} {ratio:>9.2f} {'1.3-1.5':>7} "
        f"{f'{low}-{high}':>10} {'':>8}  {verdict}"
    )
    failed = sum(not c.passed for c in checks) + (verdict == "FAIL")
    lines.append(f"{len(checks) + 1 - failed} of {len(checks) + 1} within tolerance.")
    return "\n".join(lines)
