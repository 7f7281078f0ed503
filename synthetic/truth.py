"""The hidden truth: each citizen's probability of each outcome within 6 and 12 months.

Computed from the latent state at the first day of a month with the very hazard functions the simulation
draws from (``synthetic.model``), integrated month by month over the horizon:

* age, frailty drift (``FRAILTY_PER_YEAR``) and the admission after-effect's decay are projected exactly;
* the decline episode is a two-state Markov chain, so the probability of being in decline each future
  month is exact and hazards are averaged over it;
* chronic-condition onsets and the frailty jumps that later shocks would cause are not projected (a
  small, documented understatement of risk for the frailest).

Admission is the first unplanned admission (medical or after a fall fracture), with death competing;
frailty progression is the first of: new or increased home care, fall with injury, nursing-home move,
death.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from synthetic.model import (
    DECLINE_END_PER_MONTH,
    FALL_ADMISSION_SHARE,
    FALL_INJURY,
    FRAILTY_PER_YEAR,
    RECENT_DECAY,
    Hazard,
    LatentState,
    admission_hazard,
    death_hazard,
    decline_onset_hazard,
    fall_hazard,
    home_care_increase_hazard,
    nursing_home_hazard,
    probability,
)

HORIZONS = (6, 12)
TRUTH_COLUMNS = (
    "p_admission_6m",
    "p_admission_12m",
    "p_death_6m",
    "p_death_12m",
    "p_frailty_6m",
    "p_frailty_12m",
)
# The latent state itself at the month, for analysing what the platform's features recover of it
# (benchmarks/models_gap_analysis.py); never a model input.
LATENT_COLUMNS = ("latent_frailty", "latent_decline")


def _hazard_paths(
    hazard: Callable[[LatentState], Hazard], state: LatentState, calm: LatentState, calm_next: LatentState
) -> tuple[np.ndarray, float]:
    """Hazard without decline for each of the next months (shape months x n), and the decline ratio.

    Hazards are log-linear in age, frailty and the admission after-effect, so three evaluations give the
    whole path exactly: the state with the after-effect removed (``calm``), the same one month on
    (``calm_next``), and the actual state (whose ratio to ``calm`` is the after-effect, which halves
    monthly).
    """
    actual = hazard(state)
    base = hazard(calm).base
    positive = base > 0
    growth = np.divide(hazard(calm_next).base, base, out=np.ones_like(base), where=positive)
    recent = np.divide(actual.base, base, out=np.ones_like(base), where=positive)
    k = np.arange(max(HORIZONS))[:, None]
    path = base[None, :] * growth[None, :] ** k * recent[None, :] ** (RECENT_DECAY**k)
    return path, actual.decline_ratio


def outcome_probabilities(state: LatentState, decline: np.ndarray) -> dict[str, np.ndarray]:
    """P(outcome in (month, month + h]) for h in 6, 12, given the state at the month's first day."""
    months = max(HORIZONS)
    calm = replace(state, recent=np.zeros_like(state.recent))
    calm_next = replace(calm, age=state.age + 1 / 12, frailty=state.frailty + FRAILTY_PER_YEAR / 12)
    onset = probability(decline_onset_hazard(state))
    p_decline = np.empty((months, state.age.size))
    p_decline[0] = decline
    for k in range(1, months):
        previous = p_decline[k - 1]
        p_decline[k] = previous * (1.0 - DECLINE_END_PER_MONTH) + (1.0 - previous) * onset

    def expected(hazard: Callable[[LatentState], Hazard]) -> np.ndarray:
        path, ratio = _hazard_paths(hazard, state, calm, calm_next)
        return path * (1.0 + p_decline * (ratio - 1.0))

    death_rate = expected(death_hazard)
    falls = expected(fall_hazard)
    admission = probability(expected(admission_hazard) + falls * FALL_ADMISSION_SHARE)
    death = probability(death_rate)
    frailty = probability(
        death_rate + falls * FALL_INJURY + expected(home_care_increase_hazard) + expected(nursing_home_hazard)
    )
    survival = np.cumprod(1.0 - death, axis=0)
    no_admission_alive = np.cumprod((1.0 - admission) * (1.0 - death), axis=0)
    before = np.vstack([np.ones((1, state.age.size)), no_admission_alive[:-1]])
    admitted = np.cumsum(before * admission, axis=0)
    no_frailty_event = np.cumprod(1.0 - frailty, axis=0)
    result: dict[str, np.ndarray] = {}
    for h in HORIZONS:
        result[f"p_admission_{h}m"] = admitted[h - 1]
        result[f"p_death_{h}m"] = 1.0 - survival[h - 1]
        result[f"p_frailty_{h}m"] = 1.0 - no_frailty_event[h - 1]
    return {name: result[name] for name in TRUTH_COLUMNS}
