"""Who lives in the world at the start of the history period: demographics, CPR, names, initial state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic.codes import (
    CONDITIONS,
    DISTRICTS_PER_MUNICIPALITY,
    FEMALE_FIRST_NAMES,
    LAST_NAMES,
    MALE_FIRST_NAMES,
    OUTSIDE_MUNICIPALITIES,
)
from synthetic.config import WorldConfig
from synthetic.cpr import assign_cpr_numbers
from synthetic.model import (
    CONDITION_ONSET_AGE,
    CONDITION_ONSET_AT_75,
    CONDITION_ONSET_FRAILTY,
    FRAILTY_PER_YEAR,
    FRAILTY_SD,
)

# Danish population 60+ by five-year band on 1 January 2019 (thousands) and share of women.
AGE_BANDS = np.array([60, 65, 70, 75, 80, 85, 90, 95])
AGE_BAND_COUNTS = np.array([356, 318, 323, 226, 143, 78, 34, 9], dtype=float)
AGE_BAND_FEMALE = np.array([0.50, 0.51, 0.52, 0.55, 0.59, 0.65, 0.72, 0.80])
SHARE_STARTING_OUTSIDE = 0.03

CIVIL_STATUS_CODES = np.array(["U", "G", "E", "F"])
UNMARRIED, MARRIED, WIDOWED, DIVORCED = range(4)


@dataclass(frozen=True)
class Demographics:
    """Birth date, sex and CPR of every citizen in the world (cheap, computed for all at once)."""

    birth_date: np.ndarray  # datetime64[D]
    male: np.ndarray  # bool
    cpr: np.ndarray  # str, 10 digits

    def block(self, config: WorldConfig, block: int) -> Demographics:
        """The citizens of one block."""
        first, last = config.block_range(block)
        return Demographics(self.birth_date[first:last], self.male[first:last], self.cpr[first:last])


def draw_demographics(config: WorldConfig) -> Demographics:
    """Ages on the start date follow the Danish 60+ age pyramid; draws are per block (chunk-free)."""
    births, males = [], []
    start = np.datetime64(config.start_date, "D")
    for block in range(config.blocks):
        first, last = config.block_range(block)
        rng = config.rng(block, 0)
        n = last - first
        band = rng.choice(AGE_BANDS.size, size=n, p=AGE_BAND_COUNTS / AGE_BAND_COUNTS.sum())
        age = AGE_BANDS[band] + rng.random(n) * 5.0
        male = rng.random(n) >= AGE_BAND_FEMALE[band]
        births.append(start - np.round(age * 365.25).astype("timedelta64[D]"))
        males.append(male)
    birth_date = np.concatenate(births)
    male = np.concatenate(males)
    return Demographics(birth_date, male, assign_cpr_numbers(birth_date, male, config.seed))


def draw_names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    """'First Last' Danish names, first names by sex."""
    male_first = np.array(MALE_FIRST_NAMES)[rng.integers(0, len(MALE_FIRST_NAMES), male.size)]
    female_first = np.array(FEMALE_FIRST_NAMES)[rng.integers(0, len(FEMALE_FIRST_NAMES), male.size)]
    last = np.array(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), male.size)]
    first = np.where(male, male_first, female_first)
    return np.char.add(np.char.add(first, " "), last)


def all_municipalities(config: WorldConfig) -> tuple[str, ...]:
    """Simulated municipalities first, then the outside ones citizens may move to."""
    return tuple(config.municipalities) + OUTSIDE_MUNICIPALITIES


def district_counts(config: WorldConfig) -> np.ndarray:
    """Care districts per municipality, in ``all_municipalities`` order (outside ones have 1)."""
    counts = [DISTRICTS_PER_MUNICIPALITY[code] for code in config.municipalities]
    return np.array(counts + [1] * len(OUTSIDE_MUNICIPALITIES))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class InitialState:
    """Everything a block starts the history period with."""

    person_frailty: np.ndarray  # the person-level random part of frailty (never observed)
    frailty: np.ndarray
    conditions: np.ndarray
    civil_status: np.ndarray
    household: np.ndarray
    municipality: np.ndarray  # index into all_municipalities
    district: np.ndarray  # 1-based district number within the municipality
    nursing_home: np.ndarray
    home_care_level: np.ndarray
    decline: np.ndarray
    weight: np.ndarray
    residence_since: np.ndarray  # datetime64[D]


def draw_initial_state(
    config: WorldConfig, rng: np.random.Generator, age: np.ndarray, male: np.ndarray, birth: np.ndarray
) -> InitialState:
    """Initial latent and social state at the start of the history period, consistent with the hazards.

    Chronic-condition prevalence is 1 - exp(-cumulative onset hazard from age 50), so prevalence and
    incidence agree; home care and nursing home follow logistic curves in age, frailty and dementia.
    """
    n = age.size
    person_frailty = rng.standard_normal(n) * FRAILTY_SD
    frailty = FRAILTY_PER_YEAR * (age - 75.0) + person_frailty
    beta = CONDITION_ONSET_AGE[None, :]
    cumulative = (
        CONDITION_ONSET_AT_75[None, :]
        / beta
        * (np.exp(beta * (age[:, None] - 75.0)) - np.exp(beta * (50.0 - 75.0)))
        * np.exp(CONDITION_ONSET_FRAILTY[None, :] * person_frailty[:, None])
    )
    conditions = rng.random((n, len(CONDITIONS))) < -np.expm1(-cumulative)
    dementia = conditions[:, 3]
    frailty = frailty + 0.1 * conditions.sum(axis=1)

    p_married = np.where(male, _sigmoid(1.3 - 0.065 * (age - 70.0)), _sigmoid(0.55 - 0.11 * (age - 70.0)))
    draw = rng.random(n)
    civil = np.where(
        draw < p_married,
        MARRIED,
        np.where(draw < p_married + 0.10, DIVORCED, np.where(draw < p_married + 0.16, UNMARRIED, WIDOWED)),
    )
    alone = np.where(civil == MARRIED, rng.random(n) < 0.03, rng.random(n) < 0.88)
    household = np.where(alone, 1, 2)

    nursing_home = rng.random(n) < _sigmoid(-6.25 + 0.17 * (age - 75.0) + 0.9 * frailty + 1.6 * dementia)
    home_care = ~nursing_home & (
        rng.random(n) < _sigmoid(-3.45 + 0.17 * (age - 75.0) + 1.0 * frailty + 1.0 * dementia)
    )
    level = np.where(home_care, 1 + np.minimum(rng.poisson(np.exp(0.4 + 0.5 * frailty)), 6), 0)
    household = np.where(nursing_home, 1, household)

    municipality_count = len(config.municipalities)
    outside = rng.random(n) < SHARE_STARTING_OUTSIDE
    municipality = np.where(
        outside,
        municipality_count + rng.integers(0, len(OUTSIDE_MUNICIPALITIES), n),
        rng.integers(0, municipality_count, n),
    )
    counts = district_counts(config)
    district = 1 + (rng.random(n) * counts[municipality]).astype(int)
    nursing_home &= ~outside
    level = np.where(outside, 0, level)

    decline = rng.random(n) < 0.02 * np.exp(0.5 * frailty)
    weight = np.where(male, 82.0, 69.0) + rng.standard_normal(n) * 12.0 - 0.15 * (age - 70.0)
    weight = np.clip(weight, 38.0, 160.0)
    history_start = np.datetime64(config.month_starts[0], "D")
    adult = birth + np.round(25 * 365.25).astype("timedelta64[D]")
    years_here = rng.exponential(15.0, n)
    since = history_start - np.round(years_here * 365.25 + 1).astype("timedelta64[D]")
    residence_since = np.maximum(since, adult)
    return InitialState(
        person_frailty=person_frailty,
        frailty=frailty,
        conditions=conditions,
        civil_status=civil,
        household=household,
        municipality=municipality,
        district=district,
        nursing_home=nursing_home,
        home_care_level=level,
        decline=decline,
        weight=weight,
        residence_since=residence_since,
    )
