"""One screening run: publish this week's lists, or refuse and say why. Pure; no I/O of its own.

``plan_run`` holds the whole policy of a run. It reads what it needs through :class:`RunInputs` (a small
protocol the Prefect flow implements over the warehouse, the feature sets and the operational database,
and tests implement with in-memory fakes) and returns a value: :class:`Published` with the district lists
ready to write, or :class:`Refused` with the reason. The flow (``pipelines/score_flow.py``) then commits
it: one database transaction, files by atomic rename, and the run recorded either way.

Refusal rules, checked in this order (the first that holds decides):

1. an open review item holds publication (the monitor's alerts; the flow reads them from the operational
   database and passes their messages as ``holds``, so this module knows nothing of monitoring);
2. the latest delivery of a source was quarantined and no corrected delivery has landed since, or a gap
   in a source's sequence of extracts (``screening.quarantine``);
3. nobody is in the scoring cohort at the date;
4. input drift: the PSI of a model feature between the champion's training rows and today's rows exceeds
   the threshold, judged only against reference dates whose windows covered as much history as today's
   (``screening.drift.comparable_drift_report`` with ``history_start``), so a 5-year window longer than
   the training dates' history is not a drift alarm.

Otherwise every eligible citizen is scored, exclusions are applied (``screening.eligibility``), the top
``capacity`` per district are listed with plain-language reasons built from the citizen facts
(``screening.facts``, ``screening.reasons``), and each district list gets its deterministic ID
(``screening.lists``). Messages carry counts, source and feature names, never person data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from screening.analytics import capacity_analytics
from screening.config import ScreeningConfig
from screening.drift import FeatureRows, comparable_drift_report
from screening.eligibility import apply_exclusions
from screening.facts import build_facts_table
from screening.lists import assemble_list, build_entries, run_id_for, select_for_lists
from screening.quarantine import blocking_quarantines, landed_batch_ids, missing_deliveries

if TYPE_CHECKING:
    from models.risk_model import RiskModelLike
    from screening.store import ListToPublish


@dataclass(frozen=True)
class CitizenHistory:
    """The listed citizens' history as known at the date: warehouse rows per table, all of them in one
    frame with a ``person_key`` column, and birth years (``screening.history_reader``)."""

    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    birth_years: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PreviousList:
    """A district's current list before this run: its ID, who was scored at it with what risk, who was
    listed."""

    list_id: str
    scores: Mapping[str, float]
    members: frozenset[str]


class RunInputs(Protocol):
    """What a screening run reads. Each method is one read; the flow retries them on transient I/O."""

    def batches(self) -> pd.DataFrame:
        """The warehouse's batches ledger (``screening.quarantine.BATCH_COLUMNS``; empty when none)."""
        ...

    def features_at(self, feature_set_version: str, as_of: dt.date) -> pd.DataFrame:
        """One feature row per cohort member at ``as_of``, built with the named feature set's spec."""
        ...

    def reference_features(self, feature_set_version: str, as_of: dt.date) -> pd.DataFrame | FeatureRows:
        """The champion's training distribution: that feature set's rows dated before ``as_of`` (a frame,
        or a view read one column at a time)."""
        ...

    def history_for(self, person_keys: Sequence[str], as_of: dt.date) -> CitizenHistory:
        """History rows and birth years of the given citizens, as known at ``as_of``."""
        ...

    def previous_list(self, district: str, as_of: dt.date) -> PreviousList | None:
        """The district's current list from before ``as_of``, or None when it has none."""
        ...

    def review_decisions(self) -> pd.DataFrame | None:
        """Clinicians' decisions (``person_key``, ``decided_on``, ``kind``), or None before the app ran."""
        ...


@dataclass(frozen=True)
class RunIdentity:
    """What identifies a run: the same inputs give the same ``run_id`` (docs/decisions.md D9)."""

    run_id: str
    as_of: dt.date
    model_versions: Mapping[str, str]
    feature_set_version: str
    data_batches: tuple[str, ...]


@dataclass(frozen=True)
class Published:
    """A run that publishes: one list per district, plus the aggregates exported beside them."""

    identity: RunIdentity
    lists: tuple[ListToPublish, ...]
    capacity_analytics: pd.DataFrame
    exclusions: pd.DataFrame

    @property
    def listed_per_district(self) -> dict[str, int]:
        return {item.header["district"]: len(item.entries) for item in self.lists}


@dataclass(frozen=True)
class Refused:
    """A run that must not publish; ``reason`` says why and what to do (no person data)."""

    identity: RunIdentity
    reason: str


RunPlan = Published | Refused


def model_versions(models: Mapping[str, RiskModelLike]) -> dict[str, str]:
    """``outcome -> registered version`` of the models used."""
    return {outcome: str(model.version) for outcome, model in sorted(models.items())}


