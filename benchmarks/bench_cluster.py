"""Past one machine: ingest, features for one date, scoring and the monitor, in process and on a local
Dask cluster (1 and 2 workers); time and peak memory per worker, and a per-shard cost model for k workers.

Run: ``python -m benchmarks.bench_cluster [--citizens 60000] [--years 6] [--seed 7] [--home DIR]
[--workers 0,1,2] [--steps ingest,features,score,monitor] [--shards N] [--train-start 2019-07-01]
[--train-end D] [--horizon 12] [--no-write]``.

A home is prepared once (kept in ``--home``, default ``/tmp/tidlig-bench-cluster/<citizens>``): ``synth``,
``ingest``, ``features --start <train-start> [--end <train-end>] --every quarter`` and ``train --outcome
admission --horizon <horizon>`` (a champion to score with). At national scale the training features of
every quarter do not fit this machine's memory, so ``--train-start``/``--train-end``/``--horizon 6`` pick
the fewest quarters that still fill train, validation and test folds (the champion is then trained on
fewer dates; scoring and the monitor cost the same per citizen). The prepared ingest is measured like
the steps below (its row is the in-process ingest row when ``--steps`` leaves ingest out: ingest does
not use the cluster, D81, so a national ingest is run once, not once per worker count).

Then for each entry of ``--workers`` (0: in process, k: a ``distributed.LocalCluster`` of k
worker processes with one thread each, its address given to the steps as ``--cluster``) the four steps run
as the commands an analyst types, each in its own process under ``/usr/bin/time``:

* ``ingest`` of every delivery into an empty scratch warehouse (``TIDLIG_WAREHOUSE_DIR``),
* ``features --start D --end D`` for the scoring date D (into a scratch ``TIDLIG_FEATURES_DIR``),
* ``score --as-of D`` and ``monitor --as-of D`` (into a scratch operational database and lists folder).

D is the last month start the deliveries support. Per step: wall seconds, the command process's peak RSS
(``/usr/bin/time``) and the largest RSS any Dask worker reached (sampled every 0.2 s with psutil), and the
1-minute load average before it. The table in docs/benchmarks.md keeps the rows of other world sizes; the
cost model is fitted on every cluster row of the table (see :func:`cost_model`) and written under it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from benchmarks.report import DOC, merged_rows, write_section

HEADING = "## Past one machine: steps on a Dask cluster (issue 16)"
STEPS = ("ingest", "features", "score", "monitor")
NATIONAL = 1_200_000
PROJECTED_WORKERS = (1, 2, 4, 8, 16, 32)
PREPARED_MARKER = "bench-cluster-prepared"
TABLE_HEADER = [
    "| citizens | workers | shards | step | wall (s) | command peak RSS (MiB) | largest worker RSS (MiB) "
    "| load before |",
    "|---|---|---|---|---|---|---|---|",
]


def tidlig(home: Path, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", "--home", str(home), "--demo", *arguments]


PREPARED_INGEST = "bench-cluster-prepared-ingest.json"


def prepare(home: Path, arguments: argparse.Namespace) -> None:
    """A synthetic world, ingested, with a training feature set and a champion for admission."""
    if (home / PREPARED_MARKER).exists():
        print(f"Using the prepared home {home}", flush=True)
        return
    home.mkdir(parents=True, exist_ok=True)
    window = ["--start", arguments.train_start]
    if arguments.train_end:
        window += ["--end", arguments.train_end]
    chain = [
        ("synth", "--citizens", str(arguments.citizens), "--years", str(arguments.years),
         "--seed", str(arguments.seed)),
        ("ingest",),
        ("features", *window, "--every", "quarter"),
        ("train", "--outcome", "admission", "--horizon", str(arguments.horizon), "--trials", "2",
         "--max-rounds", "200", "--bootstrap", "20", "--calibration", "isotonic", "--no-oracle"),
    ]  # fmt: skip
    for step in chain:
        done = home / f"{PREPARED_MARKER}-{step[0]}"  # a step that finished is not run again
        if done.exists():
            continue
        print(f"prepare: tidlig --demo {' '.join(step)}", flush=True)
        measured = run_step(step[0], tidlig(home, *step), os.environ.copy(), None)
        print(f"  {measured.wall_s:.1f} s, peak {measured.command_peak_mib:,.0f} MiB", flush=True)
        if step[0] == "ingest":
            (home / PREPARED_INGEST).write_text(json.dumps(asdict(measured)))
        done.touch()
    (home / PREPARED_MARKER).touch()


def prepared_ingest(home: Path) -> Measurement | None:
    """The prepare step's ingest, measured as the in-process ingest step (None when not recorded)."""
    path = home / PREPARED_INGEST
    return Measurement(**json.loads(path.read_text())) if path.exists() else None


