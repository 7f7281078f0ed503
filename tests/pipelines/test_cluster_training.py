"""Training on a real two-worker Dask cluster (``distributed.LocalCluster``) with ``lightgbm.dask``: the same
search, early stopping and calibration as in process, and a model as good (AUROC within 0.005)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.base import clone

from models.config import TrainingConfig
from models.estimator import RiskClassifier
from models.harness import fit_and_evaluate
from models.metrics import auroc
from pipelines.cluster_training import DaskBoosterFitter, booster_fitter
from pipelines.settings import Settings
from tests.models.small_table import make_small_table
from tests.models.synthetic_feature_set import make_feature_set, write_feature_set

CONFIG = TrainingConfig(search_trials=3, max_boosting_rounds=300, bootstrap_samples=5)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


@pytest.fixture(scope="module")
def dask_client(cluster):
    import distributed

    with distributed.Client(cluster) as connected:
        yield connected


@pytest.fixture(scope="module")
def feature_set():
    return make_feature_set(3000, seed=5)


@pytest.fixture(scope="module")
def in_process(feature_set):
    features, labels, _ = feature_set
    return fit_and_evaluate(features, labels, "admission", CONFIG, "v1")


@pytest.fixture(scope="module")
def on_cluster(feature_set, dask_client):
    features, labels, _ = feature_set
    return fit_and_evaluate(
        features, labels, "admission", CONFIG, "v1", fitter=DaskBoosterFitter(dask_client)
    )


def test_a_cluster_trained_model_ranks_within_half_a_point_of_auroc_of_the_in_process_one(
    in_process, on_cluster
):
    labels = in_process.test_rows["label"].to_numpy()
    assert on_cluster.test_rows["label"].to_numpy().tolist() == labels.tolist()
    difference = auroc(labels, on_cluster.risks["model"]) - auroc(labels, in_process.risks["model"])
    assert abs(difference) <= 0.005


def test_the_cluster_model_was_grown_by_both_workers_together(in_process, on_cluster):
    assert "[num_machines: 2]" in on_cluster.trained.model.booster.model_to_string()
    assert "[num_machines: 2]" not in in_process.trained.model.booster.model_to_string()


def test_the_cluster_runs_the_same_search_on_the_same_folds(in_process, on_cluster):
    assert on_cluster.trained.fold_rows == in_process.trained.fold_rows
    assert [t.hyperparameters for t in on_cluster.trained.trials] == [
        t.hyperparameters for t in in_process.trained.trials
    ]
    assert on_cluster.trained.model.calibrator.method_ == in_process.trained.model.calibrator.method_


def test_early_stopping_on_the_cluster_stops_every_trial_before_the_last_round(on_cluster):
    for trial in on_cluster.trained.trials:
        assert trial.best_iteration < CONFIG.max_boosting_rounds
    best = on_cluster.trained.best_trial
    assert on_cluster.trained.model.booster.num_trees() == best.best_iteration
    assert best.validation_logloss == min(t.validation_logloss for t in on_cluster.trained.trials)


def test_trials_stop_near_the_round_they_stop_in_process(in_process, on_cluster):
    for local, remote in zip(in_process.trained.trials, on_cluster.trained.trials, strict=True):
        assert abs(remote.validation_logloss - local.validation_logloss) < 0.005
        assert abs(remote.best_iteration - local.best_iteration) <= max(20, local.best_iteration // 3)


def test_below_the_minimum_rows_the_fitter_trains_in_process_byte_for_byte(
    feature_set, in_process, dask_client
):
    features, labels, _ = feature_set
    fitter = DaskBoosterFitter(dask_client, min_rows=10**9)
    small = fit_and_evaluate(features, labels, "admission", CONFIG, "v1", fitter=fitter)
    assert small.trained.model.booster.model_to_string() == in_process.trained.model.booster.model_to_string()


def test_the_classifier_for_any_table_trains_on_the_cluster_too(dask_client):
    X, y, _ = make_small_table(4000, seed=2)
    options = {"search_trials": 2, "max_boosting_rounds": 300, "cross_fit_folds": 3}
    local = RiskClassifier(**options).fit(X, y)
    remote = RiskClassifier(**options, fitter=DaskBoosterFitter(dask_client)).fit(X, y)
    X_new, y_new, _ = make_small_table(4000, seed=9)
    difference = auroc(y_new, remote.predict_risk(X_new)) - auroc(y_new, local.predict_risk(X_new))
    assert abs(difference) <= 0.005
    assert [t.hyperparameters for t in remote.trials_] == [t.hyperparameters for t in local.trials_]
    assert remote.calibrator_.method_ == local.calibrator_.method_


def test_row_weights_reach_the_workers_boosters(dask_client):
    X, y, _ = make_small_table(4000, seed=3)
    matrix, labels = X.select_dtypes("number").to_numpy("float32"), np.asarray(y)
    names = list(X.select_dtypes("number").columns)
    parameters = {"objective": "binary", "learning_rate": 0.1, "num_leaves": 7, "verbosity": -1}

    def mean_raw(weights):
        prepared = DaskBoosterFitter(dask_client).prepare(
            matrix, labels, feature_names=names, train_weights=weights
        )
        booster = prepared.fit(parameters, rounds=30, early_stopping_rounds=None).booster
        return booster.predict(matrix).mean()

    # Events weighing three times as much push every leaf, and so the mean raw risk, up.
    assert mean_raw(np.where(labels == 1, 3.0, 1.0)) > mean_raw(None) + 0.05


def test_cloning_a_cluster_classifier_shares_its_connection(dask_client):
    fitter = DaskBoosterFitter(dask_client, min_rows=5)
    assert copy.deepcopy(fitter) is fitter
    assert clone(RiskClassifier(fitter=fitter)).fitter is fitter


def test_a_worker_share_with_one_outcome_class_is_refused_with_what_to_do(dask_client):
    matrix = np.arange(20, dtype="float32").reshape(10, 2)
    labels = np.array([1, 0] * 5)  # worker 0 gets every even row (all 1), worker 1 every odd (all 0)
    with pytest.raises(ValueError, match="cluster_training_min_rows"):
        DaskBoosterFitter(dask_client).prepare(matrix, labels, feature_names=["a", "b"])


def test_without_a_cluster_the_train_step_fits_in_process(tmp_path):
    with booster_fitter(Settings(home=tmp_path)) as fitter:
        assert fitter is None


def test_with_a_cluster_the_train_step_uses_the_configured_minimum(tmp_path, cluster):
    settings = Settings(home=tmp_path, cluster=cluster.scheduler_address, cluster_training_min_rows=1234)
    with booster_fitter(settings) as fitter:
        assert isinstance(fitter, DaskBoosterFitter)
        assert fitter.min_rows == 1234


@pytest.mark.slow
def test_tidlig_train_with_cluster_fits_on_the_workers_and_registers_the_model(
    tmp_path, monkeypatch, cluster
):
    from models.registry import load_model_version
    from pipelines.cli import cli

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    monkeypatch.setenv("TIDLIG_CLUSTER_TRAINING_MIN_ROWS", "0")
    write_feature_set(tmp_path, persons=1000)
    arguments = ["--home", str(tmp_path), "--demo", "train", "--outcome", "admission", "--trials", "1"]
    arguments += ["--max-rounds", "80", "--bootstrap", "5", "--cluster", cluster.scheduler_address]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    assert "Registered 1 model(s)" in result.output
    registered = load_model_version("tidlig-admission-12m", "1", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert "[num_machines: 2]" in registered.booster.model_to_string()
