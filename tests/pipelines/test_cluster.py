"""Past one machine (pipelines/cluster.py): shards of persons, the `--cluster` switch, and real Dask clusters.

The slow tests start real clusters on localhost: a ``distributed.LocalCluster`` with two worker processes,
and the `dask scheduler` / `dask worker` command-line processes over TCP. On a small synthetic world they
check that the feature table, the labels, the published lists and the monitor's record are the same as
in-process runs, whatever the number of shards. No cluster is mocked.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.cluster import (
    ClusterUnavailableError,
    check_address,
    check_cluster,
    concat_sorted,
    on_cluster,
    shard_count,
    shard_of,
    split_by_shard,
    task_runner,
)
from pipelines.errors import InvalidParameterError
from tests.pipelines.commands import run_step

KEYS = [f"{number:016x}" for number in range(0, 5000, 7)]


# ----- shards ------------------------------------------------------------------------------------------


def test_a_pseudonym_falls_in_the_same_shard_in_every_process():
    here = shard_of(KEYS, 16)
    script = (
        "import json, sys; from pipelines.cluster import shard_of; "
        "print(json.dumps(shard_of(json.loads(sys.stdin.read()), 16).tolist()))"
    )
    for seed in ("0", "12345"):  # Python's own str hash differs with the seed; the shard must not
        completed = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(KEYS),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert json.loads(completed.stdout) == here.tolist()
    # pinned: BLAKE2b-64 of the UTF-8 text, big-endian, modulo the shards (a change reshuffles every
    # cluster's work and must be a decision, not an accident)
    assert shard_of(["0000000000000000", "person-a", "æøå"], 16).tolist() == [
        int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") % 16
        for key in ["0000000000000000", "person-a", "æøå"]
    ]
    assert shard_of(["person-a"], 1).tolist() == [0]


def test_shards_spread_persons_roughly_evenly():
    counts = np.bincount(shard_of(KEYS, 8), minlength=8)
    assert counts.min() > len(KEYS) / 8 * 0.6


@pytest.mark.parametrize("shards", [1, 2, 3, 7, 64])
def test_splitting_by_shard_and_joining_in_key_order_gives_back_the_sorted_frame(shards):
    rows = pd.DataFrame(
        {
            "person_key": np.repeat(KEYS[:50], 3),
            "prediction_date": np.tile(pd.to_datetime(["2022-01-01", "2022-04-01", "2022-07-01"]), 50),
            "value": np.arange(150, dtype="float64"),
        }
    )
    parts = split_by_shard(rows, shards)
    assert sum(len(part) for part in parts) == len(rows)
    for part in parts:  # a person's rows are all in one shard, and a shard's rows keep their order
        assert len(set(shard_of(part["person_key"].unique(), shards))) == 1
        assert part["value"].is_monotonic_increasing
    joined = concat_sorted(parts, ["person_key", "prediction_date"])
    pd.testing.assert_frame_equal(joined, rows, check_exact=True)


def test_shards_default_to_one_in_process_and_several_on_a_cluster():
    assert shard_count(None, None) == 1
    assert shard_count(None, "tcp://127.0.0.1:8786") > 1
    assert shard_count(5, None) == 5
    with pytest.raises(InvalidParameterError, match="at least 1"):
        shard_count(0, None)


# ----- the switch ---------------------------------------------------------------------------------------


def test_without_a_cluster_a_flow_keeps_its_in_process_runner_and_with_one_gets_dask():
    from prefect import flow
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    @flow
    def step() -> None: ...

    assert on_cluster(step, None) is step
    assert isinstance(task_runner(None), ThreadPoolTaskRunner)
    runner = on_cluster(step, "tcp://10.0.0.5:8786").task_runner
    assert isinstance(runner, DaskTaskRunner)
    assert runner.address == "tcp://10.0.0.5:8786"


@pytest.mark.parametrize("address", ["localhost", "http://h:8786", "tcp://", "tcp://h:8786/x y"])
def test_an_address_that_is_not_a_scheduler_is_a_usage_error(address):
    with pytest.raises(InvalidParameterError, match="not a Dask scheduler address"):
        check_address(address)


def test_a_bad_cluster_option_exits_2_naming_the_option(tmp_path):
    for arguments in (
        ["--home", str(tmp_path), "--cluster", "localhost:8786", "features"],
        ["--home", str(tmp_path), "features", "--cluster", "localhost:8786"],
    ):
        result = CliRunner().invoke(cli, arguments)
        assert result.exit_code == 2, result.output
        assert "--cluster" in result.output
        assert "tcp://" in result.output


@pytest.mark.parametrize("step", ["ingest", "features", "train", "score", "monitor", "demo"])
def test_every_step_command_takes_a_cluster(step):
    result = CliRunner().invoke(cli, [step, "--help"])
    assert result.exit_code == 0, result.output
    assert "--cluster tcp://HOST:PORT" in result.output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_scheduler_that_does_not_answer_is_a_clear_error():
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(ClusterUnavailableError, match="No Dask scheduler answers at") as error:
        check_cluster(address, timeout=1)
    assert "dask worker" in str(error.value)


# ----- real clusters on a small world --------------------------------------------------------------------

AS_OF = "2023-10-01"
STEP_OPTIONS = {
    "features": ("--start", "2020-01-01", "--every", "quarter"),
    "score": ("--as-of", AS_OF, "--capacity", "8"),
    "monitor": ("--as-of", AS_OF, "--simulations", "20"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small world taken in process through features and training, then copied (the copy has no
    feature set: the cluster run builds its own); the original is scored and monitored in process."""
    root = tmp_path_factory.mktemp("cluster")
    home, copy = root / "in-process", root / "on-cluster"
    saved = dict(os.environ)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"  # one registry for both homes
    try:
        run_step(home, "synth", "--citizens", "1500", "--years", "5", "--seed", "11", "--history-years", "5")
        run_step(home, "ingest")
        run_step(home, "features", *STEP_OPTIONS["features"])
        run_step(
            home, "train", "--outcome", "admission", "--trials", "1", "--bootstrap", "10",
            "--budget-seconds", "20", "--max-rounds", "60", "--no-oracle", "--calibration", "isotonic",
        )  # fmt: skip
        shutil.copytree(home, copy, ignore=shutil.ignore_patterns("prefect"))
        shutil.rmtree(copy / "features")
        outputs = {step: run_step(home, step, *STEP_OPTIONS[step]) for step in ("score", "monitor")}
        yield {"home": home, "copy": copy, "root": root, "outputs": outputs}
    finally:
        os.environ.clear()
        os.environ.update(saved)


