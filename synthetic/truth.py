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

from dataclasses import replace

import numpy as np

from synthetic.model import (
    DECLINE_END_PER_MONTH,
    FRAILTY_PER_YEAR,
    RECENT_DECAY,
    LatentState,
    admission_hazard,
    death_hazard,
    decline_onset_hazard,
    fall_admission_hazard,
    home_care_increase_hazard,
    injurious_fall_hazard,
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


def outcome_probabilities(state: LatentState, decline: np.ndarray) -> dict[str, np.ndarray]:
    """P(outcome in (month, month + h]) for h in 6, 12, given the state at the month's first day."""
    n = state.age.size
    no_admission_alive = np.ones(n)  # P(no admission and alive) up to now
    admitted = np.zeros(n)
    alive = np.ones(n)
    no_frailty_event = np.ones(n)
    p_decline = decline.astype(float)
    onset = probability(decline_onset_hazard(state))
    result: dict[str, np.ndarray] = {}
    for month in range(max(HORIZONS)):
        projected = replace(
            state,
            age=state.age + month / 12.0,
            frailty=state.frailty + month * FRAILTY_PER_YEAR / 12.0,
            recent=state.recent * RECENT_DECAY**month,
        )
        death = probability(death_hazard(projected).at(p_decline))
        admission = probability(
            admission_hazard(projected).at(p_decline) + fall_admission_hazard(projected).at(p_decline)
        )
        frailty = probability(
            death_hazard(projected).at(p_decline)
            + injurious_fall_hazard(projected).at(p_decline)
            + home_care_increase_hazard(projected).at(p_decline)
            + nursing_home_hazard(projected).at(p_decline)
        )
        admitted += no_admission_alive * admission
        no_admission_alive *= (1.0 - admission) * (1.0 - death)
        alive *= 1.0 - death
        no_frailty_event *= 1.0 - frailty
        p_decline = p_decline * (1.0 - DECLINE_END_PER_MONTH) + (1.0 - p_decline) * onset
        if month + 1 in HORIZONS:
            h = month + 1
            result[f"p_admission_{h}m"] = admitted.copy()
            result[f"p_death_{h}m"] = 1.0 - alive
            result[f"p_frailty_{h}m"] = 1.0 - no_frailty_event
    return {name: result[name] for name in TRUTH_COLUMNS}
