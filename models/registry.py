"""MLflow I/O of the models layer: log a candidate run, register it, move the `champion` alias, load.

Everything logged is aggregate: parameters, metrics, plots, suppressed subgroup tables, model files and
provenance ids. No person-level row (no pseudonym, no feature values, no input example) is ever logged.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models.signature import ModelSignature
from mlflow.types import ColSpec, Schema

from models.censoring import MIN_FOLLOWED
from models.champion_files import (
    CHAMPION_ALIAS,
    GATE_PROMOTE,
    GATE_TAG,
    ChampionNotApprovedError,
    no_champion_message,
    resolve_registered_name,
    risk_model_from_files,
)
from models.config import TrainingConfig, registered_model_name
from models.gate import GateDecision
from models.harness import HarnessResult
from models.model_card import CardContext, render_model_card, render_model_card_html
from models.performance_page import render_performance_page, summarise_performance
from models.risk_model import RiskModel

EXPERIMENT_NAME = "tidlig-training"
# MLflow 3 opens an experiment without this tag on its GenAI pages; these are classic model runs.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
PYFUNC_SOURCE = Path(__file__).with_name("mlflow_pyfunc.py")
_REQUIRED_PACKAGES = ("lightgbm", "numpy", "pandas", "scikit-learn", "mlflow")


@dataclass(frozen=True)
class Provenance:
    """Where the training data came from (ids and versions only)."""

    feature_set_version: str
    spec_hash: str
    data_batches: tuple[str, ...] = ()
    contract_versions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A registered model version and the run that produced it."""

    registered_name: str
    version: str
    run_id: str


def pip_requirements() -> list[str]:
    """Exact versions of what the pyfunc needs, from the running environment."""
    return [f"{name}=={metadata.version(name)}" for name in _REQUIRED_PACKAGES]


def _use(tracking_uri: str) -> MlflowClient:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri)


def ensure_experiment(tracking_uri: str, artifact_root: Path | None, name: str = EXPERIMENT_NAME) -> str:
    """The experiment id, creating it with an explicit artifact location under ``artifact_root``.

    With an MLflow server (http URI) and no artifact root, the server chooses the location.
    """
    client = _use(tracking_uri)
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        if existing.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            client.set_experiment_tag(existing.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return existing.experiment_id
    location = None
    if artifact_root is not None:
        Path(artifact_root).mkdir(parents=True, exist_ok=True)
        location = Path(artifact_root).absolute().as_uri()
    return client.create_experiment(
        name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
    )


def _signature(feature_names: list[str]) -> ModelSignature:
    return ModelSignature(
        inputs=Schema([ColSpec("double", name) for name in feature_names]),
        outputs=Schema([ColSpec("double", "risk")]),
    )


def _write_model_files(model: RiskModel, folder: Path) -> dict[str, str]:
    paths = {
        "booster": folder / "booster.txt",
        "calibrator": folder / "calibrator.json",
        "metadata": folder / "metadata.json",
    }
    model.booster.save_model(str(paths["booster"]))
    paths["calibrator"].write_text(json.dumps(model.calibrator.to_dict()))
    paths["metadata"].write_text(
        json.dumps(
            {
                "feature_names": model.feature_names,
                "feature_set_version": model.feature_set_version,
                "target": model.target,
                "global_importance": model.global_importance,
            }
        )
    )
    return {name: str(path) for name, path in paths.items()}


def log_candidate(
    result: HarnessResult,
    config: TrainingConfig,
    provenance: Provenance,
    *,
    tracking_uri: str,
    artifact_root: Path | None,
    parent_run_id: str | None = None,
) -> Candidate:
    """Log one target's run (params, metrics, plots, tables, model) and register it as a new version."""
    experiment_id = ensure_experiment(tracking_uri, artifact_root)
    outcome, horizon = result.target.rsplit("_", 1)
    name = registered_model_name(outcome, int(horizon.rstrip("m")))
    tags = {
        "target": result.target,
        "feature_set_version": provenance.feature_set_version,
        "feature_spec_hash": provenance.spec_hash,
        "data_batches_count": str(len(provenance.data_batches)),
        "contract_versions": json.dumps(dict(provenance.contract_versions)),
    }
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    with mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=tags) as run:
        _log_params_and_metrics(result, config)
        _log_plots_and_tables(result, provenance, config.min_cell_persons)
        with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
            # An input example would log a person's feature values; the signature is given instead.
            warnings.filterwarnings("ignore", message=".*An input example was not provided.*")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(PYFUNC_SOURCE),
                artifacts=_write_model_files(result.trained.model, Path(folder)),
                signature=_signature(result.trained.model.feature_names),
                pip_requirements=pip_requirements(),
                registered_model_name=name,
            )
        version = str(info.registered_model_version)
    return Candidate(registered_name=name, version=version, run_id=run.info.run_id)