def in_process_build(home: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The cohort, features and labels of the world at one date, built without Prefect or Dask."""
    from features import build_cohort, build_feature_table, build_labels, default_feature_set
    from warehouse import Warehouse

    connection = Warehouse(home / "warehouse").connect(read_only=True)
    try:
        dates = [pd.Timestamp(AS_OF)]
        members = build_cohort(connection, dates, "as_known").members
        features = build_feature_table(connection, default_feature_set(), dates, cohort=members)
        labels = build_labels(connection, dates, cohort=members)
    finally:
        connection.close()
    return members, features, labels


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Overriding the parameters from Reference Dataset:UserWarning")
def test_a_local_two_worker_cluster_builds_the_same_features_and_labels_whatever_the_shards(world, tmp_path):
    import distributed
    from prefect import flow

    from features import default_feature_set
    from pipelines.features_flow import sharded_features, sharded_labels

    members, expected_features, expected_labels = in_process_build(world["home"])
    warehouse_dir = world["home"] / "warehouse"
    dates = [pd.Timestamp(AS_OF)]

    @flow(name="tidlig-test-shards")
    def build(shards: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        features = sharded_features(
            members,
            shards,
            warehouse_dir=warehouse_dir,
            spec=default_feature_set(),
            dates=dates,
            mode="as_known",
        )
        labels = sharded_labels(
            members, shards, warehouse_dir=warehouse_dir, dates=dates, area=None, data_end=None
        )
        return features, labels

    # in process, without Prefect: shards run one after another
    pd.testing.assert_frame_equal(
        sharded_features(
            members, 4, warehouse_dir=warehouse_dir, spec=default_feature_set(), dates=dates, mode="as_known"
        ),
        expected_features,
        check_exact=True,
    )
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        env={"PREFECT_HOME": str(tmp_path / "worker-prefect")},
    ) as cluster:
        for shards in (2, 5):
            features, labels = on_cluster(build, cluster.scheduler_address)(shards)
            pd.testing.assert_frame_equal(features, expected_features, check_exact=True)
            pd.testing.assert_frame_equal(labels, expected_labels, check_exact=True)


@pytest.fixture
def command_line_cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes on free localhost ports, stopped afterwards."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    processes = []

    def start(name: str, *arguments: str) -> None:
        environment = {**os.environ, "PREFECT_HOME": str(tmp_path / f"{name}-prefect")}
        log = (logs / f"{name}.log").open("w")
        processes.append(
            (subprocess.Popen([dask, *arguments], stdout=log, stderr=subprocess.STDOUT, env=environment), log)
        )

    try:
        start(
            "scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"
        )
        for number in (1, 2):
            start(
                f"worker-{number}",
                "worker",
                address,
                "--nthreads",
                "1",
                "--dashboard-address",
                ":0",
                "--name",
                f"worker-{number}",
            )
        deadline = time.monotonic() + 180
        while True:
            try:
                if check_cluster(address, timeout=5) == 2:
                    break
            except ClusterUnavailableError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    "The command-line Dask cluster did not start: "
                    + "; ".join(p.read_text()[-500:] for p in logs.iterdir())
                )
            time.sleep(1)
        yield address
    finally:
        for process, log in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def read_table(home: Path, query: str) -> pd.DataFrame:
    engine = sa.create_engine(f"sqlite:///{home / 'operational.sqlite'}")
    try:
        with engine.connect() as connection:
            return pd.read_sql(sa.text(query), connection)
    finally:
        engine.dispose()


LISTS = """
    SELECT l.district, l.municipality, l.as_of_date, l.status, l.capacity, l.feature_set_version,
           l.model_versions, e.rank, e.person_key, e.risk, e.risk_previous, e.new_on_list, e.flags,
           e.reasons_da, e.reasons_en, e.suggested_action_da, e.outcome
    FROM screening_lists l JOIN screening_list_entries e ON e.list_id = l.list_id
    ORDER BY l.district, e.rank
"""
SCORES = """
    SELECT l.district, s.person_key, s.risk
    FROM screening_scores s JOIN screening_lists l USING (list_id) ORDER BY 1, 2
"""
MONITOR = """
    SELECT x.district, x.as_of_date, x.persons, x.listed, x.method
    FROM monitor_expected x ORDER BY x.district
"""


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Overriding the parameters from Reference Dataset:UserWarning")
def test_the_steps_on_a_command_line_dask_cluster_publish_the_same_lists_as_in_process(
    world, command_line_cluster
):
    home, copy = world["home"], world["copy"]
    saved = dict(os.environ)
    os.environ.update(
        {"MLFLOW_TRACKING_URI": f"sqlite:///{world['root'] / 'mlflow.db'}", "TIDLIG_SHARDS": "3"}
    )
    try:
        outputs = {
            step: run_step(copy, step, *STEP_OPTIONS[step], "--cluster", command_line_cluster)
            for step in ("features", "score", "monitor")
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)
    for output in outputs.values():
        assert f"Dask cluster at {command_line_cluster} (2 workers)" in output
        assert "distributed." not in output  # Dask's own INFO lines stay in its logs
    # the feature set: same version, byte-identical files
    version = (home / "features" / "LATEST").read_text().strip()
    assert (copy / "features" / "LATEST").read_text().strip() == version
    for name in ("features.parquet", "labels.parquet", "attrition.csv"):
        assert (copy / "features" / version / name).read_bytes() == (
            home / "features" / version / name
        ).read_bytes()
    # the published lists, every entry and every score; the monitor's expected performance
    for query in (LISTS, SCORES, MONITOR):
        expected = read_table(home, query)
        assert len(expected) > 0
        pd.testing.assert_frame_equal(read_table(copy, query), expected, check_exact=True)
    assert (
        outputs["monitor"].split("Monitor at", 1)[1] == world["outputs"]["monitor"].split("Monitor at", 1)[1]
    )
