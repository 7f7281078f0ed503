"""Training on a Dask cluster against training in process: the same harness, search and calibration, on
the same feature set; AUROC of both on the same test rows, time, and what else agrees.

Run: ``python -m benchmarks.bench_cluster_training --home H [--outcome admission] [--trials 2]
[--workers 2] [--no-write]``. ``H`` is a home with a feature set (``tidlig features``), e.g. the 60k world
of docs/models.md. Features are read as ``tidlig train`` reads them (only the folds' dates). In process:
``models.harness.fit_and_evaluate`` with LightGBM on 2 threads; on the cluster: the same call with
``pipelines.cluster_training.DaskBoosterFitter`` on a ``distributed.LocalCluster`` of ``--workers``
processes with one thread each (so both use 2 cores). Writes "## Training on a Dask cluster (issue 16)"
in docs/benchmarks.md, keeping the rows of other inputs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.report import DOC, merged_rows, write_section
from models import store
from models.config import TrainingConfig
from models.harness import HarnessResult, fit_and_evaluate, prediction_dates_needed
from models.metrics import auroc

HEADING = "## Training on a Dask cluster (issue 16)"


def timed(function, *arguments, **keywords) -> tuple[HarnessResult, float]:
    started = time.perf_counter()
    result = function(*arguments, **keywords)
    return result, time.perf_counter() - started


def main() -> None:
    import distributed

    from pipelines.cluster_training import DaskBoosterFitter

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--outcome", default="admission")
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bootstrap", type=int, default=20)
    parser.add_argument("--no-write", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
    arguments = parser.parse_args()
    config = replace(TrainingConfig(), search_trials=arguments.trials, bootstrap_samples=arguments.bootstrap)
    feature_set = store.read_feature_set(
        arguments.home / "features",
        None,
        dates_from_labels=lambda labels: prediction_dates_needed(labels, (arguments.outcome,), config),
    )
    common = (feature_set.features, feature_set.labels, arguments.outcome, config, feature_set.version)
    load_before = os.getloadavg()[0]
    print(f"load average {os.getloadavg()}; training in process ...", flush=True)
    local, local_s = timed(fit_and_evaluate, *common)
    print(f"  {local_s:.1f} s; on a LocalCluster of {arguments.workers} worker(s) ...", flush=True)
    with (
        distributed.LocalCluster(
            n_workers=arguments.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote, remote_s = timed(fit_and_evaluate, *common, fitter=DaskBoosterFitter(client))
    print(f"  {remote_s:.1f} s", flush=True)
    labels = local.test_rows["label"].to_numpy()
    assert remote.test_rows["label"].to_numpy().tolist() == labels.tolist()
    local_auroc, remote_auroc = auroc(labels, local.risks["model"]), auroc(labels, remote.risks["model"])
    same_draws = [t.hyperparameters for t in local.trained.trials] == [
        t.hyperparameters for t in remote.trained.trials
    ]
    rounds = lambda result: "/".join(str(t.best_iteration) for t in result.trained.trials)  # noqa: E731
    row = (
        f"| {arguments.home.name}, {local.target} | {local.trained.fold_rows['train']:,} | "
        f"{len(local.outcome.feature_names)} | {len(local.trained.trials)} | {arguments.workers} | "
        f"{local_auroc:.4f} | {remote_auroc:.4f} | {remote_auroc - local_auroc:+.4f} | "
        f"{rounds(local)} | {rounds(remote)} | {local_s:.0f} | {remote_s:.0f} | {load_before:.1f} |"
    )
    print(row)
    print(
        f"same hyperparameter draws: {same_draws}; calibration {local.trained.model.calibrator.method_} / "
        f"{remote.trained.model.calibrator.method_}; best trial "
        f"{local.trained.trials.index(local.trained.best_trial) + 1} / "
        f"{remote.trained.trials.index(remote.trained.best_trial) + 1}"
    )
    rows = merged_rows(HEADING, [row], key_columns=1)
    lines = [
        "",
        f"`python -m benchmarks.bench_cluster_training --home H --outcome {arguments.outcome} --trials "
        f"{arguments.trials} --workers {arguments.workers} --bootstrap {arguments.bootstrap}` (last run "
        f"{dt.date.today()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}): `models.harness.fit_and_evaluate` in process "
        "(LightGBM, 2 threads) and with "
        "`pipelines.cluster_training.DaskBoosterFitter` on a `distributed.LocalCluster` (one thread per "
        "worker); same feature set, folds, hyperparameter draws and calibration; AUROC on the same test "
        "rows.",
        "",
        "| input | train rows | features | trials | workers | AUROC in process | AUROC on cluster "
        "| difference | rounds kept in process | rounds kept on cluster | in process (s) | on cluster (s) "
        "| load before |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    if not arguments.no_write:
        write_section(HEADING, lines)
        print(f"Wrote the '{HEADING}' section of {DOC}.")


if __name__ == "__main__":
    main()