def calibration_text(result: HarnessResult) -> str:
    """How the model's calibrator was fitted, in words (model card; aggregates only)."""
    calibrator = result.trained.model.calibrator
    method = {"isotonic": "isotonic", "platt": "Platt"}.get(str(calibrator.method_), str(calibrator.method_))
    rows = (
        "the validation fold plus out-of-fold risks of the training fold (cross-fitted)"
        if result.trained.calibration_rows == "cross_fitted"
        else "the validation fold"
    )
    return f"{method}, fitted on {rows}, {calibrator.events_} events"


def censoring_text(result: HarnessResult) -> str:
    """How rows whose follow-up ended early were handled, in words (model card; aggregates only)."""
    weighting = result.outcome.weighting
    if result.outcome.censoring != "ipcw" or weighting is None:
        return "are excluded for this outcome, not counted as negatives, and the rest are not reweighted"
    readable = {"age_years": "age third", "sex_female": "sex", "living_alone": "living alone"}
    names = (readable.get(name, name.replace("_", " ")) for name in weighting.strata_columns)
    strata = " x ".join(["prediction date", *names])
    return (
        "are excluded for this outcome, not counted as negatives; the rest are weighted by the inverse of "
        "the probability of still being followed when their label became known (Kaplan-Meier within "
        f"{strata}, {weighting.strata} strata, {weighting.capped_rows} weights capped at "
        f"{1 / MIN_FOLLOWED:g}), in training, early stopping and calibration"
    )


def _log_params_and_metrics(result: HarnessResult, config: TrainingConfig) -> None:
    best = result.trained.best_trial
    mlflow.log_params(config.as_params() | result.split.describe())
    mlflow.log_params(
        {
            "calibration_method_fitted": str(result.trained.model.calibrator.method_),
            "calibration_rows_fitted": result.trained.calibration_rows,
            "censoring_fitted": result.outcome.censoring,
        }
    )
    mlflow.log_params({f"best_{k}": f"{v:.6g}" for k, v in best.hyperparameters.items()})
    mlflow.log_params(
        {"best_iteration": best.best_iteration, "feature_count": len(result.outcome.feature_names)}
    )
    counts = {f"{fold}_rows": float(n) for fold, n in result.trained.fold_rows.items()}
    counts |= {f"{fold}_event_rows": float(n) for fold, n in result.trained.fold_events.items()}
    counts["censored_rows_excluded"] = float(result.outcome.censored_rows)
    if result.outcome.weighting is not None:
        counts["censoring_weights_capped"] = float(result.outcome.weighting.capped_rows)
    mlflow.log_metrics(counts | result.evaluation.flat_metrics())
    for step, trial in enumerate(result.trained.trials):
        mlflow.log_metrics(
            {
                "search_validation_logloss": trial.validation_logloss,
                "search_validation_auroc": trial.validation_auroc,
            },
            step=step,
        )


