"""The one retry rule of every Prefect task: retry transient I/O, nothing else.

Transient: an operating-system I/O error (busy file, full pipe, network), a timeout, a busy warehouse
catalog, a locked or unreachable database. Not transient: a missing file or a permission error (a
retry finds the same state; the message tells the user what to run), a validation failure, a bug.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy.exc

from warehouse.store import CatalogBusyError

NOT_TRANSIENT: tuple[type[BaseException], ...] = (
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    CatalogBusyError,
    sqlalchemy.exc.OperationalError,
)


def is_transient_io(error: BaseException | None) -> bool:
    """True when ``error`` is worth retrying (see the module docstring)."""
    return isinstance(error, TRANSIENT) and not isinstance(error, NOT_TRANSIENT)


def retry_on_transient_io(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry the task only when it failed on transient I/O."""
    del task, task_run
    try:
        error = state.result(raise_on_failure=False)
    except Exception:
        return False
    return is_transient_io(error)


#: Options for a Prefect ``@task`` that reads or writes: two retries, two seconds apart, transient I/O only.
IO_RETRIES: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": 2,
    "retry_condition_fn": retry_on_transient_io,
}
