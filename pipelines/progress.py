"""Where flows and tasks say what they do: Prefect's run logger, so the Prefect UI shows the same lines
as the terminal. Outside a flow or task run (a plain function call in a test or notebook) it falls back
to the ``tidlig`` logger. Lines hold counts, dates, names of sources and rules: never person data.

The terminal gets a Rich rendering of the same lines (:func:`to_terminal`, called by the CLI once the
flow module is imported): Tidlig's own lines (those written by :func:`say`, marked ``tidlig_step``) and
the ``tidlig`` logger, nothing of Prefect's, MLflow's or Great Expectations' own INFO chatter, and no
second copy of an error the command reports itself. :func:`counted` adds a bar with counts where the
work is countable. ``--debug`` keeps Prefect's own console output as well.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

Item = TypeVar("Item")

MARK = "tidlig_step"


class _Terminal:
    """The rich.console.Console the CLI renders progress on (None outside the CLI)."""

    console: Any = None


def step_logger() -> logging.Logger | logging.LoggerAdapter[Any]:
    """The current flow or task run's logger, or ``logging.getLogger("tidlig")`` outside a run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("tidlig")


def say(message: str) -> None:
    """Log one progress line at INFO through :func:`step_logger`."""
    step_logger().info(message, extra={MARK: True})


def warn(message: str) -> None:
    """Log one warning line through :func:`step_logger` (shown in the terminal too)."""
    step_logger().warning(message, extra={MARK: True})


def counted(items: Iterable[Item], total: int, description: str) -> Iterator[Item]:
    """Yield ``items``, showing a bar with counts in the terminal (when the CLI renders one); says the
    count when done, so the Prefect UI and plain logs get it too."""
    console = _Terminal.console
    if console is None or not console.is_terminal:
        yield from items
        say(f"{description}: {total}/{total} done")
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)
    say(f"{description}: {total}/{total} done")


class TerminalHandler(logging.Handler):
    """Tidlig's own lines, rendered by Rich: the message only, warnings in yellow, errors in red."""

    def __init__(self, console: Any) -> None:
        super().__init__(logging.INFO)
        self.console = console

    def filter(self, record: logging.LogRecord) -> bool:
        ours = getattr(record, MARK, False) or record.name == "tidlig" or record.name.startswith("tidlig.")
        return bool(ours) and record.exc_info is None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            style = {logging.WARNING: "yellow", logging.ERROR: "red"}.get(record.levelno, "")
            self.console.print(
                f"  {record.getMessage()}", style=style or None, markup=False, highlight=False, soft_wrap=True
            )
        except Exception:  # logging must never break a run
            self.handleError(record)


def to_terminal(debug: bool = False) -> None:
    """Render Tidlig's progress in the terminal (stderr) with Rich, and keep third-party console output
    out of it: Prefect's console handler leaves the root logger (its API handler stays, so the Prefect UI
    still gets every line). With ``debug`` Prefect's console output stays as well. Idempotent."""
    import prefect.main  # noqa: F401  (Prefect configures logging here; replace its console handler after)
    from prefect.logging.handlers import PrefectConsoleHandler
    from rich.console import Console

    root = logging.getLogger()
    if _Terminal.console is None or _Terminal.console.file is not sys.stderr:
        _Terminal.console = Console(file=sys.stderr)
    for handler in list(root.handlers):
        if isinstance(handler, TerminalHandler) or (isinstance(handler, PrefectConsoleHandler) and not debug):
            root.removeHandler(handler)
    root.addHandler(TerminalHandler(_Terminal.console))
    tidlig = logging.getLogger("tidlig")
    if tidlig.getEffectiveLevel() > logging.INFO:
        tidlig.setLevel(logging.INFO)
    for noisy in ("great_expectations", "mlflow", "alembic", "py.warnings"):
        if not debug:
            logging.getLogger(noisy).setLevel(logging.WARNING)