def _log_plots_and_tables(result: HarnessResult, provenance: Provenance, min_cell_persons: int) -> None:
    # matplotlib only when a model is registered: a scoring run imports this module for the client alone
    from models.plots import calibration_plot, decision_curve_plot, importance_plot, roc_plot, subgroup_plot

    evaluation = result.evaluation
    y = result.test_rows["label"].to_numpy(dtype=float)
    title = f"{result.target} (temporal test)"
    mlflow.log_figure(roc_plot(y, result.risks, f"ROC: {title}"), "plots/roc.png")
    mlflow.log_figure(
        calibration_plot(y, result.risks["model"], f"Calibration: {title}"), "plots/calibration.png"
    )
    mlflow.log_figure(
        decision_curve_plot(evaluation.decision_curve, f"Decision curve: {title}"), "plots/decision_curve.png"
    )
    importance = result.trained.model.global_importance
    mlflow.log_figure(importance_plot(importance, f"Importance: {result.target}"), "plots/importance.png")
    mlflow.log_figure(subgroup_plot(evaluation.subgroups, f"Subgroups: {title}"), "plots/subgroups.png")
    mlflow.log_text(evaluation.subgroups.to_csv(index=False), "tables/subgroups_suppressed.csv")
    summary = summarise_performance(
        result.test_rows, result.risks, evaluation.subgroups, title=title, min_cell=min_cell_persons
    )
    mlflow.log_text(render_performance_page(summary), "performance/performance.html")
    mlflow.log_text(evaluation.decision_curve.to_csv(index=False), "tables/decision_curve.csv")
    mlflow.log_dict(importance, "explanations/global_importance.json")
    mlflow.log_dict({"capacity": evaluation.capacity}, "tables/capacity.json")
    mlflow.log_dict(
        {
            "feature_set_version": provenance.feature_set_version,
            "feature_spec_hash": provenance.spec_hash,
            "data_batches": list(provenance.data_batches),
            "contract_versions": dict(provenance.contract_versions),
        },
        "provenance.json",
    )


def record_gate_and_card(
    candidate: Candidate,
    decision: GateDecision,
    result: HarnessResult,
    provenance: Provenance,
    tracking_uri: str,
    *,
    move_alias: bool = True,
) -> str:
    """Log the gate decision and the model card to the candidate's run and version; move the alias if
    the gate promotes and ``move_alias`` (notebook challengers pass False). Returns the card Markdown."""
    client = _use(tracking_uri)
    context = CardContext(
        registered_name=candidate.registered_name,
        version=candidate.version,
        target=result.target,
        feature_set_version=provenance.feature_set_version,
        spec_hash=provenance.spec_hash,
        split=result.split.describe(),
        fold_rows=result.trained.fold_rows,
        fold_events=result.trained.fold_events,
        censored_rows=result.outcome.censored_rows,
        gate_text=decision.as_text(),
        importance=result.trained.model.global_importance,
        hyperparameters=result.trained.best_trial.hyperparameters,
        calibration=calibration_text(result),
        censoring=censoring_text(result),
    )
    card = render_model_card(context, result.evaluation)
    client.log_text(candidate.run_id, decision.as_text(), "gate/decision.txt")
    client.log_text(candidate.run_id, card, "model_card/model_card.md")
    client.log_text(candidate.run_id, render_model_card_html(card), "model_card/model_card.html")
    client.set_tag(candidate.run_id, "gate_decision", "promote" if decision.promote else "reject")
    client.set_model_version_tag(
        candidate.registered_name,
        candidate.version,
        "gate_decision",
        "promote" if decision.promote else "reject",
    )
    client.set_model_version_tag(
        candidate.registered_name, candidate.version, "gate_reasons", "; ".join(decision.reasons)
    )
    client.set_model_version_tag(
        candidate.registered_name, candidate.version, "feature_set_version", provenance.feature_set_version
    )
    client.update_model_version(
        candidate.registered_name,
        candidate.version,
        description=f"{result.target}; model card: runs:/{candidate.run_id}/model_card/model_card.html",
    )
    if decision.promote and move_alias:
        client.set_registered_model_alias(candidate.registered_name, CHAMPION_ALIAS, candidate.version)
    return card


