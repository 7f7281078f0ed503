"""How the latent state shows in records: admission and death causes, contacts, FSIII, I codes."""

from __future__ import annotations

import numpy as np

from synthetic.codes import (
    ADMISSION_CAUSES,
    CONDITION_CODES,
    CONDITIONS,
    DEATH_CAUSES_GENERAL,
    FSIII_FUNCTION_CODES,
    HEALTH_CONDITION_CODES,
)
from synthetic.events import EventLog

_FSIII_DOMAIN = np.array([int(code[1]) for code in FSIII_FUNCTION_CODES])
_CAUSE_CONDITION = np.array([cause[2] for cause in ADMISSION_CAUSES])
_CAUSE_BASE_WEIGHT = np.array([3.0, 2.0, 1.0, 0.5, 0.0, 0.0, 0.6, 0.0, 0.0, 0.0, 1.0, 0.6, 1.0, 1.2])
_CAUSE_CONDITION_WEIGHT = np.array([0, 0, 0, 0, 3.0, 3.0, 1.0, 1.5, 2.0, 0.6, 0, 0, 0, 0])


def days_in(rng: np.random.Generator, cap: np.ndarray) -> np.ndarray:
    """Day offsets within a month in [1, cap] (cap = last allowed offset, e.g. the day of death)."""
    return 1 + (rng.random(cap.size) * cap).astype(np.int64)


def admission_causes(rng: np.random.Generator, conditions: np.ndarray) -> np.ndarray:
    """Index into ADMISSION_CAUSES, weighted by the citizen's conditions."""
    has = np.where(_CAUSE_CONDITION >= 0, conditions[:, np.maximum(_CAUSE_CONDITION, 0)], False)
    weights = _CAUSE_BASE_WEIGHT[None, :] + has * _CAUSE_CONDITION_WEIGHT[None, :]
    cumulative = np.cumsum(weights, axis=1)
    draw = rng.random(conditions.shape[0]) * cumulative[:, -1]
    return (cumulative < draw[:, None]).sum(axis=1)


def death_causes(rng: np.random.Generator, conditions: np.ndarray, fracture: np.ndarray) -> np.ndarray:
    """Underlying cause of death (SKS), mostly one of the citizen's conditions."""
    n = conditions.shape[0]
    general = np.array(DEATH_CAUSES_GENERAL)[rng.integers(0, len(DEATH_CAUSES_GENERAL), n)]
    weights = (
        conditions * np.array([2.0, 1.5, 0.5, 2.0, 1.0, 4.0])[None, :] + rng.random(conditions.shape) * 0.01
    )
    chosen = weights.argmax(axis=1)
    first_codes = np.array([codes[0] for codes in CONDITION_CODES])
    by_condition = first_codes[chosen]
    use_condition = conditions.any(axis=1) & (rng.random(n) < 0.75)
    cause = np.where(use_condition, by_condition, general)
    return np.where(fracture & (rng.random(n) < 0.5), "DS720", cause)


def log_contacts(
    log: EventLog,
    rng: np.random.Generator,
    *,
    kind: str,
    who: np.ndarray,
    date: np.ndarray,
    cause: np.ndarray,
    frailty: np.ndarray,
    conditions: np.ndarray,
) -> None:
    """Hospital contacts with what deliveries need to code them (cause, conditions, frailty then)."""
    bits = (conditions[who] * (1 << np.arange(len(CONDITIONS)))[None, :]).sum(axis=1)
    log.add(
        "contact",
        person=who,
        date=date,
        kind=np.full(who.size, kind),
        cause=cause,
        conditions=bits.astype(np.int16),
        frailty=frailty[who].astype(np.float32),
        minute=rng.integers(0, 24 * 60, who.size),
        draw=rng.random(who.size),
    )


def log_assessment(
    log: EventLog,
    rng: np.random.Generator,
    *,
    who: np.ndarray,
    date: np.ndarray,
    need: np.ndarray,
    level: np.ndarray,
    nursing_home: np.ndarray,
    dementia: np.ndarray,
) -> None:
    """FSIII functional-ability assessment: one row per J code; scores worsen with frailty."""
    n_codes = len(FSIII_FUNCTION_CODES)
    domain = np.tile(_FSIII_DOMAIN, who.size)
    base = np.repeat(0.7 * need + 0.3 * np.minimum(level, 6) + 1.2 * nursing_home + 0.6, n_codes)
    offset = np.select(
        [domain == 2, domain == 3, domain == 4],
        [np.full(domain.size, 0.5), np.full(domain.size, 0.2), np.repeat(2.2 * dementia - 0.6, n_codes)],
        0.0,
    )
    score = np.clip(np.round(base + offset + rng.normal(0.0, 0.7, domain.size)), 0, 4).astype(np.int16)
    score = np.where(rng.random(domain.size) < 0.03, 9, score)
    expected = np.where(rng.random(domain.size) < 0.3, np.maximum(score - 1, 0), score)
    expected = np.where((score == 9) | (rng.random(domain.size) < 0.4), -1, expected)
    log.add(
        "fsiii",
        person=np.repeat(who, n_codes),
        date=np.repeat(date, n_codes),
        code=np.tile(np.arange(n_codes), who.size),
        score=score,
        expected=expected.astype(np.int16),
    )


def log_health_conditions(
    log: EventLog,
    rng: np.random.Generator,
    *,
    idx: np.ndarray,
    month_start: np.datetime64,
    cap: np.ndarray,
    recorded: np.ndarray,
    decline_starts: np.ndarray,
    dementia_onset: np.ndarray,
    injury: np.ndarray,
    frailty: np.ndarray,
) -> None:
    """FSIII health conditions (I codes) noted by care staff when something changes."""
    triggers = (
        ("weight_loss", decline_starts & (rng.random(idx.size) < 0.5)),
        ("function_level", decline_starts & (rng.random(idx.size) < 0.4)),
        ("memory", dementia_onset),
        ("mobility", injury),
        ("pressure_ulcer", rng.random(idx.size) < 0.003 * np.exp(frailty)),
        ("incontinence", rng.random(idx.size) < 0.004 * np.exp(frailty)),
    )
    for name, mask in triggers:
        sel = np.flatnonzero(mask & recorded)
        if sel.size:
            log.add(
                "health_condition",
                person=idx[sel],
                date=month_start + days_in(rng, cap[sel]),
                code=np.full(sel.size, HEALTH_CONDITION_CODES[name]),
                draw=rng.random(sel.size),
            )
