"""The `tidlig-monitor` Prefect flow: read the published lists and the data, let ``monitoring.run`` judge,
record the report append-only, log matured metrics to MLflow.

The monitor's policy (drift, expected and realised performance, visit yield, review items and holds) lives
in ``monitoring/``. This module implements its inputs (:class:`WarehouseMonitorInputs`: the operational
database through ``monitoring.sources.OperationalLists``, the warehouse for outcomes and the history
start, the feature sets and the champion from MLflow for the reference and today's population), records
the report (``monitoring.store.record_report``) and the matured metrics
(``monitoring.tracking.log_matured_metrics``). A rerun at the same date that sees the same lists, the
same delivery ledger and the same champion records nothing new (the run ID is a hash of what it saw).
Import only after ``pipelines.runtime.prepare_environment`` (it imports Prefect).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from prefect import flow

from monitoring.config import MonitorConfig
from monitoring.sources import OperationalLists
from pipelines.errors import InvalidParameterError, MissingInputError
from pipelines.parameters import MonitorParameters
from pipelines.progress import say
from pipelines.score_flow import (
    AsTask,
    as_prefect_task,
    moved_reference,
    plain,
    read_batches,
    read_history_start,
    scoring_features,
)
from pipelines.settings import Settings, SettingsReference


@dataclass(frozen=True)
class Champion:
    """The verified champion the lists are judged against, and where its reference rows are."""

    registered_name: str
    version: str
    model: Any
    reference_dates: tuple[pd.Timestamp, ...]


@dataclass(frozen=True)
class MonitorResult:
    """How a monitor run ended: its ID, whether it was new, its summary and the holds it left open."""

    run_id: str
    recorded: bool
    summary: str
    items_opened: int
    holds: list[str]
    metrics_logged: int


# ----- reading ------------------------------------------------------------------------------------------


def resolve_monitor_date(as_of: str | None, settings: Settings) -> dt.date:
    """The monitor's date: the one given (checked against the deliveries), else the latest date the data
    support (``screening.as_of``). InvalidParameterError for ``--as-of`` past the end of the data."""
    from screening.as_of import ScoringDateError, resolve_scoring_date

    try:
        requested = None if as_of is None else dt.date.fromisoformat(as_of)
    except ValueError as error:
        raise InvalidParameterError(f"{error}; give YYYY-MM-DD.", option="--as-of") from error
    try:
        return resolve_scoring_date(requested, read_batches(settings))
    except ScoringDateError as error:
        if requested is None:
            raise MissingInputError(str(error)) from error
        raise InvalidParameterError(str(error), option="--as-of") from error


def _span_dates(span: str | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``2023-01-01..2023-06-01 (6 dates)`` (``models.split.TemporalSplit.describe``) to its two ends."""
    if not span or ".." not in span:
        return None
    first, rest = span.split("..", 1)
    return pd.Timestamp(first.strip()), pd.Timestamp(rest.split(" ", 1)[0].strip())


def load_champion_for_monitor(settings: Settings, outcome: str, horizon_months: int) -> Champion:
    """The verified champion of ``outcome`` and its latest training or validation period (the MLflow run's
    ``split_validation`` parameter; the training span when it has none)."""
    from mlflow import MlflowClient

    from models.registry import load_model_version, resolve_registered_name, verify_champion

    uri = str(settings.mlflow_tracking_uri)
    name = resolve_registered_name(outcome if horizon_months == 12 else f"{outcome}_{horizon_months}m")
    try:
        version = verify_champion(name, uri)
    except LookupError as error:
        raise MissingInputError(str(error)) from error
    model = load_model_version(name, version, uri)
    client = MlflowClient(tracking_uri=uri)
    params = client.get_run(client.get_model_version(name, version).run_id).data.params
    span = _span_dates(params.get("split_validation")) or _span_dates(params.get("split_train"))
    return Champion(name, version, model, span or ())