def run_identity(
    as_of: dt.date, config: ScreeningConfig, models: Mapping[str, RiskModelLike], batches: pd.DataFrame
) -> RunIdentity:
    """The run's identity from the models, the landed batches delivered by ``as_of`` and the config."""
    versions = model_versions(models)
    feature_set_version = models[config.outcome].feature_set_version
    data_batches = tuple(landed_batch_ids(batches, delivered_before=pd.Timestamp(as_of)))
    return RunIdentity(
        run_id=run_id_for(as_of, versions, feature_set_version, data_batches, config),
        as_of=as_of,
        model_versions=versions,
        feature_set_version=feature_set_version,
        data_batches=data_batches,
    )


def plan_run(
    as_of: dt.date,
    config: ScreeningConfig,
    models: Mapping[str, RiskModelLike],
    inputs: RunInputs,
    *,
    drift_psi_threshold: float,
    holds: Sequence[str] = (),
    history_start: dt.date | None = None,
    objections: Collection[str] | None = None,
) -> RunPlan:
    """Decide this run: :class:`Refused` with the first refusal rule that holds, else :class:`Published`.

    ``models`` maps outcome to champion and must hold ``config.outcome`` (the one that ranks the lists).
    ``holds``: the reasons of open review items that hold publication (data; the flow reads them).
    ``history_start``: the first date the warehouse holds history from (None: every reference date is
    comparable), for the comparable drift rule.
    ``objections``: the pseudonyms in the objection register (data; the flow reads them). They are dropped
    from the cohort before drift, scoring and listing; the exclusions table counts them (None: not read,
    no row).
    """
    if config.outcome not in models:
        raise ValueError(f"No model for the ranking outcome {config.outcome!r}; got {sorted(models)}.")
    primary = models[config.outcome]
    batches = inputs.batches()
    identity = run_identity(as_of, config, models, batches)
    refusal = _hold_refusal(holds) or _delivery_refusal(batches, as_of)
    if refusal:
        return Refused(identity, refusal)
    features = inputs.features_at(identity.feature_set_version, as_of)
    objected = 0
    if objections:
        objecting = features["person_key"].astype(str).isin(set(objections))
        objected = int(objecting.sum())
        features = features.loc[~objecting].reset_index(drop=True)
    if features.empty:
        return Refused(identity, f"Not published: no citizen is in the scoring cohort at {as_of}.")
    report = comparable_drift_report(
        inputs.reference_features(identity.feature_set_version, as_of),
        features,
        primary.feature_names,
        drift_psi_threshold,
        current_date=as_of,
        history_start=history_start,
    )
    if report.tripped:
        return Refused(
            identity,
            f"Not published: input drift in {len(report.drifted)} model input(s) "
            f"(PSI over {drift_psi_threshold} against the champion's comparable reference):\n"
            + bulleted(report.drifted_lines())
            + (f"\n{report.not_comparable_line()}" if report.not_comparable else "")
            + "\nThe previous lists stay current. Next: check the latest deliveries for a fault; if the "
            "change is real, retrain (`tidlig train`) so the champion matches today's population.",
        )
    return _assemble(
        identity, config, models, features, inputs, objected=objected if objections is not None else None
    )


SHOWN_REASONS = 5
ACKNOWLEDGE_STEP = (
    "Next: an analyst reviews {which} evidence on the review app's Monitoring page and acknowledges it "
    "there or with `tidlig monitor acknowledge {item_id} --by NAME --note TEXT`; the next `tidlig score` "
    "publishes once nothing holds."
)


def bulleted(lines: Sequence[str], shown: int = SHOWN_REASONS, more: str = "more") -> str:
    """At most ``shown`` lines as ``- line``, then ``- ... and N more`` for the rest (one per line)."""
    text = [f"- {line}" for line in lines[:shown]]
    if len(lines) > shown:
        text.append(f"- ... and {len(lines) - shown} {more}")
    return "\n".join(text)


def _hold_refusal(holds: Sequence[str]) -> str | None:
    """The refusal of held publication: a headline with the count, one line per item (a few), the next
    step. ``holds`` are one line each (``monitoring.store.publication_holds``)."""
    if not holds:
        return None
    return (
        f"Not published: {len(holds)} open review item(s) hold publication until an analyst acknowledges "
        "them:\n"
        + bulleted(list(holds), more="more (all on the Monitoring page)")
        + "\nThe previous lists stay current. "
        + _acknowledge_step(holds)
    )


def _acknowledge_step(holds: Sequence[str]) -> str:
    """The next step, with the item's own ID when one item holds (its line starts ``item ID:``)."""
    if len(holds) == 1 and holds[0].startswith("item ") and ":" in holds[0]:
        item_id = holds[0].removeprefix("item ").split(":", 1)[0]
        return ACKNOWLEDGE_STEP.format(which="its", item_id=item_id)
    return ACKNOWLEDGE_STEP.format(which="each item's", item_id="ITEM_ID")