def champion_version(registered_name: str, tracking_uri: str) -> str | None:
    """The version holding the `champion` alias, or None (no such model or alias yet)."""
    client = _use(tracking_uri)
    try:
        return str(client.get_model_version_by_alias(registered_name, CHAMPION_ALIAS).version)
    except MlflowException:
        return None


def load_model_version(registered_name: str, version: str, tracking_uri: str) -> RiskModel:
    """Rebuild the RiskModel of a registered version from its logged files."""
    _use(tracking_uri)
    with tempfile.TemporaryDirectory() as folder:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{registered_name}/{version}",
                dst_path=folder,
                tracking_uri=tracking_uri,
            )
        )
        return risk_model_from_files(local / "artifacts", str(version))


def load_champion(outcome: str, tracking_uri: str) -> RiskModel:
    """The current champion of an outcome (docs/interfaces.md section 4).

    Raises LookupError, saying to run `tidlig train`, when no champion exists.
    """
    name = resolve_registered_name(outcome)
    version = champion_version(name, tracking_uri)
    if version is None:
        raise LookupError(
            f"No '{CHAMPION_ALIAS}' version of {name} in the MLflow registry at the configured tracking URI. "
            "Run `tidlig train` (a model becomes champion only after passing the promotion gate)."
        )
    return load_model_version(name, version, tracking_uri)


# ----- champion integrity: the alias must point at a version the promotion gate approved ---------------


def _gate_approved(client: MlflowClient, version: object) -> bool:
    """Both records of :func:`record_gate_and_card` say promote: the version's tag and its run's tag."""
    if getattr(version, "tags", {}).get(GATE_TAG) != GATE_PROMOTE:
        return False
    run_id = getattr(version, "run_id", None)
    if not run_id:
        return False
    try:
        return client.get_run(run_id).data.tags.get(GATE_TAG) == GATE_PROMOTE
    except MlflowException:
        return False


def last_gate_approved_version(registered_name: str, tracking_uri: str) -> str | None:
    """The highest version of ``registered_name`` that the promotion gate approved, or None."""
    client = _use(tracking_uri)
    versions = client.search_model_versions(f"name = '{registered_name}'")
    approved = [int(v.version) for v in versions if _gate_approved(client, v)]
    return str(max(approved)) if approved else None


def verify_champion(registered_name: str, tracking_uri: str) -> str:
    """The champion's version, after checking that the promotion gate approved it.

    Raises LookupError (run `tidlig train`) when there is no champion, and
    :class:`ChampionNotApprovedError` when the alias points at a version whose gate record is missing or
    says reject (for example an alias moved by hand in the MLflow UI); the message says how to restore.
    The scoring run calls this before it loads a champion.
    """
    client = _use(tracking_uri)
    try:
        champion = client.get_model_version_by_alias(registered_name, CHAMPION_ALIAS)
    except MlflowException as error:
        raise LookupError(no_champion_message(registered_name)) from error
    if _gate_approved(client, champion):
        return str(champion.version)
    recorded = champion.tags.get(GATE_TAG)
    found = "no promotion-gate record" if recorded is None else f"gate decision '{recorded}'"
    approved = last_gate_approved_version(registered_name, tracking_uri)
    restore = (
        f"move '{CHAMPION_ALIAS}' back to version {approved}, the last version the gate approved "
        f"(MLflow UI, or MlflowClient().set_registered_model_alias('{registered_name}', '{CHAMPION_ALIAS}', "
        f"'{approved}')), or re-run `tidlig train` so the gate decides"
        if approved is not None
        else "re-run `tidlig train` so the gate decides (no version of this model has passed the gate)"
    )
    raise ChampionNotApprovedError(
        f"Refusing the '{CHAMPION_ALIAS}' of {registered_name}: version {champion.version} has {found}, so "
        f"it did not pass the promotion gate (was the alias moved by hand?). To restore: {restore}."
    )