def scoring_date(home: Path) -> dt.date:
    """The last month start the landed deliveries support."""
    from pipelines.commands.demo import latest_supported_date
    from pipelines.settings import load_settings

    return latest_supported_date(load_settings(home=str(home), demo=True)).replace(day=1)


class WorkerMemory:
    """Largest RSS of the given worker processes between ``start`` and ``stop`` (sampled every 0.2 s)."""

    def __init__(self, pids: list[int]) -> None:
        import psutil

        self.processes = [psutil.Process(pid) for pid in pids]
        self.peak = 0
        self._running = False
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while self._running:
            for process in self.processes:
                try:
                    self.peak = max(self.peak, process.memory_info().rss)
                except Exception:
                    continue
            time.sleep(0.2)

    def start(self) -> None:
        self.peak, self._running = 0, True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> int:
        self._running = False
        if self._thread is not None:
            self._thread.join()
        return self.peak


@contextmanager
def cluster(workers: int) -> Iterator[tuple[str | None, WorkerMemory | None]]:
    """(scheduler address, worker memory sampler) of a fresh LocalCluster; (None, None) for 0 workers."""
    if workers == 0:
        yield None, None
        return
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        pids = list(client.run(os.getpid).values())
        yield local.scheduler_address, WorkerMemory(pids)


@dataclass(frozen=True)
class Measurement:
    step: str
    wall_s: float
    command_peak_mib: float
    worker_peak_mib: float | None
    load_before: float


def run_step(
    step: str, arguments: list[str], environment: dict[str, str], memory: WorkerMemory | None
) -> Measurement:
    """One command under /usr/bin/time; raises when it fails (its output is above)."""
    load = os.getloadavg()[0]
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        if memory is not None:
            memory.start()
        started = time.perf_counter()
        completed = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", timing.name, *arguments], env=environment, check=False
        )
        wall = time.perf_counter() - started
        worker_peak = memory.stop() if memory is not None else None
        if completed.returncode != 0:
            raise SystemExit(f"`{' '.join(arguments[2:])}` failed with exit {completed.returncode}.")
        peak_kib = float(timing.read().strip().splitlines()[-1])
    return Measurement(
        step, wall, peak_kib / 1024, None if worker_peak is None else worker_peak / 2**20, load
    )


