"""`tidlig score`: score every eligible citizen as of a date and publish one list per district.

The flow reads (warehouse catalog, features, champion models, operational DB), calls the pure functions of
``screening/``, and writes (operational DB in one transaction, then CSV/HTML files via atomic renames).
It refuses to publish, leaving the previous lists current and exiting non-zero, when the latest delivery of
a source was quarantined or when the inputs drifted (PSI over ``settings.drift_psi_threshold``).
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import click
import numpy as np
import pandas as pd

from pipelines.settings import Settings
from screening.config import OUTCOMES, ScreeningConfig, capacity_from_mapping

if TYPE_CHECKING:
    from screening.store import ListToPublish


class RiskModelLike(Protocol):
    """What scoring needs from a model (docs/interfaces.md section 4)."""

    feature_names: list[str]
    version: str | None
    feature_set_version: str

    def predict_risk(self, features: pd.DataFrame) -> np.ndarray: ...

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame: ...


class PublishRefusedError(RuntimeError):
    """Publishing was refused for a safety reason; the message says why (no person data) and what to do."""


@dataclass(frozen=True)
class ScoreResult:
    """How a run ended: its ID, the published list IDs, where the files are, and aggregate counts."""

    run_id: str
    status: str
    list_ids: list[str]
    output_dir: Path | None
    listed_per_district: dict[str, int] = field(default_factory=dict)
    reason: str | None = None


# ----- reading ------------------------------------------------------------------------------------------


def load_models(settings: Settings, primary: str, horizon_months: int) -> dict[str, RiskModelLike]:
    """The champion of every outcome that has one; the primary outcome's champion is required."""
    from models.registry import load_champion

    models: dict[str, RiskModelLike] = {}
    for outcome in OUTCOMES:
        name = outcome if horizon_months == 12 else f"{outcome}_{horizon_months}m"
        try:
            models[outcome] = load_champion(name, str(settings.mlflow_tracking_uri))
        except LookupError:
            if outcome == primary:
                raise
    return models


def read_batches(settings: Settings) -> pd.DataFrame:
    """The warehouse catalog's batches ledger (empty when nothing was ingested)."""
    from warehouse.store import Warehouse

    return Warehouse(settings.warehouse_dir).batches()


def scoring_features(settings: Settings, feature_set_version: str, as_of: dt.date) -> pd.DataFrame:
    """Feature rows of every cohort member at ``as_of`` with the champion's feature set.

    Built fresh from the warehouse, as known at ``as_of``, with the spec stored beside the feature set
    (``features_dir/<version>/spec.json``) when the features layer can rebuild it; otherwise the feature
    table's own rows at ``as_of`` (built by `tidlig features` with that prediction date).
    """
    folder = Path(settings.features_dir) / feature_set_version
    if not folder.exists():
        raise FileNotFoundError(
            f"The champion was trained on feature set {feature_set_version}, but {folder} does not exist. "
            "Rebuild it with `tidlig features` or retrain with `tidlig train`."
        )
    built = _build_fresh_features(settings, folder, as_of)
    if built is not None:
        return built
    table = pd.read_parquet(folder / "features.parquet")
    rows = table.loc[pd.to_datetime(table["prediction_date"]).dt.date == as_of]
    if rows.empty:
        raise FileNotFoundError(
            f"Feature set {feature_set_version} has no rows at {as_of} and the spec cannot be rebuilt. "
            f"Run `tidlig features` with prediction date {as_of}."
        )
    return rows.reset_index(drop=True)


def _build_fresh_features(settings: Settings, folder: Path, as_of: dt.date) -> pd.DataFrame | None:
    """Rebuild the champion's features at ``as_of`` when the current catalogue spec is the one it was
    trained on (same spec hash with the same context); None otherwise."""
    spec_path = folder / "spec.json"
    if not spec_path.exists():
        return None
    from features.catalogue import default_feature_set
    from features.engine import build_feature_table
    from warehouse.store import Warehouse

    document = json.loads(spec_path.read_text())
    context = {key: document.get(key) for key in ("mode", "area_municipalities", "horizons")}
    spec = default_feature_set()
    if spec.spec_hash(**context) != document.get("spec_hash"):
        return None
    connection = Warehouse(settings.warehouse_dir).connect(read_only=True)
    try:
        return build_feature_table(
            connection,
            spec,
            [pd.Timestamp(as_of)],
            mode=context["mode"] or "as_known",
            area_municipalities=context["area_municipalities"],
        )
    finally:
        connection.close()


