"""A real MLflow round trip in a temporary SQLite store: log, register, gate, alias, load, predict."""

import sqlite3

import numpy as np
import pytest
from mlflow import MlflowClient

import models
from models import registry
from models.config import TrainingConfig
from models.gate import GatePolicy, judge_challenger
from models.harness import fit_and_evaluate
from tests.models.synthetic_feature_set import make_feature_set

CONFIG = TrainingConfig(
    search_trials=1, max_boosting_rounds=60, early_stopping_rounds=10, bootstrap_samples=5
)
PROVENANCE = registry.Provenance("v1", "v1" + "0" * 62, ("batch-1",), (("cpr_population", "1"),))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    home = tmp_path_factory.mktemp("mlflow")
    features, labels, truth = make_feature_set(persons=600)
    result = fit_and_evaluate(features, labels, "death", CONFIG, "v1", truth=truth)
    uri = f"sqlite:///{home / 'mlflow.db'}"
    candidate = registry.log_candidate(
        result, CONFIG, PROVENANCE, tracking_uri=uri, artifact_root=home / "artifacts"
    )
    # A wide slope range: this tiny world is noisy, and the gate's rules are specified in test_gate.py.
    lenient = GatePolicy(slope_range=(0.3, 3.0))
    decision = judge_challenger(
        result.test_rows, result.risks["model"], None, age_sex_auroc=0.5, policy=lenient
    )
    registry.record_gate_and_card(candidate, decision, result, PROVENANCE, uri)
    return home, uri, result, candidate, decision


def test_first_model_is_registered_and_promoted(store):
    _, uri, _, candidate, decision = store
    assert candidate.registered_name == "tidlig-death-12m"
    assert decision.promote
    assert registry.champion_version("tidlig-death-12m", uri) == candidate.version


def test_load_champion_predicts_what_was_trained(store):
    _, uri, result, candidate, _ = store
    champion = models.load_champion("death", uri)
    assert champion.version == candidate.version
    assert champion.feature_set_version == "v1"
    np.testing.assert_allclose(champion.predict_risk(result.test_rows), result.risks["model"])
    contributions = champion.contributions(result.test_rows.head(3))
    assert list(contributions.columns) == champion.feature_names


def test_outcome_names_resolve_to_registered_models():
    assert registry.resolve_registered_name("admission") == "tidlig-admission-12m"
    assert registry.resolve_registered_name("frailty_6m") == "tidlig-frailty-6m"
    assert registry.resolve_registered_name("tidlig-death-12m") == "tidlig-death-12m"


def test_missing_champion_says_to_train(store):
    _, uri, *_ = store
    with pytest.raises(LookupError, match="tidlig train"):
        models.load_champion("admission_6m", uri)


def test_a_worse_challenger_is_registered_but_not_promoted(store):
    _, uri, result, candidate, _ = store
    champion = registry.load_model_version(candidate.registered_name, candidate.version, uri)
    rng = np.random.default_rng(0)
    worse = np.clip(result.risks["model"] + rng.normal(0, 0.2, len(result.risks["model"])), 0.001, 0.999)
    decision = judge_challenger(result.test_rows, worse, champion)
    second = registry.log_candidate(result, CONFIG, PROVENANCE, tracking_uri=uri, artifact_root=None)
    registry.record_gate_and_card(second, decision, result, PROVENANCE, uri)
    assert not decision.promote
    assert second.version != candidate.version
    assert registry.champion_version(candidate.registered_name, uri) == candidate.version


def test_run_holds_plots_card_and_pyfunc_model(store):
    import mlflow

    _home, uri, result, candidate, _ = store
    client = mlflow.MlflowClient(uri)
    names = {
        a.path
        for folder in ("plots", "model_card", "gate", "performance")
        for a in client.list_artifacts(candidate.run_id, folder)
    }
    assert {
        "plots/roc.png",
        "plots/calibration.png",
        "plots/decision_curve.png",
        "plots/importance.png",
        "plots/subgroups.png",
        "model_card/model_card.md",
        "model_card/model_card.html",
        "gate/decision.txt",
        "performance/performance.html",
    } <= names
    run = client.get_run(candidate.run_id)
    assert run.data.tags["feature_spec_hash"] == PROVENANCE.spec_hash
    assert "model_auroc_ci_low" in run.data.metrics
    assert "oracle_auroc" in run.data.metrics
    pyfunc = mlflow.pyfunc.load_model(f"models:/{candidate.registered_name}@champion")
    inputs = result.test_rows[result.trained.model.feature_names].astype("float64")
    np.testing.assert_allclose(pyfunc.predict(inputs), result.risks["model"])


