"""One monitor run: what its inputs are (:class:`MonitorInputs`) and what it finds (:class:`MonitorReport`).

:func:`run_monitor` is plain Python over a small protocol, so the Prefect flow implements the inputs over
the operational DB (``monitoring.sources.OperationalLists``), the warehouse, the feature sets and MLflow, and
tests implement them over frames. It computes; :func:`monitoring.store.record_report` writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd

from monitoring.alerts import ReviewItem, drift_items, expected_items, realised_items, visit_items
from monitoring.config import MonitorConfig
from monitoring.data_quality import QUALITY_COLUMNS, data_quality_rows, ledger_seen
from monitoring.drift import drift_rows
from monitoring.estimation import METHOD, expected_performance
from monitoring.outcomes import OUTCOME_COLUMNS, Maturity, realised_rows
from monitoring.visits import YIELD_COLUMNS, visit_yield

EXPECTED_COLUMNS = (
    "list_id",
    "district",
    "as_of_date",
    "model_version",
    "persons",
    "listed",
    "expected_events",
    "expected_auroc",
    "expected_auroc_low",
    "expected_auroc_high",
    "expected_ppv",
    "expected_ppv_low",
    "expected_ppv_high",
    "expected_events_captured",
    "expected_share_captured",
    "observed_expected_low",
    "observed_expected_high",
    "method",
)
REALISED_COLUMNS = ("list_id", "maturity", "district", "as_of_date", "observed_until", "model_version")


class MonitorInputs(Protocol):
    """What a monitor run reads. Frames hold pseudonymised keys only; none is changed by the monitor."""

    def published_lists(self) -> pd.DataFrame:
        """Every published list (current and superseded): ``list_id``, ``district``, ``as_of_date``,
        ``capacity``, ``model_versions`` (outcome -> version)."""
        ...

    def list_scores(self, list_id: str) -> pd.DataFrame:
        """Everyone scored at the list: ``person_key``, ``risk``, ``listed`` (bool), ``district``, and
        where known ``age_years``, ``sex_female`` (for subgroup cells)."""
        ...

    def outcomes(self, list_id: str, observed_until: dt.date) -> pd.DataFrame:
        """Outcomes of the list's scored persons over ``(as_of_date, observed_until]`` from the final data:
        ``person_key``, ``event`` (1.0/0.0, NaN censored), ``event_date`` (NaT without event)."""
        ...

    def reference_features(self) -> pd.DataFrame:
        """The champion's reference rows (its latest training or validation period): ``prediction_date``,
        ``district``, the model's inputs and ``risk`` (the champion's score of each row)."""
        ...

    def current_features(self, as_of: dt.date) -> pd.DataFrame:
        """The scoring population at ``as_of``: ``district``, the model's inputs and ``risk``."""
        ...

    def feature_names(self) -> Sequence[str]:
        """The champion's inputs."""
        ...

    def history_start(self) -> dt.date | None:
        """The first date the warehouse holds history from (None: unknown, every date is comparable)."""
        ...

    def decisions(self) -> pd.DataFrame:
        """The review app's decisions (``monitoring.visits.DECISION_COLUMNS``)."""
        ...