def reference_features(settings: Settings, feature_set_version: str, as_of: dt.date) -> pd.DataFrame:
    """The champion's training distribution: its feature table's rows dated before ``as_of``."""
    table = pd.read_parquet(Path(settings.features_dir) / feature_set_version / "features.parquet")
    before = table.loc[pd.to_datetime(table["prediction_date"]).dt.date < as_of]
    return before if not before.empty else table


def read_history_for(settings: Settings, person_keys: list[str], as_of: dt.date) -> dict[str, Any]:
    """History rows (as known at ``as_of``) and birth years of the listed citizens."""
    from screening.history_reader import read_birth_years, read_history
    from warehouse.store import Warehouse

    connection = Warehouse(settings.warehouse_dir).connect(read_only=True)
    try:
        return {
            "history": read_history(connection, person_keys, as_of),
            "birth_years": read_birth_years(connection, person_keys, as_of),
        }
    finally:
        connection.close()


def read_identities_for(settings: Settings, person_keys: list[str]) -> dict[str, tuple[str, str]] | None:
    """CPR and name per pseudonym from the key store; only ever called in an operational deployment."""
    from screening.store import KeyStoreUnavailableError, read_identities

    if settings.deployment != "operational":
        raise PermissionError("Re-identification is only allowed in an operational deployment.")
    try:
        frame = read_identities(str(settings.keystore_url), person_keys)
    except KeyStoreUnavailableError:
        return None
    return {
        str(row.person_key): (str(row.cpr), "" if row.name is None else str(row.name))
        for row in frame.itertuples(index=False)
    }


# ----- computing (pure) ---------------------------------------------------------------------------------