def read_reference(settings: Settings, champion: Champion) -> pd.DataFrame:
    """The champion's feature rows at its reference period, with its ``risk`` of each row."""
    from features.store import read_features
    from monitoring.chain import with_risk

    features_dir = Path(settings.features_dir)
    rows = read_features(features_dir, champion.model.feature_set_version)
    if champion.reference_dates:
        first, last = champion.reference_dates
        dates = pd.to_datetime(rows["prediction_date"])
        kept = rows.loc[(dates >= first) & (dates <= last)]
        rows = kept if not kept.empty else rows
    return with_risk(rows.reset_index(drop=True).copy(), champion.model)  # copy: one block, no warning


def read_current(settings: Settings, champion: Champion, as_of: dt.date) -> pd.DataFrame:
    """The scoring population at ``as_of`` (built as the scoring run builds it), with the champion's risk."""
    from monitoring.chain import with_risk

    rows = scoring_features(settings, champion.model.feature_set_version, as_of)
    return with_risk(rows.assign(prediction_date=pd.Timestamp(as_of)).copy(), champion.model)


def read_outcomes(
    settings: Settings, list_date: dt.date, observed_until: dt.date, config: MonitorConfig
) -> pd.DataFrame:
    """Outcomes of the cohort at ``list_date`` over ``(list_date, observed_until]``, from the warehouse as
    known at ``observed_until`` (``features.build_labels`` at half and whole horizon)."""
    from features import build_labels
    from monitoring.chain import label_months, outcomes_from_labels
    from monitoring.run import maturity_of
    from warehouse.store import Warehouse

    stage = maturity_of(list_date, observed_until, config.horizon_months)
    if stage is None:
        raise ValueError(f"A list of {list_date} is not observed by {observed_until}; nothing to evaluate.")
    months = label_months(stage[0], config.horizon_months)
    connection = Warehouse(settings.warehouse_dir).connect(read_only=True)
    try:
        labels = build_labels(
            connection,
            [pd.Timestamp(list_date)],
            horizons=sorted({config.horizon_months // 2, config.horizon_months}),
            data_end=pd.Timestamp(observed_until),
        )
    finally:
        connection.close()
    return outcomes_from_labels(labels, config.outcome, months)


class WarehouseMonitorInputs(OperationalLists):
    """``monitoring.run.MonitorInputs``: lists, scores and decisions from the operational database (the
    base class); outcomes and history from the warehouse; reference and current rows through the
    champion."""

    def __init__(
        self,
        settings: Settings,
        engine: sa.Engine,
        champion: Champion,
        config: MonitorConfig,
        *,
        as_task: AsTask = plain,
        as_of: dt.date | None = None,
    ) -> None:
        super().__init__(engine)
        self.settings = settings
        self.champion = champion
        self.config = config
        self.as_task = as_task
        self.as_of = as_of  # the run's date: the reference is built at its day of the month when needed
        self._list_dates: dict[str, dt.date] | None = None
        self._outcomes: dict[tuple[dt.date, dt.date], pd.DataFrame] = {}

    def _list_date(self, list_id: str) -> dt.date:
        if self._list_dates is None:
            lists = self.published_lists()
            self._list_dates = {
                str(row.list_id): pd.Timestamp(row.as_of_date).date() for row in lists.itertuples()
            }
        return self._list_dates[list_id]

    def outcomes(self, list_id: str, observed_until: dt.date) -> pd.DataFrame:
        # the outcomes are the whole cohort's at the list's date: every district's list of that date
        # shares them, so they are built once per date and observation end, not once per list
        key = (self._list_date(list_id), observed_until)
        if key not in self._outcomes:
            self._outcomes[key] = self.as_task(read_outcomes, retried=True)(
                self.settings, key[0], observed_until, self.config
            )
        return self._outcomes[key]

    def reference_features(self) -> pd.DataFrame:
        if self.as_of is not None:  # not one task: each date's build has its shards as tasks
            from monitoring.chain import with_risk

            period = None
            if self.champion.reference_dates:
                first, last = self.champion.reference_dates
                period = (first.date(), last.date())
            version = self.champion.model.feature_set_version
            moved = moved_reference(self.settings, version, self.as_of, period)
            if moved is not None:
                return with_risk(moved, self.champion.model)
        return self.as_task(read_reference, retried=True)(self.settings, self.champion)

    def current_features(self, as_of: dt.date) -> pd.DataFrame:
        # not one task: the feature build's shards are the tasks (on the cluster when there is one)
        return read_current(self.settings, self.champion, as_of)

    def feature_names(self) -> Sequence[str]:
        return list(self.champion.model.feature_names)

    def history_start(self) -> dt.date | None:
        return self.as_task(read_history_start, retried=True)(self.settings)


# ----- the run ------------------------------------------------------------------------------------------


def run_monitoring(
    settings: Settings,
    as_of: dt.date,
    config: MonitorConfig,
    *,
    champion: Champion | None = None,
    inputs: Any = None,
    as_task: AsTask = plain,
) -> MonitorResult:
    """The whole monitor run: champion, inputs, report, record, MLflow. ``champion`` and ``inputs`` may be
    given (tests, notebooks); by default they come from MLflow and :class:`WarehouseMonitorInputs`."""
    from monitoring.run import lists_up_to, monitor_run_id, run_monitor
    from monitoring.store import (
        create_schema,
        evaluated_stages,
        publication_holds,
        record_report,
        run_recorded,
    )
    from monitoring.tracking import log_matured_metrics
    from screening.store import operational_engine

    engine = operational_engine(str(settings.operational_db_url))
    try:
        create_schema(engine)
        if champion is None:
            champion = as_task(load_champion_for_monitor, retried=True)(
                settings, config.outcome, config.horizon_months
            )
        inputs = inputs or WarehouseMonitorInputs(
            settings, engine, champion, config, as_task=as_task, as_of=as_of
        )
        batches = as_task(read_batches, retried=True)(settings)
        model_version = f"{champion.registered_name}:{champion.version}"
        # An identical run (same date, config, lists, deliveries and champion) records nothing: find that
        # out before the drift and performance work, not after it.
        lists = lists_up_to(inputs, as_of)
        run_id = monitor_run_id(lists, config, as_of, batches=batches, model_version=model_version)
        if run_recorded(engine, run_id):
            return MonitorResult(
                run_id=run_id,
                recorded=False,
                summary="",
                items_opened=0,
                holds=publication_holds(engine),
                metrics_logged=0,
            )
        report = run_monitor(
            inputs,
            config,
            as_of,
            evaluated=evaluated_stages(engine),
            batches=batches,
            quarantine_dir=settings.quarantine_dir,
            model_version=model_version,
        )
        recorded = record_report(engine, report, finished_at=dt.datetime.now(dt.UTC))
        logged = 0
        if recorded and not report.realised.empty:
            logged = as_task(log_matured_metrics, retried=True)(
                report.realised, champion.registered_name, str(settings.mlflow_tracking_uri)
            )
        return MonitorResult(
            run_id=report.run_id,
            recorded=recorded,
            summary=report.summary(),
            items_opened=len(report.items),
            holds=publication_holds(engine),
            metrics_logged=logged,
        )
    finally:
        engine.dispose()


@flow(name="tidlig-monitor", log_prints=False, retries=0)
def monitor_flow(settings: SettingsReference, parameters: MonitorParameters | None = None) -> dict[str, Any]:
    """Monitor the published lists at a date (default: the latest date the data support): drift, expected
    and realised performance, visit yield; record it and open review items outside their bands."""
    parameters = parameters or MonitorParameters()
    resolved = settings.resolve()
    config = parameters.monitor_config()
    day = resolve_monitor_date(parameters.as_of, resolved)
    say(f"Monitoring the published lists as of {day}")
    result = run_monitoring(resolved, day, config, as_task=as_prefect_task)
    say(result.summary if result.recorded else f"Already recorded at {day} (run {result.run_id}).")
    if result.holds:
        say(f"{len(result.holds)} open review item(s) hold publication; see `tidlig monitor` output.")
    return {
        "run_id": result.run_id,
        "as_of": day.isoformat(),
        "recorded": result.recorded,
        "summary": result.summary,
        "items_opened": result.items_opened,
        "holds": result.holds,
        "metrics_logged": result.metrics_logged,
    }
