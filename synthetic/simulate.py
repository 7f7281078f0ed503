"""Month-by-month simulation of one block of citizens, vectorised over citizens.

Each month: (1) the hidden truth is computed from the state at the month's first day; (2) events are
drawn from the hazards in ``synthetic.model``; (3) observables (care records, prescriptions, GP
services, weights, triage) are drawn from the state; (4) the state is updated. The result is a set of
event tables in simulation terms; ``synthetic.deliveries`` turns them into source-shaped rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic import model
from synthetic.calibration import CalibrationTally, snapshot_months
from synthetic.codes import (
    ACUTE_DRUGS,
    CHRONIC_DRUGS,
    CONDITIONS,
    COPD,
    DEMENTIA,
)
from synthetic.config import WorldConfig
from synthetic.events import BlockHistory, EventLog
from synthetic.model import LatentState
from synthetic.observations import (
    admission_causes,
    days_in,
    death_causes,
    log_assessment,
    log_contacts,
    log_health_conditions,
)
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
_DRUG_BASE = np.array([d.base_logit for d in CHRONIC_DRUGS]) + 0.75
_DRUG_CONDITION = np.array([d.condition for d in CHRONIC_DRUGS])
_DRUG_CONDITION_LOGIT = np.array([d.condition_logit for d in CHRONIC_DRUGS])
_DRUG_FRAILTY = np.array([d.frailty_logit for d in CHRONIC_DRUGS]) * 0.4
_DRUG_FALL_RISK = np.array([d.fall_risk for d in CHRONIC_DRUGS])
_DRUG_REFILL_MONTHS = np.array([1 if d.pack_size == 30 else 3 for d in CHRONIC_DRUGS])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_block(config: WorldConfig, block: int, demographics: Demographics) -> BlockHistory:
    """Simulate one block of citizens over the whole period (history included).

    ``demographics`` holds this block's citizens only (see ``Demographics.block``).
    """
    simulation = _BlockSimulation(config, block, demographics)
    for month in range(config.months):
        if not simulation.step(month):
            break
    return simulation.history()


@dataclass
class _Month:
    """The living citizens of one month (``idx`` into the block) and their state on its first day."""

    number: int
    start: np.datetime64
    calendar_month: int
    calendar_year: int
    idx: np.ndarray
    age: np.ndarray
    resident: np.ndarray
    regimen: np.ndarray
    state: LatentState
    decline: np.ndarray  # float 0/1
    care_recipient: np.ndarray
    at_home_care: np.ndarray
    cap: np.ndarray  # last allowed day offset of events (the day of death or emigration for those)
    end_day: np.ndarray


@dataclass
class _Events:
    """What happens to each living citizen this month (boolean arrays aligned with ``_Month.idx``)."""

    dies: np.ndarray
    emigrates: np.ndarray
    admitted: np.ndarray
    falls: np.ndarray
    injury: np.ndarray
    hospital: np.ndarray
    fracture: np.ndarray
    care_increase: np.ndarray
    moves_to_home: np.ndarray
    onsets: np.ndarray
    decline_starts: np.ndarray
    decline_ends: np.ndarray
    widowed: np.ndarray
    relocates: np.ndarray


class _BlockSimulation:
    """The state of one block's citizens and the monthly steps that evolve and observe it."""

    def __init__(self, config: WorldConfig, block: int, demographics: Demographics) -> None:
        self.config = config
        self.block = block
        self.rng = config.rng(block, 1)
        self.birth = demographics.birth_date
        self.male = demographics.male
        self.cpr = demographics.cpr
        self.names = draw_names(config.rng(block, 3), self.male)
        n = self.birth.size
        self.month_starts = config.month_starts
        age0 = (self.month_starts[0] - self.birth).astype(np.int64) / 365.25
        init = draw_initial_state(config, self.rng, age0, self.male, self.birth)
        self.log = EventLog()
        self.status = np.where(init.municipality < len(config.municipalities), RESIDENT, OUTSIDE)
        self.municipality = init.municipality.copy()
        self.district = init.district.copy()
        self.civil = init.civil_status.copy()
        self.household = init.household.copy()
        self.nursing_home = init.nursing_home.copy()
        self.level = init.home_care_level.copy()
        self.frailty = init.frailty.copy()
        self.conditions = init.conditions.copy()
        self.decline = init.decline.copy()
        self.recent = np.zeros(n)
        self.weight = init.weight.copy()
        drug_draw = self.rng.random((n, len(CHRONIC_DRUGS)))
        # a drug is taken while its logit exceeds the person's fixed threshold (logit of a uniform draw)
        self.drug_threshold = np.log(drug_draw) - np.log1p(-drug_draw)
        self.drug_phase = self.rng.integers(0, 3, (n, len(CHRONIC_DRUGS)))
        self.provider_private = self.rng.random(n) < PRIVATE_PROVIDER_SHARE
        self.last_dispensed = np.full((n, len(CHRONIC_DRUGS) + len(ACUTE_DRUGS)), -99, dtype=np.int16)
        self.tally = CalibrationTally(n, snapshot_months(config.history_months, config.months))
        self.log.add(
            "spell",
            person=np.arange(n),
            date=init.residence_since,
            status=np.full(n, "01"),
            municipality=self.municipality,
            district=self.district,
            civil=self.civil,
            household=self.household,
        )
        self.n_simulated = len(config.municipalities)
        self.districts = district_counts(config)
        self.birth_month = self.birth.astype("datetime64[M]").astype(np.int64) % 12
        self.birth_year = self.birth.astype("datetime64[Y]").astype(np.int64) + 1970

    def history(self) -> BlockHistory:
        calibration = self.tally.finish(self.config.months)
        return BlockHistory(self.block, self.cpr, self.names, self.birth, self.male, self.log, calibration)

    def step(self, number: int) -> bool:
        """Simulate one month; False when nobody is left alive in the registers."""
        month = self._month(number)
        if month is None:
            return False
        self._record_truth(month)
        events = self._draw_events(month)
        self.tally.record_events(
            month.idx,
            died=events.dies,
            admitted=events.admitted | events.fracture,
            fall_hospital=events.hospital,
        )
        self._log_deaths_and_hospital(month, events)
        self._log_primary_care_and_drugs(month)
        self._log_care_records(month, events)
        self._update_care(month, events)
        self._update_health(month, events)
        self._update_residence(month, events)
        return True

    def _day(self, month: _Month, sel: np.ndarray) -> np.ndarray:
        """Dates within the month for the selected citizens (never after their death or emigration)."""
        return month.start + days_in(self.rng, month.cap[sel])

    def _month(self, number: int) -> _Month | None:
        start = self.month_starts[number]
        idx = np.flatnonzero((self.status == RESIDENT) | (self.status == OUTSIDE))
        if idx.size == 0:
            return None
        age = (start - self.birth[idx]).astype(np.int64) / 365.25
        resident = self.status[idx] == RESIDENT
        conditions = self.conditions[idx]
        logit = (
            _DRUG_BASE[None, :]
            + _DRUG_FRAILTY[None, :] * self.frailty[idx, None]
            + np.where(_DRUG_CONDITION >= 0, conditions[:, np.maximum(_DRUG_CONDITION, 0)], False)
            * _DRUG_CONDITION_LOGIT[None, :]
        )
        regimen = logit > self.drug_threshold[idx]
        level, nursing_home = self.level[idx], self.nursing_home[idx]
        state = LatentState(
            age=age,
            male=self.male[idx],
            frailty=self.frailty[idx],
            recent=self.recent[idx],
            conditions=conditions,
            nursing_home=nursing_home,
            home_care_level=level,
            living_alone=self.household[idx] == 1,
            fall_risk_drugs=(regimen & _DRUG_FALL_RISK[None, :]).sum(axis=1),
        )
        self.tally.start_month(
            number,
            idx,
            age=age,
            male=self.male[idx],
            resident=resident,
            home_care=(level > 0) & ~nursing_home,
            nursing_home=nursing_home,
            living_alone=state.living_alone,
            dementia=conditions[:, DEMENTIA],
            drugs_90d=(self.last_dispensed[idx] >= number - 3).sum(axis=1),
        )
        days_in_month = int((self.month_starts[number + 1] - start).astype(np.int64))
        empty = np.empty(0, dtype=np.int64)
        return _Month(
            number=number,
            start=start,
            calendar_month=int(start.astype("datetime64[M]").astype(np.int64) % 12),
            calendar_year=int(start.astype("datetime64[Y]").astype(np.int64) + 1970),
            idx=idx,
            age=age,
            resident=resident,
            regimen=regimen,
            state=state,
            decline=self.decline[idx].astype(float),
            care_recipient=resident & ((level > 0) | nursing_home),
            at_home_care=resident & ~nursing_home & (level > 0),
            cap=np.full(idx.size, days_in_month - 1),
            end_day=empty,
        )

    def _record_truth(self, month: _Month) -> None:
        """The hidden truth from the state on the first of the month, for residents only."""
        truth = outcome_probabilities(month.state, month.decline)
        resident = month.resident
        self.log.add(
            "truth",
            person=month.idx[resident],
            month=np.full(int(resident.sum()), month.number, dtype=np.int16),
            **{name: truth[name][resident].astype(np.float32) for name in TRUTH_COLUMNS},
            latent_frailty=month.state.frailty[resident].astype(np.float32),
            latent_decline=month.decline[resident].astype(np.float32),
        )

    def _draw_events(self, month: _Month) -> _Events:
        """Draw this month's events from the hazards (and fix each dying citizen's day of death)."""
        rng, state, d, idx, k = self.rng, month.state, month.decline, month.idx, month.idx.size
        dies = rng.random(k) < model.probability(model.death_hazard(state).at(d))
        emigrates = ~dies & (rng.random(k) < 0.00025)
        month.end_day = days_in(rng, month.cap)
        month.cap = np.where(dies | emigrates, month.end_day, month.cap)
        admitted = rng.random(k) < model.probability(model.admission_hazard(state).at(d))
        falls = rng.random(k) < model.probability(model.fall_hazard(state).at(d))
        injury = falls & (rng.random(k) < model.FALL_INJURY)
        hospital = injury & (rng.random(k) < model.FALL_HOSPITAL_GIVEN_INJURY)
        fracture = hospital & (rng.random(k) < model.FALL_FRACTURE_GIVEN_HOSPITAL)
        care_increase = rng.random(k) < model.probability(model.home_care_increase_hazard(state).at(d))
        moves_to_home = rng.random(k) < model.probability(model.nursing_home_hazard(state).at(d))
        onsets = (rng.random((k, len(CONDITIONS))) < model.condition_onset_hazard(state)) & ~state.conditions
        decline = self.decline[idx]
        decline_starts = ~decline & (rng.random(k) < model.decline_onset_hazard(state))
        decline_ends = decline & (rng.random(k) < model.DECLINE_END_PER_MONTH)
        spouse_rate = np.where(state.male, 0.0016, 0.0042) * np.exp(0.1 * (month.age - 75.0))
        widowed = (self.civil[idx] == MARRIED) & (rng.random(k) < spouse_rate) & ~dies
        relocates = ~state.nursing_home & ~dies & ~emigrates & ~(moves_to_home & month.resident & ~dies)
        relocates &= rng.random(k) < np.where(month.resident, 0.0022, 0.006)
        return _Events(
            dies=dies,
            emigrates=emigrates,
            admitted=admitted,
            falls=falls,
            injury=injury,
            hospital=hospital,
            fracture=fracture,
            care_increase=care_increase & month.resident,
            moves_to_home=moves_to_home & month.resident & ~dies & ~emigrates,
            onsets=onsets,
            decline_starts=decline_starts,
            decline_ends=decline_ends,
            widowed=widowed,
            relocates=relocates,
        )

    def _contacts(self, month: _Month, kind: str, sel: np.ndarray, cause: np.ndarray) -> None:
        if sel.size:
            log_contacts(
                self.log,
                self.rng,
                kind=kind,
                who=month.idx[sel],
                date=self._day(month, sel),
                cause=cause,
                frailty=self.frailty,
                conditions=self.conditions,
            )

    def _log_deaths_and_hospital(self, month: _Month, events: _Events) -> None:
        """Deaths, emigrations, acute admissions, falls, emergency visits and planned contacts."""
        idx, rng = month.idx, self.rng
        who = idx[events.dies]
        if who.size:
            cause = death_causes(rng, self.conditions[who], events.fracture[events.dies])
            self.log.add("death", person=who, date=month.start + month.end_day[events.dies], cause=cause)
        who = idx[events.emigrates]
        if who.size:
            self.log.add("emigration", person=who, date=month.start + month.end_day[events.emigrates])
        sel = np.flatnonzero(events.admitted)
        if sel.size:
            self._contacts(month, "admission", sel, admission_causes(rng, self.conditions[idx[sel]]))
        sel = np.flatnonzero(events.fracture)
        self._contacts(month, "fracture", sel, np.full(sel.size, -1))
        sel = np.flatnonzero(events.hospital & ~events.fracture)
        self._contacts(month, "emergency", sel, np.full(sel.size, -1))
        sel = np.flatnonzero(events.falls & month.care_recipient)
        if sel.size:
            injury = events.injury[sel].astype(np.int8)
            self.log.add("fall", person=idx[sel], date=self._day(month, sel), injury=injury)
        # planned contacts: clinic follow-up of conditions, new diagnoses
        clinic_rate = 0.02 + month.state.conditions @ np.array([0.12, 0.10, 0.08, 0.04, 0.04, 0.3])
        clinic = rng.random(idx.size) < -np.expm1(-clinic_rate)
        new_diagnosis = events.onsets.any(axis=1)
        sel = np.flatnonzero(clinic | new_diagnosis)
        if sel.size:
            onset_condition = np.where(new_diagnosis[sel], events.onsets[sel].argmax(axis=1), -1)
            self._contacts(month, "planned", sel, onset_condition)

    def _log_primary_care_and_drugs(self, month: _Month) -> None:
        """GP services and dispensings (national registries: every living citizen)."""
        idx, rng, d, state = month.idx, self.rng, month.decline, month.state
        gp_rate = 0.55 * np.exp(
            0.3 * state.frailty + 0.1 * state.conditions.sum(axis=1) + 0.8 * d + 0.6 * state.recent
        )
        sel = np.repeat(np.arange(idx.size), rng.poisson(gp_rate * (1.0 + 0.3 * state.nursing_home)))
        if sel.size:
            self.log.add(
                "gp",
                person=idx[sel],
                date=self._day(month, sel),
                services=1 + rng.poisson(0.4, sel.size),
                evening=rng.random(sel.size) < 0.06,
            )
        # chronic regimen refilled on its cycle, short courses after acute episodes
        refill = month.regimen & (((month.number + self.drug_phase[idx]) % _DRUG_REFILL_MONTHS[None, :]) == 0)
        person_pos, drug = np.nonzero(refill)
        self.last_dispensed[idx[person_pos], drug] = month.number
        if person_pos.size:
            self.log.add(
                "prescription",
                person=idx[person_pos],
                date=self._day(month, person_pos),
                drug=drug,
                packages=np.where(rng.random(person_pos.size) < 0.2, 2.0, 1.0),
            )
        antibiotic = rng.random(idx.size) < 0.015 + 0.2 * d + 0.05 * state.recent
        steroid = state.conditions[:, COPD] & (rng.random(idx.size) < 0.02 + 0.25 * d)
        for mask, choices in ((antibiotic, np.array([0, 1, 2])), (steroid, np.array([3]))):
            sel = np.flatnonzero(mask)
            if sel.size:
                acute_drug = len(CHRONIC_DRUGS) + choices[rng.integers(0, choices.size, sel.size)]
                self.last_dispensed[idx[sel], acute_drug] = month.number
                self.log.add(
                    "prescription",
                    person=idx[sel],
                    date=self._day(month, sel),
                    drug=acute_drug,
                    packages=np.ones(sel.size),
                )

    def _log_care_records(self, month: _Month, events: _Events) -> None:
        """Home care, nursing home, home nursing, weights, triage observations, §79a visits."""
        idx, rng, d, state = month.idx, self.rng, month.decline, month.state
        level, nursing_home, recent = state.home_care_level, state.nursing_home, state.recent
        sel = np.flatnonzero(month.at_home_care)
        if sel.size:
            delivered = np.clip(rng.normal(0.92, 0.06, sel.size), 0.6, 1.0)
            self.log.add(
                "home_care",
                person=idx[sel],
                month=np.full(sel.size, month.number, dtype=np.int16),
                level=level[sel],
                delivered=delivered * np.where(events.admitted[sel], 0.8, 1.0),
                private=self.provider_private[idx[sel]],
            )
        sel = np.flatnonzero(month.resident & nursing_home)
        if sel.size:
            self.log.add(
                "nursing_home", person=idx[sel], month=np.full(sel.size, month.number, dtype=np.int16)
            )
        need = month.at_home_care & ((level >= 3) | (recent > 0.2) | ((d > 0) & (level >= 1)))
        visits = np.where(need, rng.poisson(1.0 + 0.5 * level + 4.0 * recent + 2.0 * d), 0)
        sel = np.repeat(np.arange(idx.size), visits)
        if sel.size:
            self.log.add("home_nursing", person=idx[sel], date=self._day(month, sel))
        weighed = month.care_recipient & (rng.random(idx.size) < np.where(nursing_home, 0.6, 0.35))
        sel = np.flatnonzero(weighed)
        if sel.size:
            measured = self.weight[idx[sel]] + rng.normal(0.0, 0.6, sel.size)
            self.log.add("weight", person=idx[sel], date=self._day(month, sel), kg=np.round(measured, 1))
        expected = 0.4 + 0.2 * np.minimum(level, 5) + 0.5 * nursing_home
        sel = np.repeat(np.arange(idx.size), np.where(month.care_recipient, rng.poisson(expected), 0))
        if sel.size:
            risk = 1.6 * d[sel] + 0.5 * state.frailty[sel] + 1.2 * recent[sel]
            draw = rng.random(sel.size)
            yellow = np.where(draw < _sigmoid(-2.0 + risk), "yellow", "green")
            self.log.add(
                "observation",
                person=idx[sel],
                date=self._day(month, sel),
                minute=rng.integers(7 * 60, 22 * 60, sel.size),
                tobs=rng.random(sel.size) < 0.35,
                colour=np.where(draw < _sigmoid(-4.6 + risk), "red", yellow),
            )
        # §79a preventive home visits in the birthday month
        turning = month.calendar_year - self.birth_year[idx]
        offered = (
            month.resident & ~nursing_home & (level < 2) & (self.birth_month[idx] == month.calendar_month)
        )
        alone_at_70 = (turning == 70) & state.living_alone
        offered &= alone_at_70 | (turning == 75) | (turning == 80) | (turning >= 82)
        sel = np.flatnonzero(offered & ~events.dies)
        if sel.size:
            draw = rng.random(sel.size)
            outcome = np.where(draw < 0.72, "held", np.where(draw < 0.92, "declined", "not_reached"))
            self.log.add("preventive", person=idx[sel], date=self._day(month, sel), outcome=outcome)

    def _update_care(self, month: _Month, events: _Events) -> None:
        """Home-care level changes, FSIII assessments and health conditions they trigger."""
        idx, rng, d, k = month.idx, self.rng, month.decline, month.idx.size
        old_level = month.state.home_care_level
        step = np.where(d > 0, 2, 1)
        new_level = np.where(events.care_increase, np.minimum(old_level + step, MAX_LEVEL), old_level)
        recovers = events.decline_ends & (new_level > 0) & (rng.random(k) < 0.4)
        recovers |= (new_level > 0) & ~events.care_increase & (rng.random(k) < 0.008)
        new_level = np.where(recovers, new_level - 1, new_level)
        new_level = np.where(events.moves_to_home, 0, new_level)
        level_changed = (new_level != old_level) & ~events.moves_to_home & ~events.dies
        annual = month.care_recipient & (rng.random(k) < 1 / 12)
        assess = month.resident & ~events.dies & (level_changed | events.moves_to_home | annual)
        sel = np.flatnonzero(assess)
        if sel.size:
            log_assessment(
                self.log,
                rng,
                who=idx[sel],
                date=self._day(month, sel),
                need=self.frailty[idx[sel]] + d[sel],
                level=new_level[sel],
                nursing_home=month.state.nursing_home[sel] | events.moves_to_home[sel],
                dementia=month.state.conditions[sel][:, DEMENTIA],
            )
        log_health_conditions(
            self.log,
            rng,
            idx=idx,
            month_start=month.start,
            cap=month.cap,
            recorded=month.care_recipient | (month.resident & events.care_increase),
            decline_starts=events.decline_starts,
            dementia_onset=events.onsets[:, DEMENTIA],
            injury=events.injury,
            frailty=month.state.frailty,
        )
        self.level[idx] = new_level

    def _update_health(self, month: _Month, events: _Events) -> None:
        """Frailty drift and jumps, admission after-effect, weight, conditions, decline episodes."""
        idx = month.idx
        self.frailty[idx] += (
            model.FRAILTY_PER_YEAR / 12.0
            + model.FRAILTY_JUMP_ADMISSION * events.admitted
            + model.FRAILTY_JUMP_FRACTURE * events.fracture
            + model.FRAILTY_JUMP_DECLINE_END * events.decline_ends
            + model.FRAILTY_JUMP_CONDITION * events.onsets.sum(axis=1)
        )
        admitted = events.admitted | events.fracture
        self.recent[idx] = np.where(admitted, 1.0, self.recent[idx] * model.RECENT_DECAY)
        noise = self.rng.normal(0.0, 0.003, idx.size)
        self.weight[idx] *= np.exp(-0.016 * month.decline - 0.01 * self.recent[idx] - 0.0005 + noise)
        self.conditions[idx] |= events.onsets
        self.decline[idx] = (self.decline[idx] & ~events.decline_ends) | events.decline_starts

    def _update_residence(self, month: _Month, events: _Events) -> None:
        """Widowhood, nursing-home moves, relocations, emigration, death: each opens a new CPR spell."""
        idx, rng, k = month.idx, self.rng, month.idx.size
        spell_change = events.widowed | events.moves_to_home
        self.civil[idx[events.widowed]] = WIDOWED
        self.household[idx[events.widowed | events.moves_to_home]] = 1
        self.nursing_home[idx[events.moves_to_home]] = True
        sel = np.flatnonzero(events.relocates)
        if sel.size:
            who = idx[sel]
            draw = rng.random(sel.size)
            from_outside = self.status[who] == OUTSIDE
            same = ~from_outside & (draw < 0.55)
            to_outside = ~from_outside & (draw >= 0.8)
            n_sim = self.n_simulated
            elsewhere = np.where(
                to_outside,
                n_sim + rng.integers(0, self.districts.size - n_sim, sel.size),
                rng.integers(0, n_sim, sel.size),
            )
            target = np.where(same, self.municipality[who], elsewhere)
            self.municipality[who] = target
            self.district[who] = 1 + (rng.random(sel.size) * self.districts[target]).astype(int)
            self.status[who] = np.where(target < n_sim, RESIDENT, OUTSIDE)
            spell_change[sel] = True
        spell_status = np.full(k, "01")
        self.status[idx[events.dies]] = DEAD
        spell_status[events.dies] = "90"
        self.status[idx[events.emigrates]] = EMIGRATED
        spell_status[events.emigrates] = "80"
        spell_change |= events.dies | events.emigrates
        sel = np.flatnonzero(spell_change)
        if sel.size:
            who = idx[sel]
            leaves = events.dies[sel] | events.emigrates[sel]
            self.log.add(
                "spell",
                person=who,
                date=month.start + np.where(leaves, month.end_day[sel], days_in(rng, month.cap[sel])),
                status=spell_status[sel],
                municipality=self.municipality[who],
                district=self.district[who],
                civil=self.civil[who],
                household=self.household[who],
            )
