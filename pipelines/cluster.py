"""Running the steps past one machine: the Dask scheduler address, the flows' task runner, and shards.

One switch (``Settings.cluster``, ``--cluster tcp://host:port`` on every step command): without it every
step runs in process as before (Prefect's thread-pool task runner); with it a flow's submitted tasks run on
that Dask cluster through ``prefect-dask``'s :class:`~prefect_dask.DaskTaskRunner`. The unit of work on a
cluster is a *shard* of persons: a stable hash of the pseudonym (:func:`shard_of`), the same in every
process, on every machine and in every Python version, so a shard's rows never depend on where it ran.
A step computes each shard with the layers' own pure functions and joins the shards in their key order
(:func:`concat_sorted`), so the result is the same, byte for byte, whatever the number of shards.

Only ``pipelines/`` imports Dask (``features/``, ``models/``, ``screening/`` never do). Tasks submitted
here receive paths, small values and frames of pseudonymised rows, never the key: a worker resolves the
settings of its own process. Task names carry the shard number only, never person data.
Dask and Prefect are imported inside the functions: ``tidlig --help`` stays fast.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from pipelines.errors import InvalidParameterError, StepError

if TYPE_CHECKING:
    import distributed
    from prefect.task_runners import TaskRunner

T = TypeVar("T")

# Shards per step on a cluster when the settings name none: a few per worker thread of a small cluster,
# so a slow shard does not hold the step up. In process the default is one shard (the step as before).
DEFAULT_CLUSTER_SHARDS = 16

ADDRESS = re.compile(r"(tcp|tls|ws|wss)://[^\s/:]+(:\d{1,5})?")

# Third-party loggers that report at INFO on every connection; kept at WARNING (``tidlig --debug`` and the
# scheduler's own log show the rest).
QUIET_LOGGERS = ("distributed", "dask", "prefect_dask", "prefect.task_runner.dask", "bokeh", "tornado")


class ClusterUnavailableError(StepError):
    """The configured Dask scheduler does not answer, or its workers cannot run Tidlig's tasks."""


def check_address(address: str | None, option: str = "--cluster") -> str | None:
    """``address`` when it is a Dask scheduler address (``tcp://host:port``), else a clear error."""
    if address is None or address == "":
        return None
    if not ADDRESS.fullmatch(address):
        raise InvalidParameterError(
            f"{address!r} is not a Dask scheduler address; give one like tcp://scheduler.example:8786 "
            "(the address `dask scheduler` prints), or leave it out to run in this process.",
            option,
        )
    return address


def quiet_dask_logging() -> None:
    """Keep Dask's per-connection INFO lines out of the terminal (they still reach the scheduler log).

    Imports ``distributed`` first: it sets its loggers' levels from its own configuration on import."""
    import distributed  # noqa: F401

    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def task_runner(address: str | None) -> TaskRunner[Any]:
    """The task runner of a flow: ``DaskTaskRunner(address=...)`` for a scheduler address, else Prefect's
    default thread-pool runner (everything in this process, as without a cluster)."""
    address = check_address(address)
    if address is None:
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner()
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=address)


def on_cluster(flow: T, address: str | None) -> T:
    """``flow`` with the task runner for ``address`` (unchanged without one)."""
    if check_address(address) is None:
        return flow
    return flow.with_options(task_runner=task_runner(address))  # type: ignore[attr-defined, no-any-return]


@contextmanager
def client(address: str, *, timeout: float = 10.0) -> Iterator[distributed.Client]:
    """A ``distributed.Client`` connected to the scheduler at ``address``, closed on exit.

    Raises :class:`ClusterUnavailableError` (saying what to check) when no scheduler answers in
    ``timeout`` seconds.
    """
    checked = check_address(address)
    if checked is None:
        raise InvalidParameterError("A Dask client needs a scheduler address (tcp://host:port).", "--cluster")
    import distributed

    try:
        connected = distributed.Client(checked, timeout=timeout, set_as_default=False)
    except OSError as error:
        raise ClusterUnavailableError(
            f"No Dask scheduler answers at {checked} ({type(error).__name__}). Start one "
            "(`dask scheduler`, then `dask worker " + checked + "` on each machine), check the address "
            "and firewall, or leave out --cluster to run in this process."
        ) from None
    try:
        yield connected
    finally:
        connected.close()