@dataclass(frozen=True)
class MonitorReport:
    """Everything one monitor run found (aggregates only, small cells already suppressed)."""

    run_id: str
    as_of: dt.date
    config: MonitorConfig
    drift: pd.DataFrame
    expected: pd.DataFrame
    realised: pd.DataFrame
    visits: pd.DataFrame
    items: tuple[ReviewItem, ...]
    method: str = METHOD
    data_quality: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(QUALITY_COLUMNS)))

    @property
    def holds(self) -> list[str]:
        """The messages of this run's items that hold publication."""
        return [item.message for item in self.items if item.holds_publication]

    def summary(self) -> str:
        """One paragraph for the run log and the ``monitor_runs`` row."""
        judged = self.drift.loc[self.drift["comparable"] & self.drift["psi"].notna()]
        worst = ""
        if len(judged):
            top = judged.sort_values("psi", ascending=False).iloc[0]
            worst = f" (highest PSI {top['psi']:.3f}: {top['feature']} in {top['district']})"
        not_comparable = int((~self.drift["comparable"]).sum())
        stages = self.realised.drop_duplicates(["list_id", "maturity"])["maturity"].value_counts()
        return (
            f"Monitor at {self.as_of}: drift of {self.drift['feature'].nunique()} inputs and the score in "
            f"{self.drift['district'].nunique()} cells{worst}; {not_comparable} cell(s) not comparable; "
            f"{len(self.expected)} list(s) estimated ({METHOD.split(' (')[0]}); "
            f"{int(stages.get('mature', 0))} matured and {int(stages.get('partial', 0))} half-matured "
            f"list(s) evaluated; {len(self.items)} review item(s), {len(self.holds)} holding publication."
            + self._quality_summary()
        )

    def _quality_summary(self) -> str:
        quality = self.data_quality
        if quality.empty:
            return ""
        return (
            f" Data quality: {int(quality['deliveries'].sum())} deliveries of {quality['source'].nunique()} "
            f"source(s) in {quality['month'].nunique()} month(s), {int(quality['quarantined'].sum())} "
            f"quarantined ({int(quality['held'].sum())} held), {int(quality['missing'].sum())} expected "
            "extract(s) missing."
        )


def _day(value: object) -> dt.date:
    return pd.Timestamp(value).date()


def _add_months(day: dt.date, months: float) -> dt.date:
    whole = int(months)
    shifted = pd.Timestamp(day) + pd.DateOffset(months=whole)
    if months != whole:
        shifted += pd.Timedelta(days=round((months - whole) * 30.4375))
    return shifted.date()


def maturity_of(list_date: dt.date, as_of: dt.date, horizon_months: int) -> tuple[Maturity, dt.date] | None:
    """``("mature", list_date + h)`` once the horizon has passed, ``("partial", list_date + h/2)`` once half
    of it has, else None. ``as_of`` must be a date the data support (``screening.as_of``)."""
    mature_at = _add_months(list_date, horizon_months)
    if as_of >= mature_at:
        return "mature", mature_at
    partial_at = _add_months(list_date, horizon_months / 2)
    if as_of >= partial_at:
        return "partial", partial_at
    return None


