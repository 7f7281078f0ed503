"""The champion loaded without MLflow is the champion MLflow gives, and only when the gate approved it.

A real MLflow registry in a temporary SQLite store (as in test_registry.py): the light path
(``models.champion_files``) must agree with the MLflow client on which version is champion and on the
model's predictions, and must step aside (return None) for everything it cannot vouch for, so that the
MLflow path refuses with its full explanation.
"""

import numpy as np
import pytest
from mlflow import MlflowClient

from models import champion_files, registry
from models.config import TrainingConfig
from models.gate import GatePolicy, judge_challenger
from models.harness import fit_and_evaluate
from tests.models.synthetic_feature_set import make_feature_set

CONFIG = TrainingConfig(
    search_trials=1, max_boosting_rounds=60, early_stopping_rounds=10, bootstrap_samples=5
)
PROVENANCE = registry.Provenance("v1", "v1" + "0" * 62, ("batch-1",), (("cpr_population", "1"),))
NAME = "tidlig-death-12m"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    home = tmp_path_factory.mktemp("mlflow-light")
    features, labels, truth = make_feature_set(persons=600)
    result = fit_and_evaluate(features, labels, "death", CONFIG, "v1", truth=truth)
    uri = f"sqlite:///{home / 'mlflow.db'}"
    candidate = registry.log_candidate(
        result, CONFIG, PROVENANCE, tracking_uri=uri, artifact_root=home / "artifacts"
    )
    lenient = GatePolicy(slope_range=(0.3, 3.0))
    decision = judge_challenger(
        result.test_rows, result.risks["model"], None, age_sex_auroc=0.5, policy=lenient
    )
    registry.record_gate_and_card(candidate, decision, result, PROVENANCE, uri)
    assert decision.promote
    return uri, result, candidate


def test_the_light_path_finds_the_champion_the_registry_names(store):
    uri, _, candidate = store
    found = champion_files.approved_champion_files(NAME, uri)
    assert found is not None
    assert found.version == registry.verify_champion(NAME, uri) == candidate.version
    assert found.run_id == candidate.run_id


def test_the_light_champion_predicts_exactly_what_the_mlflow_loaded_one_does(store):
    uri, result, candidate = store
    light = champion_files.load_verified_champion(NAME, uri)
    heavy = registry.load_model_version(NAME, candidate.version, uri)
    assert light.version == heavy.version == candidate.version
    assert light.feature_names == heavy.feature_names
    assert light.feature_set_version == heavy.feature_set_version == "v1"
    np.testing.assert_array_equal(light.predict_risk(result.test_rows), heavy.predict_risk(result.test_rows))
    np.testing.assert_array_equal(
        light.contributions(result.test_rows.head(20)).to_numpy(),
        heavy.contributions(result.test_rows.head(20)).to_numpy(),
    )


def _copy_as(uri, candidate, name, gate_tag, run_id=None):
    client = MlflowClient(uri)
    source = client.get_model_version(candidate.registered_name, candidate.version)
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    copied = client.create_model_version(name, source.source, run_id=run_id or candidate.run_id)
    if gate_tag is not None:
        client.set_model_version_tag(name, copied.version, "gate_decision", gate_tag)
    return client, str(copied.version)


def test_a_champion_moved_by_hand_is_not_loaded_and_the_refusal_says_how_to_restore(store):
    uri, _, candidate = store
    name = "tidlig-lighthand-12m"
    client, approved = _copy_as(uri, candidate, name, "promote")
    _, rejected = _copy_as(uri, candidate, name, "reject")
    _, untagged = _copy_as(uri, candidate, name, None)
    for moved in (rejected, untagged):
        client.set_registered_model_alias(name, "champion", moved)
        assert champion_files.approved_champion_files(name, uri) is None
        with pytest.raises(champion_files.ChampionNotApprovedError, match=f"back to version {approved}"):
            champion_files.load_verified_champion(name, uri)
    client.set_registered_model_alias(name, "champion", approved)
    assert champion_files.load_verified_champion(name, uri).version == approved


def test_a_version_tag_without_the_gate_record_on_its_run_is_not_enough(store):
    uri, result, candidate = store
    second = registry.log_candidate(result, CONFIG, PROVENANCE, tracking_uri=uri, artifact_root=None)
    name = "tidlig-lightforged-12m"
    client, forged = _copy_as(uri, candidate, name, "promote", run_id=second.run_id)  # run never gated
    client.set_registered_model_alias(name, "champion", forged)
    assert champion_files.approved_champion_files(name, uri) is None
    with pytest.raises(registry.ChampionNotApprovedError, match="re-run `tidlig train`"):
        champion_files.load_verified_champion(name, uri)


def test_a_missing_champion_says_to_train_as_the_mlflow_path_does(store):
    uri, *_ = store
    with pytest.raises(LookupError, match="tidlig train") as light:
        champion_files.approved_champion_files("tidlig-frailty-6m", uri)
    with pytest.raises(LookupError) as through_mlflow:
        registry.verify_champion("tidlig-frailty-6m", uri)
    assert str(light.value) == str(through_mlflow.value)


def test_asking_for_an_outcome_without_a_champion_does_not_import_mlflow(store):
    """A scoring run asks for every outcome's champion; most homes train only some of them."""
    import subprocess
    import sys

    uri, *_ = store
    code = (
        "import sys; from models.champion_files import load_verified_champion\n"
        "try:\n"
        f"    load_verified_champion('tidlig-frailty-6m', {uri!r})\n"
        "except LookupError:\n"
        "    print('refused', 'mlflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["refused", "False"]


def test_missing_model_files_leave_the_decision_to_mlflow(store, tmp_path):
    uri, _, _candidate = store
    found = champion_files.approved_champion_files(NAME, uri)
    assert found is not None
    booster = found.folder / "booster.txt"
    saved = booster.read_bytes()
    booster.unlink()
    try:
        assert champion_files.approved_champion_files(NAME, uri) is None
    finally:
        booster.write_bytes(saved)


def test_other_registries_are_left_to_mlflow(tmp_path):
    assert champion_files.approved_champion_files(NAME, "http://mlflow.example:5000") is None
    assert champion_files.approved_champion_files(NAME, f"sqlite:///{tmp_path / 'absent.db'}") is None


def test_loading_the_champion_the_light_way_does_not_import_mlflow(store):
    import subprocess
    import sys

    uri, *_ = store
    code = (
        "import sys; from models.champion_files import load_verified_champion; "
        f"m = load_verified_champion({NAME!r}, {uri!r}); "
        "print(m.version, 'mlflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "False"