def _worker_can_run_tidlig() -> str:
    import features
    import pipelines

    return f"{features.__name__} {pipelines.__name__}"


def check_cluster(address: str, *, timeout: float = 10.0) -> int:
    """The number of workers at ``address``, after checking that each can import Tidlig's packages.

    Raises :class:`ClusterUnavailableError` when no scheduler answers, it has no workers, or a worker runs
    in an environment without Tidlig (workers need the same environment as the flow: docs/production.md).
    """
    with client(address, timeout=timeout) as connected:
        workers = connected.scheduler_info(n_workers=-1).get("workers", {})
        if not workers:
            raise ClusterUnavailableError(
                f"The Dask scheduler at {address} has no workers. Start at least one "
                f"(`dask worker {address}`) in Tidlig's environment."
            )
        try:
            connected.run(_worker_can_run_tidlig)
        except ImportError as error:
            raise ClusterUnavailableError(
                f"A Dask worker of {address} cannot import Tidlig ({type(error).__name__}: {error}). "
                "Run the workers in the same environment (image or virtual environment) as the flows."
            ) from None
        return len(workers)


# ----- shards ------------------------------------------------------------------------------------------


def shard_of(person_keys: Sequence[str] | pd.Series | np.ndarray, shards: int) -> np.ndarray:
    """The shard (0 .. shards-1) of each pseudonym: BLAKE2b of its UTF-8 text, first 8 bytes big-endian,
    modulo ``shards``. Stable across processes, machines and Python versions (unlike ``hash()``)."""
    if shards < 1:
        raise ValueError("shards must be at least 1.")
    keys = [str(key) for key in person_keys]
    if shards == 1:
        return np.zeros(len(keys), dtype=np.int64)
    digests = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big") % shards
            for key in keys
        ),
        dtype=np.int64,
        count=len(keys),
    )
    return digests


def split_by_shard(frame: pd.DataFrame, shards: int, column: str = "person_key") -> list[pd.DataFrame]:
    """``frame``'s rows per shard of ``column``, in shard order, empty shards left out; each part keeps
    the rows' order. One shard returns the frame itself."""
    if shards == 1:
        return [frame]
    assigned = shard_of(frame[column].to_numpy(), shards)
    parts = []
    for shard in range(shards):
        part = frame[assigned == shard]
        if len(part):
            parts.append(part.reset_index(drop=True))
    return parts or [frame]


def concat_sorted(parts: Sequence[pd.DataFrame], keys: Sequence[str]) -> pd.DataFrame:
    """The shards' frames as one, sorted by ``keys`` (stable) with a fresh index: the frame one
    unsharded call returns when it sorts by the same keys."""
    if len(parts) == 1:
        return parts[0]
    joined = pd.concat(list(parts), ignore_index=True)
    return joined.sort_values(list(keys), kind="stable").reset_index(drop=True)


def shard_count(shards: int | None, cluster: str | None) -> int:
    """The shards of a step: the configured number, else one in process and
    :data:`DEFAULT_CLUSTER_SHARDS` on a cluster."""
    if shards is not None:
        if shards < 1:
            raise InvalidParameterError("shards must be at least 1.", "--shards")
        return shards
    return 1 if cluster is None else DEFAULT_CLUSTER_SHARDS


def map_shards(function: Callable[..., T], parts: Sequence[Any], *, name: str, **common: Any) -> list[T]:
    """``function(part, **common)`` for every part, in order.

    Inside a Prefect flow run (and not inside a task) each part is a Prefect task submitted to the flow's
    task runner (on a Dask cluster with :func:`on_cluster`), named ``<name>-<i>-of-<n>`` (no person data);
    elsewhere (tests, notebooks, inside another task) the parts run one after another in this process.
    """
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is None or TaskRunContext.get() is not None:
        return [function(part, **common) for part in parts]
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    futures = []
    for index, part in enumerate(parts):
        shard_task = task(
            function, cache_policy=NO_CACHE, task_run_name=f"{name}-{index + 1}-of-{len(parts)}"
        )
        futures.append(shard_task.submit(part, **common))
    return [future.result() for future in futures]