def run_id_for(
    as_of: dt.date,
    config: MonitorConfig,
    list_ids: Sequence[str],
    *,
    ledger: Sequence[str] | None = None,
    model_version: str | None = None,
) -> str:
    """The run's ID: a hash of its date, config, the lists it saw and, when given, the delivery ledger it
    saw (``monitoring.data_quality.ledger_seen``) and the champion version it judged against. An
    identical rerun gets the same ID (and records nothing); a rerun after new deliveries or a new
    champion is a new run (decision D127)."""
    seen: dict[str, object] = {
        "as_of": as_of.isoformat(),
        "config": config.as_dict(),
        "lists": sorted(list_ids),
    }
    if ledger is not None:
        seen["ledger"] = sorted(ledger)
    if model_version is not None:
        seen["model_version"] = model_version
    text = json.dumps(seen, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def lists_up_to(inputs: MonitorInputs, as_of: dt.date) -> pd.DataFrame:
    """The published lists a run at ``as_of`` sees: those dated on or before it."""
    lists = inputs.published_lists()
    return lists.loc[[_day(day) <= as_of for day in lists["as_of_date"]]]


def monitor_run_id(
    lists: pd.DataFrame,
    config: MonitorConfig,
    as_of: dt.date,
    *,
    batches: pd.DataFrame | None = None,
    model_version: str | None = None,
) -> str:
    """The ID :func:`run_monitor` gives its report (:func:`run_id_for` of the lists it sees, from
    :func:`lists_up_to`, and the rest), known before any of the work: a caller can find that an identical
    run is already recorded and skip it."""
    list_ids = [str(list_id) for list_id in lists["list_id"]]
    ledger = None if batches is None else ledger_seen(batches, as_of)
    return run_id_for(as_of, config, list_ids, ledger=ledger, model_version=model_version)


def run_monitor(
    inputs: MonitorInputs,
    config: MonitorConfig,
    as_of: dt.date,
    *,
    evaluated: frozenset[tuple[str, str]] = frozenset(),
    batches: pd.DataFrame | None = None,
    quarantine_dir: Path | None = None,
    model_version: str | None = None,
) -> MonitorReport:
    """Drift at ``as_of``, expected performance of lists not yet estimated, realised performance of lists
    whose horizon (or half of it) has passed and that were not yet evaluated at that maturity, visit
    yield of lists with decisions, and the review items of every value outside its band.

    ``evaluated``: ``(list_id, stage)`` pairs already stored (``monitoring.store.evaluated_stages``).
    ``batches``: the warehouse ledger, for the data quality per source and month
    (``monitoring.data_quality``; report folders relative to ``quarantine_dir``); None: not judged.
    The run's ID hashes what it saw: the date, config, lists, the ledger (when given) and
    ``model_version`` (the champion judged against, when given; :func:`run_id_for`).
    """
    lists = lists_up_to(inputs, as_of)
    list_ids = [str(list_id) for list_id in lists["list_id"]]
    drift = drift_rows(
        inputs.reference_features(),
        inputs.current_features(as_of),
        inputs.feature_names(),
        current_date=as_of,
        history_start=inputs.history_start(),
        tolerance_days=config.drift_tolerance_days,
    )
    expected_rows, realised_frames = [], []
    for header in lists.to_dict("records"):
        list_id, list_date = str(header["list_id"]), _day(header["as_of_date"])
        version = (header.get("model_versions") or {}).get(config.outcome)
        stage = maturity_of(list_date, as_of, config.horizon_months)
        to_realise = stage is not None and (list_id, stage[0]) not in evaluated
        if (list_id, "expected") in evaluated and not to_realise:
            continue
        scores = inputs.list_scores(list_id)
        estimate = expected_performance(
            scores["risk"].to_numpy(dtype=float),
            scores["listed"].to_numpy(dtype=bool),
            simulations=config.simulations,
            seed=config.seed,
        )
        expected_rows.append(
            {
                "list_id": list_id,
                "district": str(header["district"]),
                "as_of_date": list_date,
                "model_version": None if version is None else str(version),
                **estimate.as_record(),
                "_store": (list_id, "expected") not in evaluated,
            }
        )
        if stage is not None and to_realise:
            maturity, observed_until = stage
            outcomes = inputs.outcomes(list_id, observed_until)
            scored = scores.merge(
                outcomes[["person_key", "event", "event_date"]], on="person_key", how="left", validate="1:1"
            )
            cells = realised_rows(scored, as_of=list_date, maturity=maturity)
            realised_frames.append(
                cells.assign(
                    list_id=list_id,
                    maturity=maturity,
                    district=str(header["district"]),
                    as_of_date=list_date,
                    observed_until=observed_until,
                    model_version=None if version is None else str(version),
                )
            )
    expected_all = pd.DataFrame(expected_rows, columns=[*EXPECTED_COLUMNS, "_store"])
    expected = expected_all.loc[expected_all["_store"].astype(bool), list(EXPECTED_COLUMNS)]
    realised = (
        pd.concat(realised_frames, ignore_index=True)[[*REALISED_COLUMNS, *OUTCOME_COLUMNS]]
        if realised_frames
        else pd.DataFrame(columns=[*REALISED_COLUMNS, *OUTCOME_COLUMNS])
    )
    decisions = inputs.decisions()
    with_decisions = [list_id for list_id in list_ids if list_id in set(decisions["list_id"].astype(str))]
    visits = (
        visit_yield(decisions.assign(list_id=decisions["list_id"].astype(str)), with_decisions)
        if with_decisions
        else pd.DataFrame(columns=list(YIELD_COLUMNS))
    )
    items = (
        drift_items(drift, config, as_of)
        + expected_items(expected, config)
        + realised_items(realised, expected_all, config)
        + visit_items(visits, config, as_of)
    )
    return MonitorReport(
        run_id=monitor_run_id(lists, config, as_of, batches=batches, model_version=model_version),
        as_of=as_of,
        config=config,
        drift=drift.reset_index(drop=True),
        expected=expected.reset_index(drop=True),
        realised=realised.reset_index(drop=True),
        visits=visits.reset_index(drop=True),
        items=tuple(items),
        data_quality=(
            data_quality_rows(batches, as_of, quarantine_dir=quarantine_dir)
            if batches is not None
            else pd.DataFrame(columns=list(QUALITY_COLUMNS))
        ),
    )
