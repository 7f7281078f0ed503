"""The `tidlig-score` Prefect flow: read, let ``screening.run.plan_run`` decide, commit.

The policy of a run (refuse or publish, and how the lists are built) lives in ``screening/run.py``. This
module implements its inputs (:class:`WarehouseRunInputs`: the warehouse catalog and history, the feature
sets, the operational database), loads the champions from MLflow, and commits the plan: the lists in one
database transaction, the aggregate files by atomic rename, the run recorded as published, unchanged or
refused. A refusal raises :class:`~pipelines.errors.PublishRefusedError` after it is recorded, so the
Prefect run fails with the reason and the previous lists stay current.
Import only after ``pipelines.runtime.prepare_environment`` (it imports Prefect).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from features.catalogue import feature_set_named
from features.labels import OUTCOMES
from features.store import (
    FEATURES_FILE,
    FeatureColumns,
    feature_set_folder,
    latest_version,
    read_features,
    read_manifest,
)
from models.risk_model import RiskModelLike
from pipelines.errors import InvalidParameterError, MissingInputError, PublishRefusedError
from pipelines.parameters import ScoreParameters
from pipelines.progress import say, step_logger
from pipelines.retry import IO_RETRIES
from pipelines.settings import Settings, SettingsReference
from screening.analytics import listed_by_district_text
from screening.config import ScreeningConfig
from screening.drift import BinnedReference
from screening.run import CitizenHistory, PreviousList, Published, Refused, RunInputs, plan_run
from screening.store import ListToPublish

AsTask = Callable[..., Callable[..., Any]]


def plain(function: Callable[..., Any], **_: Any) -> Callable[..., Any]:
    """Run a step as a plain call (outside Prefect: tests, notebooks)."""
    return function


def as_prefect_task(function: Callable[..., Any], *, retried: bool = False) -> Callable[..., Any]:
    """Run a step as a Prefect task: frames pass through, so no caching; ``retried`` reads and writes
    retry on transient I/O only (``pipelines.retry``), never a missing champion or a failed check.

    Every argument is handed over in ``prefect.utilities.annotations.quote``: these tasks are called with
    values, never futures, so there is no upstream task to find, and without it Prefect walks every
    nested object of every argument looking for one (the 23 district lists with each citizen's entry,
    facts and scores: a third of a 60k run's CPU, docs/decisions.md D130). The function gets the values
    themselves."""
    from prefect.utilities.annotations import quote

    prefect_task = task(function, cache_policy=NO_CACHE, **(IO_RETRIES if retried else {}))

    def call(*args: Any, **kwargs: Any) -> Any:
        quoted = {name: quote(value) for name, value in kwargs.items()}
        return prefect_task(*(quote(value) for value in args), **quoted)

    return call


@dataclass(frozen=True)
class ScoreResult:
    """How a run ended: its ID, the published list IDs, where the files are, and aggregate counts."""

    run_id: str
    status: str
    list_ids: list[str]
    output_dir: Path | None
    listed_per_district: dict[str, int] = field(default_factory=dict)
    reason: str | None = None
    listed_text_per_district: dict[str, str] = field(default_factory=dict)
    # list_id -> as-of date of the newer list that stays current (an older date was stored as history)
    kept_current: dict[str, dt.date] = field(default_factory=dict)
    # this run's own record in screening_runs, and when the run that published its lists finished (for
    # an unchanged run: the earlier record, which a later run never replaces)
    record_id: int | None = None
    published_at: dt.datetime | None = None


# ----- reading ------------------------------------------------------------------------------------------


def resolve_as_of(as_of: str | None, settings: Settings) -> dt.date:
    """``None`` -> the latest date the data support (``screening.as_of.resolve_scoring_date`` over the
    warehouse's batches ledger); ``latest`` -> the last prediction date of the LATEST feature set;
    otherwise the ISO date given. InvalidParameterError (for ``--as-of``) when it cannot be resolved.
    Whether the data reach a given date is checked by the run (:func:`check_scoring_date`)."""
    if as_of is None:
        from screening.as_of import ScoringDateError, resolve_scoring_date

        try:
            return resolve_scoring_date(None, read_batches(settings))
        except ScoringDateError as error:
            raise MissingInputError(str(error)) from error
    if as_of == "latest":
        try:
            return read_manifest(
                settings.features_dir, latest_version(settings.features_dir)
            ).prediction_dates[-1]
        except (FileNotFoundError, ValueError) as error:
            raise InvalidParameterError(str(error), option="--as-of") from error
    try:
        return dt.date.fromisoformat(as_of)
    except ValueError as error:
        raise InvalidParameterError(f"{error}; give YYYY-MM-DD or 'latest'.", option="--as-of") from error


def load_models(settings: Settings, primary: str, horizon_months: int) -> dict[str, RiskModelLike]:
    """The champion of every outcome that has one; the primary outcome's champion is required.

    Each champion is verified first: an alias that points at a version the promotion gate did not
    approve (moved by hand in the MLflow UI) refuses the run with :class:`PublishRefusedError` saying how
    to restore it. A local registry is read without importing MLflow
    (``models.champion_files.load_verified_champion``; the MLflow client otherwise, and for refusals).
    """
    from models.champion_files import (
        ChampionNotApprovedError,
        load_verified_champion,
        resolve_registered_name,
    )

    uri = str(settings.mlflow_tracking_uri)
    models: dict[str, RiskModelLike] = {}
    for outcome in OUTCOMES:
        name = resolve_registered_name(outcome if horizon_months == 12 else f"{outcome}_{horizon_months}m")
        try:
            models[outcome] = load_verified_champion(name, uri)
        except ChampionNotApprovedError as error:
            raise PublishRefusedError(f"Not published: {error}") from error
        except LookupError as error:
            if outcome == primary:
                raise MissingInputError(str(error)) from error
            continue
    return models


def check_scoring_date(as_of: dt.date, batches: pd.DataFrame) -> None:
    """InvalidParameterError (for ``--as-of``) naming each source's last delivery when ``as_of`` is past
    the end of the data (``screening.as_of.resolve_scoring_date``)."""
    from screening.as_of import ScoringDateError, resolve_scoring_date

    try:
        resolve_scoring_date(as_of, batches)
    except ScoringDateError as error:
        raise InvalidParameterError(str(error), option="--as-of") from error


def read_history_start(settings: Settings) -> dt.date | None:
    """The first date every landed history table holds data from (None without a warehouse)."""
    from screening.as_of import history_start
    from warehouse.store import Warehouse

    if not Path(settings.warehouse_dir).exists():
        return None
    connection = Warehouse(settings.warehouse_dir).connect(read_only=True)
    try:
        return history_start(connection)
    finally:
        connection.close()


def read_holds(engine: sa.Engine) -> list[str]:
    """The reasons of open monitoring review items that hold publication (``monitoring.store``)."""
    from monitoring.store import publication_holds

    return publication_holds(engine)


def read_objections(engine: sa.Engine) -> frozenset[str]:
    """The pseudonyms in the objection register (``screening.objections``); never scored or listed."""
    from screening.objections import objecting_person_keys

    return objecting_person_keys(engine)


def read_batches(settings: Settings) -> pd.DataFrame:
    """The warehouse catalog's batches ledger (empty when nothing was ingested)."""
    from warehouse.store import Warehouse

    return Warehouse(settings.warehouse_dir).batches()


def rebuildable_spec(settings: Settings, feature_set_version: str) -> Any:
    """The named spec the feature set's manifest records, when the catalogue still builds it (same spec
    hash); None otherwise (the feature table's own rows are all there is)."""
    manifest = read_manifest(Path(settings.features_dir), feature_set_version)
    try:
        spec = feature_set_named(manifest.feature_set_name)
    except KeyError:
        return None
    return spec if spec.spec_hash(**manifest.spec_context) == manifest.spec_hash else None


def scoring_features(settings: Settings, feature_set_version: str, as_of: dt.date) -> pd.DataFrame:
    """Feature rows of every cohort member at ``as_of`` with the champion's feature set.

    Built fresh from the warehouse, as known at ``as_of``, with the named spec the feature set's manifest
    records, when the catalogue still builds that spec (same spec hash); otherwise the feature table's
    own rows at ``as_of`` (built by `tidlig features` with that prediction date). The fresh build runs
    per shard of persons (``pipelines.cluster``; on the Dask cluster of the settings inside a flow run
    there) and gives the same rows whatever the shards.
    """
    features_dir = Path(settings.features_dir)
    feature_set_folder(features_dir, feature_set_version)  # a clear error when the version is not there
    spec = rebuildable_spec(settings, feature_set_version)
    if spec is not None:
        return fresh_features(settings, feature_set_version, spec, [as_of])
    rows = read_features(features_dir, feature_set_version, prediction_dates=[pd.Timestamp(as_of)])
    if rows.empty:
        raise MissingInputError(
            f"Feature set {feature_set_version} has no rows at {as_of} and the spec cannot be rebuilt. "
            f"Run `tidlig features` with prediction date {as_of}."
        )
    return rows.reset_index(drop=True)


def fresh_features(
    settings: Settings, feature_set_version: str, spec: Any, days: Sequence[dt.date]
) -> pd.DataFrame:
    """Feature rows of every cohort member at each of ``days``, as known at that day, built from the
    warehouse with ``spec`` in one pass (one cohort, one engine run), sharded by person."""
    from features.cohort import build_cohort
    from pipelines.cluster import shard_count
    from pipelines.features_flow import sharded_features
    from warehouse.store import Warehouse

    manifest = read_manifest(Path(settings.features_dir), feature_set_version)
    dates = [pd.Timestamp(day) for day in days]
    warehouse_dir = Path(settings.warehouse_dir)
    connection = Warehouse(warehouse_dir).connect(read_only=True)
    try:
        area = manifest.spec_context["area_municipalities"]
        members = build_cohort(connection, dates, manifest.mode, area).members  # type: ignore[arg-type]
    finally:
        connection.close()
    return sharded_features(
        members,
        shard_count(settings.shards, settings.cluster),
        warehouse_dir=warehouse_dir,
        spec=spec,
        dates=dates,
        mode=manifest.mode,
    )


def reference_features(settings: Settings, feature_set_version: str, as_of: dt.date) -> BinnedReference:
    """The champion's training distribution: its feature table's rows dated before ``as_of`` (all rows
    when none is), read one column at a time by the drift check (a million rows of 240 features are
    about 2 GB as one frame), with the bins earlier runs made of them kept in the home
    (``screening.kept_bins``, docs/decisions.md D143): a feature's rows are read and binned only once
    per feature set version and set of reference dates."""
    from screening.kept_bins import FOLDER, KeptReferenceBins

    features_dir = Path(settings.features_dir)
    rows = FeatureColumns(features_dir, feature_set_version, before=pd.Timestamp(as_of))
    features_file = feature_set_folder(features_dir, feature_set_version) / FEATURES_FILE
    folder = Path(settings.home) / FOLDER / feature_set_version
    return BinnedReference(rows, KeptReferenceBins(folder, feature_set_version, features_file))


def moved_reference(
    settings: Settings,
    feature_set_version: str,
    as_of: dt.date,
    period: tuple[dt.date, dt.date] | None = None,
) -> pd.DataFrame | None:
    """The drift reference built fresh, as known at each day, at the days
    ``screening.drift.reference_dates_moved_to`` names because no prediction date of the feature set is
    in ``as_of``'s calendar position (D148); None when one is, or when the spec cannot be rebuilt.

    With ``period`` (the champion's validation span, for the monitor) the days are taken from the
    prediction dates inside it first, and from all of them when the period has no month in position."""
    from screening.drift import reference_dates_moved_to

    spec = rebuildable_spec(settings, feature_set_version)
    if spec is None:
        return None
    dates = read_manifest(Path(settings.features_dir), feature_set_version).prediction_dates
    moved = []
    if period is not None:
        moved = reference_dates_moved_to([day for day in dates if period[0] <= day <= period[1]], as_of)
    moved = moved or reference_dates_moved_to(dates, as_of)
    if not moved:
        return None
    say(
        f"No reference date is on day {as_of.day} of its month: building the drift reference "
        f"at {', '.join(day.isoformat() for day in moved)} (D148)"
    )
    return fresh_features(settings, feature_set_version, spec, moved)


def read_history_for(settings: Settings, person_keys: Sequence[str], as_of: dt.date) -> CitizenHistory:
    """History rows (as known at ``as_of``) and birth years of the listed citizens."""
    from screening.history_reader import read_birth_years, read_history
    from warehouse.store import Warehouse

    connection = Warehouse(settings.warehouse_dir).connect(read_only=True)
    try:
        return CitizenHistory(
            tables=read_history(connection, list(person_keys), as_of),
            birth_years=read_birth_years(connection, list(person_keys), as_of),
        )
    finally:
        connection.close()


def previous_list_of(engine: sa.Engine, district: str, as_of: dt.date) -> PreviousList | None:
    """The district's current list from before ``as_of`` with its scores and members."""
    from screening.store import read_list_members, read_previous_list, read_scores

    previous = read_previous_list(engine, district, as_of)
    if previous is None:
        return None
    scores = read_scores(engine, [previous["list_id"]])
    return PreviousList(
        list_id=str(previous["list_id"]),
        scores=dict(zip(scores["person_key"], scores["risk"].astype(float), strict=True)),
        members=frozenset(read_list_members(engine, [previous["list_id"]])),
    )


class WarehouseRunInputs:
    """``screening.run.RunInputs`` over the warehouse, the feature sets and the operational database."""

    def __init__(self, settings: Settings, engine: sa.Engine, as_task: AsTask = plain) -> None:
        self.settings = settings
        self.engine = engine
        self.as_task = as_task

    def batches(self) -> pd.DataFrame:
        return self.as_task(read_batches, retried=True)(self.settings)

    def features_at(self, feature_set_version: str, as_of: dt.date) -> pd.DataFrame:
        # not one task: the build's shards are the tasks (on the cluster when there is one)
        return scoring_features(self.settings, feature_set_version, as_of)

    def reference_features(self, feature_set_version: str, as_of: dt.date) -> BinnedReference | pd.DataFrame:
        moved = moved_reference(self.settings, feature_set_version, as_of)  # not one task: its shards are
        if moved is not None:
            return moved
        return self.as_task(reference_features, retried=True)(self.settings, feature_set_version, as_of)

    def history_for(self, person_keys: Sequence[str], as_of: dt.date) -> CitizenHistory:
        return self.as_task(read_history_for, retried=True)(self.settings, person_keys, as_of)

    def previous_list(self, district: str, as_of: dt.date) -> PreviousList | None:
        return previous_list_of(self.engine, district, as_of)

    def review_decisions(self) -> pd.DataFrame | None:
        from screening.store import read_review_decisions

        return read_review_decisions(self.engine)


# ----- writing ------------------------------------------------------------------------------------------


def write_exports(
    settings: Settings,
    as_of: dt.date,
    lists: Sequence[ListToPublish],
    analytics: pd.DataFrame,
    attrition: pd.DataFrame,
) -> Path:
    """The run's files, each by atomic rename: the suppressed aggregates and an index page with the
    withheld count per district. Nothing per person: the identified lists are made on demand in the review
    app, scoped, re-authenticated and audited (docs/decisions.md D95)."""
    from screening.exports import aggregates_csv, exclusions_for_export, index_html, write_atomic

    folder = Path(settings.lists_dir) / as_of.isoformat()
    write_atomic(folder / "capacity_analytics.csv", aggregates_csv(analytics))
    write_atomic(folder / "exclusions.csv", aggregates_csv(exclusions_for_export(attrition, analytics)))
    listed = listed_by_district_text(analytics)
    summary = [
        {
            "district": item.header["district"],
            "list_id": item.header["list_id"],
            "listed": listed.get(str(item.header["district"]), ""),
        }
        for item in lists
    ]
    write_atomic(folder / "index.html", index_html(as_of.isoformat(), summary))
    return folder


def record(engine: sa.Engine, plan: Published | Refused, status: str, list_ids: Sequence[str]) -> int:
    """Append how the run ended to ``screening_runs`` (a record of its own; return its ``record_id``)."""
    from screening.store import record_run

    identity = plan.identity
    return record_run(
        engine,
        run_id=identity.run_id,
        as_of_date=identity.as_of,
        finished_at=dt.datetime.now(dt.UTC),
        status=status,
        reason=plan.reason if isinstance(plan, Refused) else None,
        list_ids=list_ids,
        model_versions=dict(identity.model_versions),
        feature_set_version=identity.feature_set_version,
        data_batches=identity.data_batches,
    )


def commit(
    settings: Settings,
    engine: sa.Engine,
    plan: Published,
    *,
    fail_after_rows: int | None = None,
    as_task: AsTask = plain,
) -> ScoreResult:
    """Publish the lists (one transaction), write the files, record the run."""
    from screening.store import existing_list_ids, publish_lists

    lists = list(plan.lists)
    already = existing_list_ids(engine, [item.header["list_id"] for item in lists])
    status = "unchanged" if len(already) == len(lists) else "published"
    list_ids = as_task(publish_lists)(
        engine, lists, created_at=dt.datetime.now(dt.UTC), fail_after_rows=fail_after_rows
    )
    output_dir = as_task(write_exports, retried=True)(
        settings, plan.identity.as_of, lists, plan.capacity_analytics, plan.exclusions
    )
    record_id = record(engine, plan, status, list_ids)
    from screening.store import newer_current_lists, publishing_record

    publisher = publishing_record(engine, plan.identity.run_id)
    return ScoreResult(
        run_id=plan.identity.run_id,
        status=status,
        list_ids=list_ids,
        output_dir=output_dir,
        listed_per_district=plan.listed_per_district,
        listed_text_per_district=listed_by_district_text(plan.capacity_analytics),
        kept_current=newer_current_lists(engine, list_ids),
        record_id=record_id,
        published_at=None if publisher is None else publisher["finished_at"],
    )


# ----- the run ------------------------------------------------------------------------------------------


def run_scoring(
    settings: Settings,
    as_of: dt.date,
    config: ScreeningConfig,
    *,
    models: Mapping[str, RiskModelLike] | None = None,
    inputs: RunInputs | None = None,
    fail_after_rows: int | None = None,
    as_task: AsTask = plain,
) -> ScoreResult:
    """The whole scoring run: check the date against the data, load and verify the champions, read the
    publication holds, plan the run, commit it or record the refusal.

    ``models`` and ``inputs`` may be given (tests, notebooks); by default the champions come from MLflow
    and the inputs from :class:`WarehouseRunInputs`. Raises InvalidParameterError for a date past the end
    of the data, PublishRefusedError after recording a refusal.
    """
    from screening.store import operational_engine

    engine = operational_engine(str(settings.operational_db_url))
    try:
        inputs = inputs or WarehouseRunInputs(settings, engine, as_task)
        check_scoring_date(as_of, inputs.batches())
        if models is None:
            say(f"Loading the {config.outcome} champion models")
            models = as_task(load_models, retried=True)(settings, config.outcome, config.horizon_months)
        say("Checking inputs and drift, ranking eligible citizens per district")
        plan = plan_run(
            as_of,
            config,
            dict(models),
            inputs,
            drift_psi_threshold=settings.drift_psi_threshold,
            holds=read_holds(engine),
            history_start=as_task(read_history_start, retried=True)(settings),
            objections=read_objections(engine),
        )
        if isinstance(plan, Refused):
            record(engine, plan, "refused", [])
            raise PublishRefusedError(plan.reason)
        say(f"Publishing {len(plan.lists)} district lists and the aggregate files")
        return commit(settings, engine, plan, fail_after_rows=fail_after_rows, as_task=as_task)
    finally:
        engine.dispose()


def publish_artifact(result: ScoreResult) -> None:
    """A Prefect markdown artifact with list counts per district, withheld exactly as in the published
    capacity analytics (``<5`` small, ``*`` withheld to protect another district)."""
    lines = ["| district | listed |", "|---|---|"]
    for district, shown in sorted(result.listed_text_per_district.items()):
        lines.append(f"| {district} | {shown} |")
    create_markdown_artifact(
        key="screening-lists",
        markdown=f"Run `{result.run_id}`: {len(result.list_ids)} lists published.\n\n" + "\n".join(lines),
        description="Screening lists per district",
    )


@flow(name="tidlig-score", log_prints=False, retries=0)
def score_flow(settings: SettingsReference, parameters: ScoreParameters | None = None) -> dict[str, Any]:
    """Score as of a date (default: the latest date the data support) and publish one list per district,
    or refuse with a reason."""
    parameters = parameters or ScoreParameters()
    resolved = settings.resolve()
    config = parameters.screening_config()
    day = resolve_as_of(parameters.as_of, resolved)
    say(f"Scoring as of {day} (capacity {config.capacity} per district unless its table says otherwise)")
    try:
        result = run_scoring(resolved, day, config, as_task=as_prefect_task)
    except PublishRefusedError as error:
        step_logger().warning(str(error))
        raise
    publish_artifact(result)
    count = len(result.list_ids)
    if result.status == "unchanged":
        when = f", published {result.published_at:%Y-%m-%d %H:%M} UTC" if result.published_at else ""
        say(
            f"Nothing new: the inputs are the same as in run {result.run_id}{when}, so its {count} "
            "district lists stay current (nothing was republished; this run is recorded on its own)."
        )
    else:
        say(f"Published {count} district lists (run {result.run_id}).")
    for newer in sorted(set(result.kept_current.values())):
        say(f"Stored as history: the list of {newer} stays current (a newer as-of date).")
    return {
        "run_id": result.run_id,
        "list_ids": result.list_ids,
        "status": result.status,
        "as_of": day.isoformat(),
        "output_dir": str(result.output_dir),
        "kept_current": sorted({day.isoformat() for day in result.kept_current.values()}),
        "record_id": result.record_id,
        "published_at": None if result.published_at is None else result.published_at.isoformat(),
    }