def measure(
    home: Path, workers: int, shards: int | None, as_of: dt.date, steps: tuple[str, ...] = STEPS
) -> list[Measurement]:
    """The ``steps`` with ``workers`` (0: in process) into scratch folders of ``home``."""
    scratch = home / "bench-cluster" / f"workers-{workers}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    day = as_of.isoformat()
    commands = {
        "ingest": ["ingest"],
        "features": ["features", "--start", day, "--end", day],
        "score": ["score", "--as-of", day, "--capacity", "25"],
        "monitor": ["monitor", "--as-of", day, "--simulations", "50"],
    }
    scratch_paths = {
        "ingest": {"TIDLIG_WAREHOUSE_DIR": "warehouse", "TIDLIG_QUARANTINE_DIR": "quarantine"},
        "features": {"TIDLIG_FEATURES_DIR": "features"},
        "score": {"TIDLIG_LISTS_DIR": "lists"},
        "monitor": {"TIDLIG_LISTS_DIR": "lists"},
    }
    results = []
    with cluster(workers) as (address, memory):
        for step in steps:
            environment = os.environ.copy()
            environment |= {name: str(scratch / folder) for name, folder in scratch_paths[step].items()}
            environment["TIDLIG_OPERATIONAL_DB_URL"] = f"sqlite:///{scratch / 'operational.sqlite'}"
            if shards is not None:
                environment["TIDLIG_SHARDS"] = str(shards)
            arguments = tidlig(home, *commands[step])
            if address is not None:
                arguments += ["--cluster", address]
            print(f"[{workers} worker(s)] tidlig --demo {' '.join(commands[step])}", flush=True)
            results.append(run_step(step, arguments, environment, memory))
            print(f"  {results[-1].wall_s:.1f} s", flush=True)
    return results


def table_row(citizens: int, workers: int, shards: int | None, measured: Measurement) -> str:
    shard_text = str(shards) if shards is not None else ("1" if workers == 0 else "default")
    worker_text = "-" if measured.worker_peak_mib is None else f"{measured.worker_peak_mib:,.0f}"
    return (
        f"| {citizens:,} | {workers if workers else 'in process'} | {shard_text} | {measured.step} "
        f"| {measured.wall_s:.1f} | {measured.command_peak_mib:,.0f} | {worker_text} "
        f"| {measured.load_before:.1f} |"
    )


def parsed(rows: list[str]) -> list[dict[str, object]]:
    """The cells of the table rows as numbers where they are numbers."""
    records = []
    for row in rows:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) != 8:
            continue
        citizens, workers, _shards, step, wall, command, worker, _load = cells
        records.append({
            "citizens": int(citizens.replace(",", "")),
            "workers": 0 if workers == "in process" else int(workers),
            "step": step,
            "wall": float(wall),
            "command_mib": float(command.replace(",", "")),
            "worker_mib": None if worker == "-" else float(worker.replace(",", "")),
        })  # fmt: skip
    return records


def cost_model(records: list[dict[str, object]]) -> list[str]:
    """Per step, least squares of ``wall = a + b * citizens / workers`` over the cluster rows, and the
    projection to the national world; the same form for the largest worker RSS."""
    lines = [
        "| step | fixed a (s) | b (s per 1,000 citizens on one worker) | rows fitted | "
        + " | ".join(f"national, {k} workers (s)" for k in PROJECTED_WORKERS)
        + " | worker RSS national / k = 2 (GiB) |",
        "|---|---|---|---|" + "---|" * len(PROJECTED_WORKERS) + "---|",
    ]
    for step in STEPS:
        rows = [r for r in records if r["step"] == step and int(r["workers"]) > 0]  # type: ignore[call-overload]
        load = np.array([float(r["citizens"]) / int(r["workers"]) for r in rows])  # type: ignore[arg-type, call-overload]
        if len(rows) < 2 or len(set(load.tolist())) < 2:
            continue
        design = np.column_stack([np.ones_like(load), load])
        (fixed, per_citizen), *_ = np.linalg.lstsq(design, np.array([r["wall"] for r in rows]), rcond=None)
        projected = [fixed + per_citizen * NATIONAL / k for k in PROJECTED_WORKERS]
        memory = [
            (x, r["worker_mib"]) for x, r in zip(load, rows, strict=True) if r["worker_mib"] is not None
        ]
        worker_text = "-"
        if len({x for x, _ in memory}) >= 2:
            (m0, m1), *_ = np.linalg.lstsq(
                np.column_stack([np.ones(len(memory)), [x for x, _ in memory]]),
                np.array([m for _, m in memory], dtype=float),
                rcond=None,
            )
            worker_text = f"{(m0 + m1 * NATIONAL / 2) / 1024:.1f}"
        lines.append(
            f"| {step} | {fixed:.1f} | {per_citizen * 1000:.3f} | {len(rows)} | "
            + " | ".join(f"{seconds:,.0f}" for seconds in projected)
            + f" | {worker_text} |"
        )
    return lines


