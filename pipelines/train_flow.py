"""The `tidlig-train` Prefect flow: train, evaluate, register and promote one risk model per outcome.

The flow reads the latest feature set (or a named one), trains each outcome with the models layer's
harness, logs and registers every candidate in MLflow, and moves the `champion` alias only through the
promotion gate. Person-level frames stay in this process; MLflow receives aggregates only.
Import this module only after `pipelines.runtime.prepare_environment` (it imports Prefect and MLflow);
`tidlig train` (pipelines/commands/train.py) does that.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from models import gate, registry, store
from models.config import TrainingConfig, target_name
from models.fitting import BoosterFitter
from models.gate import GateDecision
from models.harness import HarnessResult, fit_and_evaluate, prediction_dates_needed
from models.registry import Candidate, Provenance
from models.store import FeatureSet
from pipelines.cluster_training import booster_fitter
from pipelines.parameters import TrainParameters
from pipelines.progress import say
from pipelines.retry import IO_RETRIES
from pipelines.run_file import RunFile
from pipelines.settings import Settings, SettingsReference

RUN_FILE_ARTIFACT = "run.toml"


@task(cache_policy=NO_CACHE, **IO_RETRIES)
def read_feature_set(
    features_dir: Path, version: str | None, outcomes: tuple[str, ...], config: TrainingConfig
) -> FeatureSet:
    """Read the labels, then only the feature rows of the prediction dates the outcomes' folds use."""
    feature_set = store.read_feature_set(
        Path(features_dir),
        version,
        dates_from_labels=lambda labels: prediction_dates_needed(labels, outcomes, config),
    )
    say(
        f"Feature set {feature_set.version}: {len(feature_set.features):,} feature rows read, "
        f"{feature_set.features['prediction_date'].nunique()} of "
        f"{feature_set.labels['prediction_date'].nunique()} prediction dates "
        "(the training, validation and test folds)"
    )
    return feature_set


@task(cache_policy=NO_CACHE, **IO_RETRIES)
def read_truth_if_present(settings: SettingsReference, months: list[pd.Timestamp]) -> pd.DataFrame | None:
    """The pseudonymised hidden truth of a synthetic world for the oracle; None when absent.

    Takes the settings reference, not the key: a task's arguments are recorded by Prefect."""
    resolved = settings.resolve()
    world_dir = Path(resolved.world_dir)
    if resolved.pseudonym_key is None or not (world_dir / "truth" / "truth.parquet").exists():
        say("no synthetic truth (or no pseudonym key): the oracle baseline is skipped")
        return None
    return store.read_truth(world_dir, resolved.pseudonym_key, months)


@task(cache_policy=NO_CACHE)
def train_and_evaluate(
    feature_set: FeatureSet,
    truth: pd.DataFrame | None,
    outcome: str,
    config: TrainingConfig,
    fitter: BoosterFitter | None = None,
) -> HarnessResult:
    """Temporal split, search, calibration and evaluation of one outcome (boosters fitted by ``fitter``:
    on the Dask cluster for a large table, else in this process)."""
    return fit_and_evaluate(
        feature_set.features,
        feature_set.labels,
        outcome,
        config,
        feature_set.version,
        truth=truth,
        progress=say,
        fitter=fitter,
    )


@task(cache_policy=NO_CACHE)  # no retry: a second attempt could register the model twice
def register_candidate(
    result: HarnessResult,
    config: TrainingConfig,
    provenance: Provenance,
    tracking_uri: str,
    artifacts: Path | None,
) -> Candidate:
    """Log the run (aggregates, plots, model) and register a new model version. MLflow copies the model's
    code file with its source's mode (0644), past the umask, so a local artifact store is tightened after
    (docs/decisions.md D97)."""
    candidate = registry.log_candidate(
        result, config, provenance, tracking_uri=tracking_uri, artifact_root=artifacts
    )
    if artifacts is not None and Path(artifacts).is_dir():
        from privacy.files import tighten_tree

        tighten_tree(Path(artifacts))
    return candidate


@task(**IO_RETRIES)
def log_run_file(run_id: str, parameters: TrainParameters, tracking_uri: str) -> None:
    """Log ``run.toml``, the run file that repeats this training run (`tidlig train --run-file run.toml`)."""
    import mlflow

    text = RunFile(train=parameters).to_toml(("train",))
    mlflow.MlflowClient(tracking_uri).log_text(run_id, text, RUN_FILE_ARTIFACT)


