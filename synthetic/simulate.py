"""Month-by-month simulation of one block of citizens, vectorised over citizens.

Each month: (1) the hidden truth is computed from the state at the month's first day; (2) events are
drawn from the hazards in ``synthetic.model``; (3) observables (care records, prescriptions, GP
services, weights, triage) are drawn from the state; (4) the state is updated. The result is a set of
event tables in simulation terms; ``synthetic.deliveries`` turns them into source-shaped rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from synthetic import model
from synthetic.calibration import CalibrationTally, snapshot_months
from synthetic.codes import (
    ACUTE_DRUGS,
    ADMISSION_CAUSES,
    CHRONIC_DRUGS,
    CONDITION_CODES,
    CONDITIONS,
    COPD,
    DEATH_CAUSES_GENERAL,
    DEMENTIA,
    FSIII_FUNCTION_CODES,
    HEALTH_CONDITION_CODES,
)
from synthetic.config import WorldConfig
from synthetic.model import LatentState
from synthetic.population import (
    MARRIED,
    WIDOWED,
    Demographics,
    district_counts,
    draw_initial_state,
    draw_names,
)
from synthetic.truth import TRUTH_COLUMNS, outcome_probabilities

RESIDENT, OUTSIDE, EMIGRATED, DEAD = range(4)
PRIVATE_PROVIDER_SHARE = 0.25
PERSONAL_CARE_MINUTES = np.array([0, 0, 30, 60, 120, 200, 300, 420])
PRACTICAL_HELP_MINUTES = np.array([0, 30, 30, 45, 45, 60, 60, 60])
MAX_LEVEL = PERSONAL_CARE_MINUTES.size - 1
_FSIII_DOMAIN = np.array([int(code[1]) for code in FSIII_FUNCTION_CODES])
_CAUSE_CONDITION = np.array([cause[2] for cause in ADMISSION_CAUSES])
_CAUSE_BASE_WEIGHT = np.array([3.0, 2.0, 1.0, 0.5, 0.0, 0.0, 0.6, 0.0, 0.0, 0.0, 1.0, 0.6, 1.0, 1.2])
_CAUSE_CONDITION_WEIGHT = np.array([0, 0, 0, 0, 3.0, 3.0, 1.0, 1.5, 2.0, 0.6, 0, 0, 0, 0])
INFECTION_CAUSES = np.array([0, 1, 3])
_DRUG_BASE = np.array([d.base_logit for d in CHRONIC_DRUGS]) + 0.75
_DRUG_CONDITION = np.array([d.condition for d in CHRONIC_DRUGS])
_DRUG_CONDITION_LOGIT = np.array([d.condition_logit for d in CHRONIC_DRUGS])
_DRUG_FRAILTY = np.array([d.frailty_logit for d in CHRONIC_DRUGS]) * 0.4
_DRUG_FALL_RISK = np.array([d.fall_risk for d in CHRONIC_DRUGS])
_DRUG_REFILL_MONTHS = np.array([1 if d.pack_size == 30 else 3 for d in CHRONIC_DRUGS])


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


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _days(rng: np.random.Generator, cap: np.ndarray) -> np.ndarray:
    """Day offsets within a month in [1, cap] (cap = last allowed offset, e.g. the day of death)."""
    return 1 + (rng.random(cap.size) * cap).astype(np.int64)


def simulate_block(config: WorldConfig, block: int, demographics: Demographics) -> BlockHistory:  # noqa: PLR0912, PLR0915
    """Simulate one block of citizens over the whole period (history included).

    ``demographics`` holds this block's citizens only (see ``Demographics.block``).
    """
    rng = config.rng(block, 1)
    birth = demographics.birth_date
    male = demographics.male
    cpr = demographics.cpr
    names = draw_names(config.rng(block, 3), male)
    n = birth.size
    month_starts = config.month_starts
    age0 = (month_starts[0] - birth).astype(np.int64) / 365.25
    init = draw_initial_state(config, rng, age0, male, birth)
    log = EventLog()

    status = np.where(init.municipality < len(config.municipalities), RESIDENT, OUTSIDE)
    municipality = init.municipality.copy()
    district = init.district.copy()
    civil = init.civil_status.copy()
    household = init.household.copy()
    nursing_home = init.nursing_home.copy()
    level = init.home_care_level.copy()
    frailty = init.frailty.copy()
    conditions = init.conditions.copy()
    decline = init.decline.copy()
    recent = np.zeros(n)
    weight = init.weight.copy()
    drug_draw = rng.random((n, len(CHRONIC_DRUGS)))
    # a drug is taken while its logit exceeds the person's fixed threshold (logit of a uniform draw)
    drug_threshold = np.log(drug_draw) - np.log1p(-drug_draw)
    drug_phase = rng.integers(0, 3, (n, len(CHRONIC_DRUGS)))
    provider_private = rng.random(n) < PRIVATE_PROVIDER_SHARE
    last_dispensed = np.full((n, len(CHRONIC_DRUGS) + len(ACUTE_DRUGS)), -99, dtype=np.int16)
    tally = CalibrationTally(n, snapshot_months(config.history_months, config.months))
    everyone = np.arange(n)
    log.add(
        "spell",
        person=everyone,
        date=init.residence_since,
        status=np.full(n, "01"),
        municipality=municipality,
        district=district,
        civil=civil,
        household=household,
    )
    n_sim = len(config.municipalities)
    districts = district_counts(config)
    birth_month = birth.astype("datetime64[M]").astype(np.int64) % 12
    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970

    for m in range(config.months):
        start = month_starts[m]
        days_in_month = int((month_starts[m + 1] - start).astype(np.int64))
        calendar_month = int(start.astype("datetime64[M]").astype(np.int64) % 12)
        calendar_year = int(start.astype("datetime64[Y]").astype(np.int64) + 1970)
        alive = (status == RESIDENT) | (status == OUTSIDE)
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        age = (start - birth[idx]).astype(np.int64) / 365.25
        resident = status[idx] == RESIDENT
        logit = (
            _DRUG_BASE[None, :]
            + _DRUG_FRAILTY[None, :] * frailty[idx, None]
            + np.where(_DRUG_CONDITION >= 0, conditions[idx][:, np.maximum(_DRUG_CONDITION, 0)], False)
            * _DRUG_CONDITION_LOGIT[None, :]
        )
        regimen = logit > drug_threshold[idx]
        state = LatentState(
            age=age,
            male=male[idx],
            frailty=frailty[idx],
            recent=recent[idx],
            conditions=conditions[idx],
            nursing_home=nursing_home[idx],
            home_care_level=level[idx],
            living_alone=household[idx] == 1,
            fall_risk_drugs=(regimen & _DRUG_FALL_RISK[None, :]).sum(axis=1),
        )
        d = decline[idx].astype(float)
        tally.start_month(
            m,
            idx,
            age=age,
            male=male[idx],
            resident=resident,
            home_care=(level[idx] > 0) & ~nursing_home[idx],
            nursing_home=nursing_home[idx],
            living_alone=household[idx] == 1,
            dementia=conditions[idx][:, DEMENTIA],
            drugs_90d=(last_dispensed[idx] >= m - 3).sum(axis=1),
        )

        # (1) the hidden truth, for residents of the simulated municipalities
        truth = outcome_probabilities(state, d)
        log.add(
            "truth",
            person=idx[resident],
            month=np.full(int(resident.sum()), m, dtype=np.int16),
            **{name: truth[name][resident].astype(np.float32) for name in TRUTH_COLUMNS},
        )

        # (2) events drawn from the hazards
        k = idx.size
        dies = rng.random(k) < model.probability(model.death_hazard(state).at(d))
        emigrates = ~dies & (rng.random(k) < 0.00025)
        cap = np.full(k, days_in_month - 1)
        end_day = _days(rng, cap)
        cap = np.where(dies | emigrates, end_day, cap)
        admitted = rng.random(k) < model.probability(model.admission_hazard(state).at(d))
        falls = rng.random(k) < model.probability(model.fall_hazard(state).at(d))
        injury = falls & (rng.random(k) < model.FALL_INJURY)
        hospital = injury & (rng.random(k) < model.FALL_HOSPITAL_GIVEN_INJURY)
        fracture = hospital & (rng.random(k) < model.FALL_FRACTURE_GIVEN_HOSPITAL)
        care_increase = rng.random(k) < model.probability(model.home_care_increase_hazard(state).at(d))
        care_increase &= resident
        moves_to_home = rng.random(k) < model.probability(model.nursing_home_hazard(state).at(d))
        moves_to_home &= resident & ~dies & ~emigrates
        onsets = (rng.random((k, len(CONDITIONS))) < model.condition_onset_hazard(state)) & ~conditions[idx]
        decline_starts = ~decline[idx] & (rng.random(k) < model.decline_onset_hazard(state))
        decline_ends = decline[idx] & (rng.random(k) < model.DECLINE_END_PER_MONTH)
        spouse_rate = np.where(male[idx], 0.0016, 0.0042) * np.exp(0.1 * (age - 75.0))
        widowed = (civil[idx] == MARRIED) & (rng.random(k) < spouse_rate) & ~dies
        relocates = ~nursing_home[idx] & ~dies & ~emigrates & ~moves_to_home
        relocates &= rng.random(k) < np.where(resident, 0.0022, 0.006)

        mdate = start
        tally.record_events(idx, died=dies, admitted=admitted | fracture, fall_hospital=hospital)
        # deaths
        who = idx[dies]
        if who.size:
            cause = _death_causes(rng, conditions[who], fracture[dies])
            log.add("death", person=who, date=mdate + end_day[dies], cause=cause)
        who = idx[emigrates]
        if who.size:
            log.add("emigration", person=who, date=mdate + end_day[emigrates])

        # acute medical admissions
        sel = np.flatnonzero(admitted)
        if sel.size:
            causes = _admission_causes(rng, conditions[idx[sel]])
            _log_contacts(
                log, rng, "admission", idx[sel], mdate + _days(rng, cap[sel]), causes, frailty, conditions
            )
        # falls: fractures are admissions, other hospital falls emergency visits
        sel = np.flatnonzero(fracture)
        if sel.size:
            _log_contacts(
                log,
                rng,
                "fracture",
                idx[sel],
                mdate + _days(rng, cap[sel]),
                np.full(sel.size, -1),
                frailty,
                conditions,
            )
        sel = np.flatnonzero(hospital & ~fracture)
        if sel.size:
            _log_contacts(
                log,
                rng,
                "emergency",
                idx[sel],
                mdate + _days(rng, cap[sel]),
                np.full(sel.size, -1),
                frailty,
                conditions,
            )
        sel = np.flatnonzero(falls & resident & ((level[idx] > 0) | nursing_home[idx]))
        if sel.size:
            log.add(
                "fall", person=idx[sel], date=mdate + _days(rng, cap[sel]), injury=injury[sel].astype(np.int8)
            )

        # planned contacts: clinic follow-up of conditions, new diagnoses, other planned care
        clinic_rate = 0.02 + conditions[idx] @ np.array([0.12, 0.10, 0.08, 0.04, 0.04, 0.3])
        clinic = rng.random(k) < -np.expm1(-clinic_rate)
        new_diagnosis = onsets.any(axis=1)
        sel = np.flatnonzero(clinic | new_diagnosis)
        if sel.size:
            onset_condition = np.where(new_diagnosis[sel], onsets[sel].argmax(axis=1), -1)
            _log_contacts(
                log,
                rng,
                "planned",
                idx[sel],
                mdate + _days(rng, cap[sel]),
                onset_condition,
                frailty,
                conditions,
            )

        # GP services (national registry, every living citizen)
        gp_rate = 0.55 * np.exp(
            0.3 * frailty[idx] + 0.1 * conditions[idx].sum(axis=1) + 0.8 * d + 0.6 * recent[idx]
        )
        gp_count = rng.poisson(gp_rate * (1.0 + 0.3 * nursing_home[idx]))
        sel = np.repeat(np.arange(k), gp_count)
        if sel.size:
            log.add(
                "gp",
                person=idx[sel],
                date=mdate + _days(rng, cap[sel]),
                services=1 + rng.poisson(0.4, sel.size),
                evening=rng.random(sel.size) < 0.06,
            )

        # prescriptions: chronic regimen refilled on its cycle, short courses after acute episodes
        refill = regimen & (((m + drug_phase[idx]) % _DRUG_REFILL_MONTHS[None, :]) == 0)
        person_pos, drug = np.nonzero(refill)
        last_dispensed[idx[person_pos], drug] = m
        if person_pos.size:
            log.add(
                "prescription",
                person=idx[person_pos],
                date=mdate + _days(rng, cap[person_pos]),
                drug=drug,
                packages=np.where(rng.random(person_pos.size) < 0.2, 2.0, 1.0),
            )
        antibiotic = rng.random(k) < 0.015 + 0.2 * d + 0.05 * recent[idx]
        steroid = conditions[idx][:, COPD] & (rng.random(k) < 0.02 + 0.25 * d)
        for mask, choices in ((antibiotic, np.array([0, 1, 2])), (steroid, np.array([3]))):
            sel = np.flatnonzero(mask)
            if sel.size:
                acute_drug = len(CHRONIC_DRUGS) + choices[rng.integers(0, choices.size, sel.size)]
                last_dispensed[idx[sel], acute_drug] = m
                log.add(
                    "prescription",
                    person=idx[sel],
                    date=mdate + _days(rng, cap[sel]),
                    drug=acute_drug,
                    packages=np.ones(sel.size),
                )

        # municipal care records (residents only)
        at_home_care = resident & ~nursing_home[idx] & (level[idx] > 0)
        sel = np.flatnonzero(at_home_care)
        if sel.size:
            delivered = np.clip(rng.normal(0.92, 0.06, sel.size), 0.6, 1.0) * np.where(
                admitted[sel], 0.8, 1.0
            )
            log.add(
                "home_care",
                person=idx[sel],
                month=np.full(sel.size, m, dtype=np.int16),
                level=level[idx[sel]],
                delivered=delivered,
                private=provider_private[idx[sel]],
            )
        in_home = resident & nursing_home[idx]
        sel = np.flatnonzero(in_home)
        if sel.size:
            log.add("nursing_home", person=idx[sel], month=np.full(sel.size, m, dtype=np.int16))
        nursing_need = at_home_care & (
            (level[idx] >= 3) | (recent[idx] > 0.2) | (decline[idx] & (level[idx] >= 1))
        )
        visits = np.where(nursing_need, rng.poisson(1.0 + 0.5 * level[idx] + 4.0 * recent[idx] + 2.0 * d), 0)
        sel = np.repeat(np.arange(k), visits)
        if sel.size:
            log.add("home_nursing", person=idx[sel], date=mdate + _days(rng, cap[sel]))
        care_recipient = resident & ((level[idx] > 0) | nursing_home[idx])
        weighed = care_recipient & (rng.random(k) < np.where(nursing_home[idx], 0.6, 0.35))
        sel = np.flatnonzero(weighed)
        if sel.size:
            measured = weight[idx[sel]] + rng.normal(0.0, 0.6, sel.size)
            log.add("weight", person=idx[sel], date=mdate + _days(rng, cap[sel]), kg=np.round(measured, 1))
        observation_count = np.where(
            care_recipient, rng.poisson(0.4 + 0.2 * np.minimum(level[idx], 5) + 0.5 * nursing_home[idx]), 0
        )
        sel = np.repeat(np.arange(k), observation_count)
        if sel.size:
            risk = 1.6 * d[sel] + 0.5 * frailty[idx[sel]] + 1.2 * recent[idx[sel]]
            draw = rng.random(sel.size)
            colour = np.where(
                draw < _sigmoid(-4.6 + risk), "red", np.where(draw < _sigmoid(-2.0 + risk), "yellow", "green")
            )
            log.add(
                "observation",
                person=idx[sel],
                date=mdate + _days(rng, cap[sel]),
                minute=rng.integers(7 * 60, 22 * 60, sel.size),
                tobs=rng.random(sel.size) < 0.35,
                colour=colour,
            )
        # §79a preventive home visits in the birthday month
        turning = calendar_year - birth_year[idx]
        offered = resident & ~nursing_home[idx] & (level[idx] < 2) & (birth_month[idx] == calendar_month)
        offered &= (
            ((turning == 70) & (household[idx] == 1)) | (turning == 75) | (turning == 80) | (turning >= 82)
        )
        sel = np.flatnonzero(offered & ~dies)
        if sel.size:
            draw = rng.random(sel.size)
            outcome = np.where(draw < 0.72, "held", np.where(draw < 0.92, "declined", "not_reached"))
            log.add("preventive", person=idx[sel], date=mdate + _days(rng, cap[sel]), outcome=outcome)

        # (4) state updates
        new_level = level[idx].copy()
        new_level = np.where(
            care_increase, np.minimum(new_level + np.where(d > 0, 2, 1), MAX_LEVEL), new_level
        )
        recovers = decline_ends & (new_level > 0) & (rng.random(k) < 0.4)
        recovers |= (new_level > 0) & ~care_increase & (rng.random(k) < 0.008)
        new_level = np.where(recovers, new_level - 1, new_level)
        new_level = np.where(moves_to_home, 0, new_level)
        level_changed = (new_level != level[idx]) & ~moves_to_home & ~dies
        annual = care_recipient & (rng.random(k) < 1 / 12)
        assess = resident & ~dies & (level_changed | moves_to_home | annual)
        sel = np.flatnonzero(assess)
        if sel.size:
            _log_assessment(
                log,
                rng,
                idx[sel],
                mdate + _days(rng, cap[sel]),
                frailty[idx[sel]] + d[sel],
                new_level[sel],
                nursing_home[idx[sel]] | moves_to_home[sel],
                conditions[idx[sel]][:, DEMENTIA],
            )
        _log_health_conditions(
            log,
            rng,
            idx,
            mdate,
            cap,
            care_recipient | (resident & care_increase),
            decline_starts,
            onsets[:, DEMENTIA],
            injury,
            frailty[idx],
        )
        level[idx] = new_level

        frailty[idx] += (
            model.FRAILTY_PER_YEAR / 12.0
            + model.FRAILTY_JUMP_ADMISSION * admitted
            + model.FRAILTY_JUMP_FRACTURE * fracture
            + model.FRAILTY_JUMP_DECLINE_END * decline_ends
            + model.FRAILTY_JUMP_CONDITION * onsets.sum(axis=1)
        )
        recent[idx] = np.where(admitted | fracture, 1.0, recent[idx] * model.RECENT_DECAY)
        weight[idx] *= np.exp(-0.016 * d - 0.01 * recent[idx] - 0.0005 + rng.normal(0.0, 0.003, k))
        conditions[idx] |= onsets
        decline[idx] = (decline[idx] & ~decline_ends) | decline_starts

        spell_change = np.zeros(k, dtype=bool)
        if widowed.any():
            civil[idx[widowed]] = WIDOWED
            household[idx[widowed]] = 1
            spell_change |= widowed
        if moves_to_home.any():
            nursing_home[idx[moves_to_home]] = True
            household[idx[moves_to_home]] = 1
            spell_change |= moves_to_home
        sel = np.flatnonzero(relocates)
        if sel.size:
            who = idx[sel]
            draw = rng.random(sel.size)
            from_outside = status[who] == OUTSIDE
            same = ~from_outside & (draw < 0.55)
            to_outside = ~from_outside & (draw >= 0.8)
            target = np.where(
                same,
                municipality[who],
                np.where(
                    to_outside,
                    n_sim + rng.integers(0, districts.size - n_sim, sel.size),
                    rng.integers(0, n_sim, sel.size),
                ),
            )
            municipality[who] = target
            district[who] = 1 + (rng.random(sel.size) * districts[target]).astype(int)
            status[who] = np.where(target < n_sim, RESIDENT, OUTSIDE)
            spell_change[sel] = True
        spell_status = np.full(k, "01")
        if dies.any():
            status[idx[dies]] = DEAD
            spell_status[dies] = "90"
            spell_change |= dies
        if emigrates.any():
            status[idx[emigrates]] = EMIGRATED
            spell_status[emigrates] = "80"
            spell_change |= emigrates
        sel = np.flatnonzero(spell_change)
        if sel.size:
            who = idx[sel]
            log.add(
                "spell",
                person=who,
                date=mdate + np.where(dies[sel] | emigrates[sel], end_day[sel], _days(rng, cap[sel])),
                status=spell_status[sel],
                municipality=municipality[who],
                district=district[who],
                civil=civil[who],
                household=household[who],
            )
    return BlockHistory(block, cpr, names, birth, male, log, tally.finish(config.months))


def _admission_causes(rng: np.random.Generator, conditions: np.ndarray) -> np.ndarray:
    """Index into ADMISSION_CAUSES, weighted by the citizen's conditions."""
    has = np.where(_CAUSE_CONDITION >= 0, conditions[:, np.maximum(_CAUSE_CONDITION, 0)], False)
    weights = _CAUSE_BASE_WEIGHT[None, :] + has * _CAUSE_CONDITION_WEIGHT[None, :]
    cumulative = np.cumsum(weights, axis=1)
    draw = rng.random(conditions.shape[0]) * cumulative[:, -1]
    return (cumulative < draw[:, None]).sum(axis=1)


def _death_causes(rng: np.random.Generator, conditions: np.ndarray, fracture: np.ndarray) -> np.ndarray:
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


def _log_contacts(  # noqa: PLR0917
    log: EventLog,
    rng: np.random.Generator,
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


def _log_assessment(  # noqa: PLR0917
    log: EventLog,
    rng: np.random.Generator,
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


def _log_health_conditions(  # noqa: PLR0917
    log: EventLog,
    rng: np.random.Generator,
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
                date=month_start + _days(rng, cap[sel]),
                code=np.full(sel.size, HEALTH_CONDITION_CODES[name]),
                draw=rng.random(sel.size),
            )
