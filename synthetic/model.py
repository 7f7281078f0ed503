"""The latent health model: monthly hazards as functions of a citizen's latent state.

The simulation draws events from these hazards and the hidden truth integrates the same functions
forward, so the oracle is honest. All hazards are per month, log-linear in the state:

* ``frailty`` F: a continuous latent score, ~0 at age 75 on average, rising 0.065 per year of age, with a
  person-level random part (SD 0.75) and permanent jumps after admissions, fractures and decline episodes;
* ``decline`` D (0/1): a sub-acute decline episode (mean ~3 months) that raises every hazard and shows
  in observables (home care, weight, triage, GP visits) only partly;
* ``recent`` R: after-effect of an admission, 1 at discharge, halving each month;
* chronic conditions (heart failure, COPD, diabetes, dementia, stroke, cancer);
* setting: nursing home, home-care level, living alone; and sex and age.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic.codes import CONDITIONS, DEMENTIA

FRAILTY_PER_YEAR = 0.065
FRAILTY_SD = 0.75
FRAILTY_JUMP_ADMISSION = 0.10
FRAILTY_JUMP_FRACTURE = 0.25
FRAILTY_JUMP_DECLINE_END = 0.12
FRAILTY_JUMP_CONDITION = 0.10
RECENT_DECAY = 0.5
DECLINE_END_PER_MONTH = 0.3

# P(outcome | fall) of a registered fall.
FALL_INJURY = 0.5
FALL_HOSPITAL_GIVEN_INJURY = 0.75
FALL_FRACTURE_GIVEN_HOSPITAL = 0.4
FALL_ADMISSION_SHARE = FALL_INJURY * FALL_HOSPITAL_GIVEN_INJURY * FALL_FRACTURE_GIVEN_HOSPITAL

# Effects of each condition (order of ``CONDITIONS``) on log hazards.
CONDITION_ON_DEATH = np.array([0.6, 0.5, 0.2, 0.8, 0.3, 1.0])
CONDITION_ON_ADMISSION = np.array([0.7, 0.7, 0.3, 0.3, 0.3, 0.6])
# Onset per year at age 75 and F = 0, age slope per year, frailty slope.
CONDITION_ONSET_AT_75 = np.array([0.010, 0.005, 0.008, 0.0055, 0.006, 0.011])
CONDITION_ONSET_AGE = np.array([0.08, 0.03, 0.01, 0.135, 0.07, 0.03])
CONDITION_ONSET_FRAILTY = np.array([0.5, 0.4, 0.3, 0.4, 0.4, 0.2])

assert len(CONDITION_ON_DEATH) == len(CONDITIONS)


@dataclass
class LatentState:
    """The state hazards depend on, one entry per citizen (arrays of equal length)."""

    age: np.ndarray  # years, float
    male: np.ndarray  # bool
    frailty: np.ndarray  # float
    recent: np.ndarray  # float, admission after-effect
    conditions: np.ndarray  # bool, shape (n, len(CONDITIONS))
    nursing_home: np.ndarray  # bool
    home_care_level: np.ndarray  # int, 0 = none
    living_alone: np.ndarray  # bool
    fall_risk_drugs: np.ndarray  # int, count of fall-risk-increasing drugs taken


@dataclass(frozen=True)
class Hazard:
    """A monthly hazard without (``base``) and with (``base * decline_ratio``) a decline episode."""

    base: np.ndarray
    decline_ratio: float

    def at(self, decline: np.ndarray) -> np.ndarray:
        """The hazard given decline (0/1, or the probability of being in decline for an expectation)."""
        return self.base * (1.0 + decline * (self.decline_ratio - 1.0))


def _age(state: LatentState) -> np.ndarray:
    return state.age - 75.0


def death_hazard(state: LatentState) -> Hazard:
    log = (
        -7.68
        + 0.035 * _age(state)
        + 0.85 * state.frailty
        + 0.5 * state.male
        + state.conditions @ CONDITION_ON_DEATH
        + 0.9 * state.recent
        + 0.5 * state.nursing_home
    )
    return Hazard(np.exp(log), float(np.exp(1.7)))


def admission_hazard(state: LatentState) -> Hazard:
    """Unplanned medical admissions (falls add their own, see ``fall_admission_hazard``)."""
    log = (
        -5.12
        + 0.0 * _age(state)
        + 0.75 * state.frailty
        + 0.12 * state.male
        + state.conditions @ CONDITION_ON_ADMISSION
        + 1.1 * state.recent
        - 0.4 * state.nursing_home
    )
    return Hazard(np.exp(log), float(np.exp(1.5)))


def fall_hazard(state: LatentState) -> Hazard:
    """Falls registered by a care worker or a hospital."""
    log = (
        -4.9
        + 0.025 * _age(state)
        + 0.55 * state.frailty
        - 0.2 * state.male
        + 0.18 * state.fall_risk_drugs
        + 0.5 * state.conditions[:, DEMENTIA]
        + 0.3 * state.nursing_home
    )
    return Hazard(np.exp(log), float(np.exp(0.7)))


def fall_admission_hazard(state: LatentState) -> Hazard:
    """Falls that end in an unplanned admission (a fracture)."""
    falls = fall_hazard(state)
    return Hazard(falls.base * FALL_ADMISSION_SHARE, falls.decline_ratio)


def injurious_fall_hazard(state: LatentState) -> Hazard:
    falls = fall_hazard(state)
    return Hazard(falls.base * FALL_INJURY, falls.decline_ratio)


def home_care_increase_hazard(state: LatentState) -> Hazard:
    """New or increased home care (zero in a nursing home)."""
    log = (
        -6.9
        + 0.10 * _age(state)
        + 0.8 * state.frailty
        + 1.0 * state.conditions[:, DEMENTIA]
        + 1.6 * state.recent
        + 0.3 * state.living_alone
        - 0.25 * state.home_care_level
    )
    return Hazard(np.where(state.nursing_home, 0.0, np.exp(log)), float(np.exp(1.6)))


def nursing_home_hazard(state: LatentState) -> Hazard:
    log = (
        -8.6
        + 0.08 * _age(state)
        + 0.7 * state.frailty
        + 1.5 * state.conditions[:, DEMENTIA]
        + 0.3 * np.minimum(state.home_care_level, 5)
        + 0.5 * state.living_alone
        + 0.8 * state.recent
    )
    return Hazard(np.where(state.nursing_home, 0.0, np.exp(log)), float(np.exp(1.0)))


def decline_onset_hazard(state: LatentState) -> np.ndarray:
    """Monthly hazard that a sub-acute decline episode starts."""
    log = -5.0 + 0.6 * state.frailty + 0.02 * _age(state) + 0.15 * state.conditions.sum(axis=1)
    return np.exp(log)


def condition_onset_hazard(state: LatentState) -> np.ndarray:
    """Monthly onset hazards, shape (n, len(CONDITIONS))."""
    log_rate = (
        np.log(CONDITION_ONSET_AT_75)[None, :]
        + _age(state)[:, None] * CONDITION_ONSET_AGE[None, :]
        + state.frailty[:, None] * CONDITION_ONSET_FRAILTY[None, :]
    )
    return np.exp(log_rate) / 12.0


def probability(hazard: np.ndarray) -> np.ndarray:
    """P(at least one event in a month) from a monthly hazard."""
    return -np.expm1(-hazard)