@task(cache_policy=NO_CACHE)
def judge(
    result: HarnessResult, candidate: Candidate, config: TrainingConfig, tracking_uri: str
) -> GateDecision:
    """Score the champion (if any) on the challenger's test rows and apply the promotion gate."""
    current = registry.champion_version(candidate.registered_name, tracking_uri)
    champion = (
        registry.load_model_version(candidate.registered_name, current, tracking_uri) if current else None
    )
    age_sex = result.evaluation.metrics.get("age_sex")
    return gate.judge_challenger(
        result.test_rows,
        result.risks["model"],
        champion,
        age_sex_auroc=age_sex["auroc"].value if age_sex else None,
        min_cell_persons=config.min_cell_persons,
    )


@task(cache_policy=NO_CACHE)
def publish_decision(
    candidate: Candidate, decision: GateDecision, result: HarnessResult, provenance: Provenance, uri: str
) -> None:
    """Log the decision and the model card; move the champion alias when promoted."""
    registry.record_gate_and_card(candidate, decision, result, provenance, uri)


@flow(name="tidlig-train")
def train_flow(
    settings: SettingsReference, parameters: TrainParameters | None = None
) -> list[dict[str, str]]:
    """Train every outcome on one feature set; returns one summary per outcome (aggregates only).

    Raises ``features.store.FeatureSetNotFoundError`` when the feature set is not there.
    """
    parameters = parameters or TrainParameters()
    resolved = settings.resolve()
    config = parameters.training_config()
    outcomes = tuple(parameters.outcomes)
    feature_set = read_feature_set(
        Path(resolved.features_dir),
        parameters.feature_set_version,
        outcomes,
        config,
    )
    truth = None
    if parameters.use_oracle:
        months = sorted(feature_set.features["prediction_date"].dt.to_period("M").dt.to_timestamp().unique())
        truth = read_truth_if_present(settings, months)
    provenance = Provenance(
        feature_set_version=feature_set.version,
        spec_hash=feature_set.spec_hash,
        data_batches=tuple(feature_set.data_batches),
        contract_versions=tuple(feature_set.contract_versions.items()),
    )
    uri = str(resolved.mlflow_tracking_uri)
    summaries = []
    with booster_fitter(resolved) as fitter:  # tasks called here run in this process, beside the client
        for number, outcome in enumerate(outcomes, start=1):
            say(f"[{number}/{len(outcomes)}] Training {target_name(outcome, config.horizon_months)}")
            result = train_and_evaluate(feature_set, truth, outcome, config, fitter)
            candidate = register_candidate(result, config, provenance, uri, artifact_root(resolved))
            log_run_file(candidate.run_id, parameters, uri)
            decision = judge(result, candidate, config, uri)
            publish_decision(candidate, decision, result, provenance, uri)
            summaries.append(summarise(result, candidate, decision))
            say(summary_line(summaries[-1]))
    return summaries


def artifact_root(settings: Settings) -> Path | None:
    """Local artifact root, unless the tracking URI is an MLflow server (it chooses the location)."""
    if str(settings.mlflow_tracking_uri).startswith(("http://", "https://")):
        return None
    return settings.mlflow_artifact_root


def summarise(result: HarnessResult, candidate: Candidate, decision: GateDecision) -> dict[str, str]:
    """Aggregate summary of one outcome's run for the console and the flow's return value."""
    summary = {
        "target": result.target,
        "registered_model": candidate.registered_name,
        "version": candidate.version,
        "run_id": candidate.run_id,
        "promoted": str(decision.promote),
        "gate": "; ".join(decision.reasons),
    }
    for name, estimates in result.evaluation.metrics.items():
        summary[f"{name}_auroc"] = estimates["auroc"].as_text()
        summary[f"{name}_calibration_slope"] = estimates["calibration_slope"].as_text()
    return summary


def summary_line(summary: dict[str, str]) -> str:
    """Three readable lines: verdict, AUROC of model and baselines, calibration slope."""
    aurocs = ", ".join(
        f"{key.removesuffix('_auroc')} {value}" for key, value in summary.items() if key.endswith("_auroc")
    )
    verdict = "promoted to champion" if summary["promoted"] == "True" else "NOT promoted (see gate reasons)"
    return (
        f"  {summary['registered_model']} v{summary['version']}: {verdict}\n"
        f"  AUROC: {aurocs}\n  calibration slope (model): {summary['model_calibration_slope']}"
    )
