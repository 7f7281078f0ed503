"""Where flows and tasks say what they do: Prefect's run logger, so the Prefect UI shows the same lines
as the terminal. Outside a flow or task run (a plain function call in a test or notebook) it falls back
to the ``tidlig`` logger. Lines hold counts, dates, names of sources and rules: never person data."""

from __future__ import annotations

import logging
from typing import Any

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger


def step_logger() -> logging.Logger | logging.LoggerAdapter[Any]:
    """The current flow or task run's logger, or ``logging.getLogger("tidlig")`` outside a run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("tidlig")


def say(message: str) -> None:
    """Log one progress line at INFO through :func:`step_logger`."""
    step_logger().info(message)