def score_frame(
    features: pd.DataFrame, models: Mapping[str, RiskModelLike], primary: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``features`` plus ``risk`` (primary outcome) and ``risk_<outcome>`` columns; and the primary model's
    SHAP contributions indexed by ``person_key``."""
    scored = features.copy()
    for outcome, model in sorted(models.items()):
        scored[f"risk_{outcome}"] = np.asarray(model.predict_risk(features), dtype=float)
    scored["risk"] = scored[f"risk_{primary}"]
    contributions = models[primary].contributions(features)
    contributions.index = features["person_key"].astype(str).to_numpy()
    return scored, contributions


def model_versions(models: Mapping[str, RiskModelLike]) -> dict[str, str]:
    """``outcome -> registered version`` of the models used."""
    return {outcome: str(model.version) for outcome, model in sorted(models.items())}


# ----- the flow -----------------------------------------------------------------------------------------


def run_scoring(
    settings: Settings,
    as_of: dt.date,
    config: ScreeningConfig,
    *,
    models: Mapping[str, RiskModelLike] | None = None,
    fail_after_rows: int | None = None,
    as_task: Callable[..., Callable[..., Any]] = lambda function, **_: function,
) -> ScoreResult:
    """The whole scoring run as plain Python; the Prefect flow passes ``as_task`` to run each I/O step as
    a task (``retries`` only on the transient-I/O reads, never on checks).

    ``models`` may be given (tests, notebooks); by default the champions are loaded from MLflow.
    Raises :class:`PublishRefusedError` after recording the refusal when a safety check fails.
    """
    from screening.drift import drift_report
    from screening.quarantine import blocking_quarantines, landed_batch_ids
    from screening.store import operational_engine, read_review_decisions, record_run

    engine = operational_engine(str(settings.operational_db_url))
    try:
        if models is None:
            models = as_task(load_models, retries=2)(settings, config.outcome, config.horizon_months)
        models = dict(models)
        primary = models[config.outcome]
        versions = model_versions(models)
        feature_set_version = primary.feature_set_version
        batches = as_task(read_batches, retries=2)(settings)
        data_batches = landed_batch_ids(batches, delivered_before=pd.Timestamp(as_of))
        from screening.lists import run_id_for

        run_id = run_id_for(as_of, versions, feature_set_version, data_batches, config)

        def refuse(reason: str) -> PublishRefusedError:
            record_run(
                engine,
                run_id=run_id,
                as_of_date=as_of,
                finished_at=dt.datetime.now(dt.UTC),
                status="refused",
                reason=reason,
                list_ids=[],
                model_versions=versions,
                feature_set_version=feature_set_version,
                data_batches=data_batches,
            )
            return PublishRefusedError(reason)

        blocked = blocking_quarantines(batches)
        if blocked:
            raise refuse(
                "Not published: the latest delivery of "
                + ", ".join(blocked)
                + " was quarantined and no corrected delivery has landed since. The previous lists stay "
                "current. Fix the delivery (see the quarantine report of `tidlig ingest`), ingest again, "
                "then rerun `tidlig score`."
            )
        features = as_task(scoring_features)(settings, feature_set_version, as_of)
        if features.empty:
            raise refuse(f"Not published: no citizen is in the scoring cohort at {as_of}.")
        report = drift_report(
            as_task(reference_features)(settings, feature_set_version, as_of),
            features,
            primary.feature_names,
            settings.drift_psi_threshold,
        )
        if report.tripped:
            raise refuse(
                "Not published: input drift — "
                + report.summary()
                + ". The previous lists stay current. Check the latest deliveries for a fault; if the change "
                "is real, retrain (`tidlig train`) so the champion matches today's population."
            )
        return _build_and_publish(
            settings=settings,
            engine=engine,
            as_of=as_of,
            config=config,
            models=models,
            features=features,
            versions=versions,
            feature_set_version=feature_set_version,
            data_batches=data_batches,
            run_id=run_id,
            decisions=read_review_decisions(engine),
            fail_after_rows=fail_after_rows,
            record=record_run,
            as_task=as_task,
        )
    finally:
        engine.dispose()


def _build_and_publish(
    *,
    settings: Settings,
    engine: Any,
    as_of: dt.date,
    config: ScreeningConfig,
    models: Mapping[str, RiskModelLike],
    features: pd.DataFrame,
    versions: dict[str, str],
    feature_set_version: str,
    data_batches: list[str],
    run_id: str,
    decisions: pd.DataFrame | None,
    fail_after_rows: int | None,
    record: Any,
    as_task: Callable[..., Callable[..., Any]],
) -> ScoreResult:
    from screening.analytics import capacity_analytics
    from screening.eligibility import apply_exclusions
    from screening.facts import build_facts
    from screening.lists import assemble_list, build_entries, select_for_lists
    from screening.store import (
        existing_list_ids,
        publish_lists,
        read_list_members,
        read_previous_list,
        read_scores,
    )

    scored, contributions = score_frame(features, models, config.outcome)
    exclusion = apply_exclusions(scored, as_of, config, decisions)
    listed = select_for_lists(exclusion.eligible, config)
    listed_keys = sorted(listed["person_key"].astype(str))
    read = as_task(read_history_for, retries=2)(settings, listed_keys, as_of)
    if read["birth_years"]:
        listed = listed.assign(birth_year=listed["person_key"].map(read["birth_years"]))
    facts_by_person = {}
    for _, row in listed.iterrows():
        person = str(row["person_key"])
        risks = {outcome: float(row[f"risk_{outcome}"]) for outcome in models}
        facts_by_person[person] = build_facts(row.to_dict(), read["history"].get(person, {}), as_of, risks)

    districts = scored[["district", "municipality"]].drop_duplicates("district").sort_values("district")
    to_publish: list[ListToPublish] = []
    for district, municipality in districts.itertuples(index=False):
        previous = read_previous_list(engine, str(district), as_of)
        previous_ids = [previous["list_id"]] if previous else []
        previous_scores_frame = read_scores(engine, previous_ids)
        previous_scores = dict(
            zip(previous_scores_frame["person_key"], previous_scores_frame["risk"].astype(float), strict=True)
        )
        members = read_list_members(engine, previous_ids) if previous else None
        in_district = listed.loc[listed["district"] == district]
        entries = build_entries(
            in_district,
            contributions,
            facts_by_person=facts_by_person,
            previous_scores=previous_scores,
            previous_members=members,
            as_of=as_of,
            config=config,
        )
        eligible_here = exclusion.eligible.loc[exclusion.eligible["district"] == district]
        to_publish.append(
            assemble_list(
                district=str(district),
                municipality=str(municipality),
                as_of=as_of,
                model_versions=versions,
                feature_set_version=feature_set_version,
                data_batches=data_batches,
                run_id=run_id,
                config=config,
                previous_list_id=previous["list_id"] if previous else None,
                entries=entries,
                facts_by_person=facts_by_person,
                scores=dict(zip(eligible_here["person_key"].astype(str), eligible_here["risk"], strict=True)),
            )
        )

    already = existing_list_ids(engine, [item.header["list_id"] for item in to_publish])
    status = "unchanged" if len(already) == len(to_publish) else "published"
    list_ids = as_task(publish_lists)(
        engine, to_publish, created_at=dt.datetime.now(dt.UTC), fail_after_rows=fail_after_rows
    )
    analytics = capacity_analytics(exclusion.eligible, set(listed_keys))
    output_dir = as_task(_write_exports)(settings, as_of, to_publish, analytics, exclusion.attrition)
    record(
        engine,
        run_id=run_id,
        as_of_date=as_of,
        finished_at=dt.datetime.now(dt.UTC),
        status=status,
        reason=None,
        list_ids=list_ids,
        model_versions=versions,
        feature_set_version=feature_set_version,
        data_batches=data_batches,
    )
    return ScoreResult(
        run_id=run_id,
        status=status,
        list_ids=list_ids,
        output_dir=output_dir,
        listed_per_district={item.header["district"]: len(item.entries) for item in to_publish},
    )


def _write_exports(
    settings: Settings,
    as_of: dt.date,
    lists: list[ListToPublish],
    analytics: pd.DataFrame,
    attrition: pd.DataFrame,
) -> Path:
    """Per-district CSV + HTML (operational only) and suppressed aggregates, each by atomic rename."""
    from screening.analytics import MIN_CELL
    from screening.exports import aggregates_csv, index_html, list_csv, list_html, write_atomic

    folder = Path(settings.lists_dir) / as_of.isoformat()
    write_atomic(folder / "capacity_analytics.csv", aggregates_csv(analytics))
    suppressed_attrition = attrition.assign(
        removed=[value if value == 0 or value >= MIN_CELL else None for value in attrition["removed"]]
    )
    write_atomic(folder / "exclusions.csv", aggregates_csv(suppressed_attrition))
    if settings.deployment != "operational":
        return folder
    keys = sorted({entry["person_key"] for item in lists for entry in item.entries})
    identities = read_identities_for(settings, keys)
    for item in lists:
        district = item.header["district"]
        write_atomic(folder / f"{district}.csv", list_csv(item.header, item.entries, identities))
        write_atomic(folder / f"{district}.html", list_html(item.header, item.entries, identities))
    summary = [{"district": item.header["district"], "listed": len(item.entries)} for item in lists]
    write_atomic(folder / "index.html", index_html(as_of.isoformat(), summary))
    return folder


# ----- Prefect and click --------------------------------------------------------------------------------


def screening_config(
    *,
    capacity: int,
    capacity_file: str | None,
    exclude_full_home_care: bool,
    recent_visit_days: int,
    dismissed_days: int,
    outcome: str,
) -> ScreeningConfig:
    """A validated ScreeningConfig from CLI/flow parameters (``capacity_file``: TOML or JSON table)."""
    by_district: dict[str, int] = {}
    if capacity_file:
        path = Path(capacity_file)
        raw = tomllib.loads(path.read_text()) if path.suffix == ".toml" else json.loads(path.read_text())
        by_district = capacity_from_mapping(raw.get("capacity", raw))
    return ScreeningConfig(
        capacity=capacity,
        capacity_by_district=by_district,
        exclude_full_home_care=exclude_full_home_care,
        recent_visit_days=recent_visit_days,
        dismissed_days=dismissed_days,
        outcome=outcome,  # type: ignore[arg-type]
    )


@click.command("score")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="Scoring date YYYY-MM-DD, or 'latest' for the last prediction date of the latest feature set "
    "(what a demo world needs) [default: today].",
)
@click.option("--capacity", default=ScreeningConfig.capacity, show_default=True, help="Visits per district.")
@click.option(
    "--capacity-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="TOML/JSON table district = visits; overrides --capacity for the districts it names.",
)
@click.option(
    "--exclude-full-home-care/--include-full-home-care",
    default=False,
    show_default=True,
    help="Skip citizens who already get both personal care and practical help (§79a allows it).",
)
@click.option(
    "--recent-visit-days",
    default=ScreeningConfig.recent_visit_days,
    show_default=True,
    help="Skip citizens visited or reviewed within this many days.",
)
@click.option(
    "--dismissed-days",
    default=ScreeningConfig.dismissed_days,
    show_default=True,
    help="Skip citizens a clinician dismissed within this many days.",
)
@click.option(
    "--outcome",
    type=click.Choice(OUTCOMES),
    default="admission",
    show_default=True,
    help="Which champion's risk ranks the lists.",
)
@click.pass_obj
def score_command(
    settings: Settings,
    *,
    as_of: str | None,
    capacity: int,
    capacity_file: str | None,
    exclude_full_home_care: bool,
    recent_visit_days: int,
    dismissed_days: int,
    outcome: str,
) -> None:
    """Score every eligible citizen and publish one capacity-sized list per district.

    Refuses to publish (exit 1, previous lists stay current) when a needed source's latest delivery was
    quarantined or input drift exceeds the PSI threshold (TIDLIG_DRIFT_PSI_THRESHOLD, default 0.25).
    """
    from pipelines.runtime import prepare_environment

    prepare_environment(settings)
    import os

    exported = _settings_environment(settings)
    previous = {name: os.environ.get(name) for name in exported}
    os.environ.update(exported)
    # The flow loads its settings from these variables; put them back when the command ends so a
    # process that runs several commands (tests, notebooks) does not inherit this home.
    click.get_current_context().call_on_close(lambda: _restore_environment(previous))
    try:
        screening_config(
            capacity=capacity,
            capacity_file=capacity_file,
            exclude_full_home_care=exclude_full_home_care,
            recent_visit_days=recent_visit_days,
            dismissed_days=dismissed_days,
            outcome=outcome,
        )
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    try:
        day = resolve_as_of(as_of, settings)
    except (ValueError, FileNotFoundError, KeyError) as error:
        raise click.BadParameter(str(error), param_hint="--as-of") from error
    click.echo(
        f"Scoring as of {day} (capacity {capacity} per district unless a capacity file says otherwise)..."
    )
    from pipelines.score_flow import score_flow

    try:
        state = score_flow(
            as_of=day,
            capacity=capacity,
            capacity_file=capacity_file,
            exclude_full_home_care=exclude_full_home_care,
            recent_visit_days=recent_visit_days,
            dismissed_days=dismissed_days,
            outcome=outcome,
        )
    except PublishRefusedError as error:
        raise click.ClickException(str(error)) from error
    except (LookupError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from error
    folder = Path(settings.lists_dir) / day
    if state["status"] == "unchanged":
        click.echo(f"Same inputs as before: the {len(state['list_ids'])} district lists are unchanged.")
    click.echo(f"Published {len(state['list_ids'])} district lists (run {state['run_id']}).")
    click.echo(f"  Operational DB: {settings.operational_db_url}")
    click.echo(f"  Files:          {folder}")
    if settings.deployment == "operational":
        click.echo(f"  Open {folder / 'index.html'} to print the lists; `tidlig review` to work on them.")
    else:
        click.echo("  Research deployment: only aggregates were exported (cells under 5 suppressed).")


def resolve_as_of(as_of: str | None, settings: Settings) -> str:
    """``None`` -> today (UTC); ``latest`` -> the last prediction date in ``features_dir/LATEST``'s spec;
    otherwise the ISO date given (validated)."""
    if as_of is None:
        return dt.datetime.now(dt.UTC).date().isoformat()
    if as_of == "latest":
        latest = Path(settings.features_dir) / "LATEST"
        if not latest.exists():
            raise FileNotFoundError(f"{latest} does not exist; run `tidlig features` first.")
        spec = json.loads(
            (Path(settings.features_dir) / latest.read_text().strip() / "spec.json").read_text()
        )
        return str(spec["prediction_dates"][-1])
    return dt.date.fromisoformat(as_of).isoformat()


def _restore_environment(previous: dict[str, str | None]) -> None:
    import os

    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _settings_environment(settings: Settings) -> dict[str, str]:
    """The settings as TIDLIG_* variables, so the flow (which loads settings itself) sees the CLI's."""
    values = {
        "TIDLIG_HOME": str(settings.home),
        "TIDLIG_DEPLOYMENT": settings.deployment,
        "TIDLIG_DRIFT_PSI_THRESHOLD": str(settings.drift_psi_threshold),
    }
    for name in (
        "world_dir",
        "landing_dir",
        "warehouse_dir",
        "quarantine_dir",
        "features_dir",
        "lists_dir",
        "care_db_url",
        "operational_db_url",
        "keystore_url",
        "mlflow_tracking_uri",
    ):
        values[f"TIDLIG_{name.upper()}"] = str(getattr(settings, name))
    return values