def section_lines(arguments: argparse.Namespace, rows: list[str], as_of: dt.date) -> list[str]:
    return [
        "",
        f"`python -m benchmarks.bench_cluster --citizens {arguments.citizens} --years {arguments.years} "
        f"--seed {arguments.seed} --workers {arguments.workers}"
        + (f" --shards {arguments.shards}" if arguments.shards is not None else "")
        + (f" --steps {arguments.steps}" if arguments.steps != ",".join(STEPS) else "")
        + (f" --train-start {arguments.train_start}" if arguments.train_start != "2019-07-01" else "")
        + (f" --train-end {arguments.train_end}" if arguments.train_end else "")
        + (f" --horizon {arguments.horizon}" if arguments.horizon != 12 else "")
        + f"` (last run {dt.date.today()}, scoring date {as_of}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}). Each step is the command an analyst "
        "types, in its own process (Python, Prefect and MLflow start-up included); `workers` is a "
        "`distributed.LocalCluster` of that many processes with one thread each, its address given as "
        "`--cluster`. Load before: the 1-minute load average before the step (above 2, other work shared "
        "the 2 cores).",
        "",
        *TABLE_HEADER,
        *rows,
        "",
        "Per-shard cost model, fitted on every cluster row above (notes below say what was run): "
        "`wall = a + b * citizens / workers`. Assumptions: a step's work is its shards' work, each shard's "
        "cost is proportional to its citizens (shards are a hash of the pseudonym: equal in size), "
        "shards are spread evenly and each worker has a core of its own; `a` is what does not shrink with "
        "workers (process start, imports, reading the catalog, joining the shards in the flow process, "
        "writing the result). Memory: the largest worker RSS fitted the same way.",
        "",
        *cost_model(parsed(rows)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=60_000)
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, default=None, help="Prepared home (made when absent).")
    parser.add_argument("--workers", default="0,1,2", help="Comma-separated; 0 runs in process.")
    parser.add_argument("--steps", default=",".join(STEPS), help="Comma-separated steps to measure.")
    parser.add_argument("--shards", type=int, default=None, help="TIDLIG_SHARDS for the steps.")
    parser.add_argument("--train-start", default="2019-07-01", help="First training prediction date.")
    parser.add_argument("--train-end", default=None, help="Last training prediction date.")
    parser.add_argument("--horizon", type=int, default=12, choices=(6, 12), help="Champion's horizon.")
    parser.add_argument("--no-write", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
    arguments = parser.parse_args()
    home = arguments.home or Path(tempfile.gettempdir()) / "tidlig-bench-cluster" / str(arguments.citizens)
    print(f"load average: {os.getloadavg()}", flush=True)
    prepare(home, arguments)
    as_of = scoring_date(home)
    steps = tuple(step for step in STEPS if step in arguments.steps.split(","))
    for workers in (int(value) for value in arguments.workers.split(",")):
        measured = measure(home, workers, arguments.shards, as_of, steps)
        if workers == 0 and "ingest" not in steps and (ingest := prepared_ingest(home)) is not None:
            measured.insert(0, ingest)
        new_rows = [table_row(arguments.citizens, workers, arguments.shards, m) for m in measured]
        lines = section_lines(arguments, merged_rows(HEADING, new_rows, key_columns=4), as_of)
        print("\n".join(lines), flush=True)
        if not arguments.no_write:  # after each worker count, so a long run keeps what it measured
            write_section(HEADING, lines)
            print(f"Wrote the '{HEADING}' section of {DOC}.", flush=True)


if __name__ == "__main__":
    main()