def test_no_person_key_reaches_mlflow(store):
    home, _, result, *_ = store
    keys = set(result.test_rows["person_key"]) | set(result.outcome.frame["person_key"])
    blobs = [path.read_bytes() for path in home.rglob("*") if path.is_file() and path.suffix != ".db"]
    with sqlite3.connect(home / "mlflow.db") as connection:
        for (table,) in connection.execute("select name from sqlite_master where type='table'"):
            blobs.append(repr(connection.execute(f"select * from {table}").fetchall()).encode())
    everything = b"\n".join(blobs)
    assert not [key for key in keys if key.encode() in everything]


def test_the_experiment_opens_on_the_classic_model_view(store):
    import mlflow

    _home, uri, *_ = store
    experiment = mlflow.MlflowClient(uri).get_experiment_by_name(registry.EXPERIMENT_NAME)
    assert experiment.tags[registry.EXPERIMENT_KIND_TAG] == "custom_model_development"


# ----- champion integrity -------------------------------------------------------------------------------


def test_a_gate_approved_champion_is_verified(store):
    _, uri, _, candidate, _ = store
    assert registry.verify_champion(candidate.registered_name, uri) == candidate.version
    version = MlflowClient(uri).get_model_version(candidate.registered_name, candidate.version)
    assert version.tags["gate_decision"] == "promote"  # the decision is recorded against the version


def copy_version(uri, candidate, name, gate_tag):
    """A registered model of its own (so the shared champion is untouched), with or without a gate tag."""
    client = MlflowClient(uri)
    source = client.get_model_version(candidate.registered_name, candidate.version)
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    copied = client.create_model_version(name, source.source, run_id=candidate.run_id)
    if gate_tag is not None:
        client.set_model_version_tag(name, copied.version, "gate_decision", gate_tag)
    return client, str(copied.version)


def test_a_champion_moved_by_hand_past_the_gate_is_refused_with_how_to_restore(store):
    _, uri, _, candidate, _ = store
    name = "tidlig-handmoved-12m"
    client, approved = copy_version(uri, candidate, name, "promote")
    _, rejected = copy_version(uri, candidate, name, "reject")
    _, untagged = copy_version(uri, candidate, name, None)
    client.set_registered_model_alias(name, "champion", rejected)
    with pytest.raises(registry.ChampionNotApprovedError, match="gate decision 'reject'") as error:
        registry.verify_champion(name, uri)
    assert f"back to version {approved}" in str(error.value)
    assert "tidlig train" in str(error.value)
    client.set_registered_model_alias(name, "champion", untagged)
    with pytest.raises(registry.ChampionNotApprovedError, match="no promotion-gate record"):
        registry.verify_champion(name, uri)
    client.set_registered_model_alias(name, "champion", approved)
    assert registry.verify_champion(name, uri) == approved


def test_a_version_tag_without_the_gate_run_record_is_not_enough(store):
    _, uri, result, *_ = store
    name = "tidlig-forged-12m"
    second = registry.log_candidate(result, CONFIG, PROVENANCE, tracking_uri=uri, artifact_root=None)
    client = MlflowClient(uri)
    client.create_registered_model(name)
    source = client.get_model_version(second.registered_name, second.version).source
    forged = client.create_model_version(name, source, run_id=second.run_id)  # its run never saw the gate
    client.set_model_version_tag(name, forged.version, "gate_decision", "promote")
    client.set_registered_model_alias(name, "champion", forged.version)
    with pytest.raises(registry.ChampionNotApprovedError, match="re-run `tidlig train`"):
        registry.verify_champion(name, uri)


def test_verifying_a_missing_champion_says_to_train(store):
    _, uri, *_ = store
    with pytest.raises(LookupError, match="tidlig train"):
        registry.verify_champion("tidlig-frailty-6m", uri)