def _delivery_refusal(batches: pd.DataFrame, as_of: dt.date) -> str | None:
    """Why the data are not whole enough to publish on: a latest delivery quarantined and not re-landed,
    or a gap in a source's expected sequence of extracts (source and period named); None when whole."""
    blocked = blocking_quarantines(batches)
    gaps = [
        gap.sentence()
        for gap in missing_deliveries(batches, delivered_before=pd.Timestamp(as_of))
        if gap.source not in blocked
    ]
    if not blocked and not gaps:
        return None
    reasons = []
    if blocked:
        reasons.append(
            "the latest delivery of "
            + ", ".join(blocked)
            + " was quarantined and no corrected delivery has landed since"
        )
    if gaps:
        reasons.append("expected extracts are missing (" + "; ".join(gaps) + ")")
    return (
        "Not published: "
        + "; and ".join(reasons)
        + ". The previous lists stay current. Fix the delivery (see the quarantine report of "
        "`tidlig ingest`) or ask the supplier for the missing extract, ingest again, then rerun "
        "`tidlig score`."
    )


def score_frame(features: pd.DataFrame, models: Mapping[str, RiskModelLike], primary: str) -> pd.DataFrame:
    """``features`` plus ``risk`` (primary outcome) and ``risk_<outcome>`` columns; ``features`` is not
    modified (pandas 3 copies on write, so the feature columns are shared, not copied: 0.25 s at 60k)."""
    scored = features.copy(deep=False)
    for outcome, model in sorted(models.items()):
        scored[f"risk_{outcome}"] = np.asarray(model.predict_risk(features), dtype=float)
    scored["risk"] = scored[f"risk_{primary}"]
    return scored


def listed_contributions(listed: pd.DataFrame, model: RiskModelLike) -> pd.DataFrame:
    """The ranking model's SHAP contributions of the listed citizens only, indexed by ``person_key``.

    Only listed citizens get reasons, and a row's SHAP values do not depend on the other rows, so the
    (costly) TreeSHAP pass runs over the few hundred listed rows, not the whole cohort (D132)."""
    contributions = model.contributions(listed)
    contributions.index = listed["person_key"].astype(str).to_numpy()
    return contributions


def _assemble(
    identity: RunIdentity,
    config: ScreeningConfig,
    models: Mapping[str, RiskModelLike],
    features: pd.DataFrame,
    inputs: RunInputs,
    *,
    objected: int | None = None,
) -> Published:
    """Score, exclude, select per district and build each district's list with its reasons."""
    as_of = identity.as_of
    scored = score_frame(features, models, config.outcome)
    exclusion = apply_exclusions(
        scored, as_of, config, inputs.review_decisions(), objections_removed=objected
    )
    listed = select_for_lists(exclusion.eligible, config)
    contributions = listed_contributions(listed, models[config.outcome])
    listed_keys = sorted(listed["person_key"].astype(str))
    history = inputs.history_for(listed_keys, as_of)
    if history.birth_years:
        listed = listed.assign(birth_year=listed["person_key"].map(history.birth_years))
    facts_by_person = _facts_by_person(listed, history, models, as_of)
    districts = scored[["district", "municipality"]].drop_duplicates("district").sort_values("district")
    lists = tuple(
        _district_list(
            identity,
            config,
            district=str(district),
            municipality=str(municipality),
            listed=listed.loc[listed["district"] == district],
            eligible=exclusion.eligible.loc[exclusion.eligible["district"] == district],
            contributions=contributions,
            facts_by_person=facts_by_person,
            previous=inputs.previous_list(str(district), as_of),
        )
        for district, municipality in districts.itertuples(index=False)
    )
    return Published(
        identity=identity,
        lists=lists,
        capacity_analytics=capacity_analytics(exclusion.eligible, set(listed_keys)),
        exclusions=exclusion.attrition,
    )


def _facts_by_person(
    listed: pd.DataFrame, history: CitizenHistory, models: Mapping[str, RiskModelLike], as_of: dt.date
) -> dict[str, dict[str, Any]]:
    people = listed["person_key"].astype(str).tolist()
    risk_columns = {outcome: listed[f"risk_{outcome}"].astype(float).tolist() for outcome in models}
    risks = {
        person: {outcome: values[position] for outcome, values in risk_columns.items()}
        for position, person in enumerate(people)
    }
    return build_facts_table(listed, history.tables, as_of, risks)


def _district_list(
    identity: RunIdentity,
    config: ScreeningConfig,
    *,
    district: str,
    municipality: str,
    listed: pd.DataFrame,
    eligible: pd.DataFrame,
    contributions: pd.DataFrame,
    facts_by_person: Mapping[str, Mapping[str, Any]],
    previous: PreviousList | None,
) -> ListToPublish:
    entries = build_entries(
        listed,
        contributions,
        facts_by_person=facts_by_person,
        previous_scores=previous.scores if previous else {},
        previous_members=set(previous.members) if previous else None,
        as_of=identity.as_of,
        config=config,
    )
    return assemble_list(
        district=district,
        municipality=municipality,
        as_of=identity.as_of,
        model_versions=identity.model_versions,
        feature_set_version=identity.feature_set_version,
        data_batches=identity.data_batches,
        run_id=identity.run_id,
        config=config,
        previous_list_id=previous.list_id if previous else None,
        entries=entries,
        facts_by_person=facts_by_person,
        scores=dict(zip(eligible["person_key"].astype(str), eligible["risk"], strict=True)),
    )
