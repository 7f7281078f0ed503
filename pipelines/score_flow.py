"""The Prefect flow of `tidlig score`, at module level so `tidlig serve` can deploy it by entrypoint.

Imported only after ``pipelines.runtime.prepare_environment`` (it imports Prefect). The flow loads the
settings from the environment (``TIDLIG_*``), which `tidlig score` and `tidlig serve` set from the CLI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from pipelines.score import ScoreResult, run_scoring, screening_config
from pipelines.settings import load_settings
from screening.analytics import MIN_CELL
from screening.config import ScreeningConfig


def transient_io_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a step only when it failed on transient I/O (busy file, network, locked database)."""
    del task, task_run
    try:
        error = state.result(raise_on_failure=False)
    except Exception:
        return False
    import sqlalchemy.exc

    from warehouse.store import CatalogBusyError

    return isinstance(
        error, (OSError, TimeoutError, CatalogBusyError, sqlalchemy.exc.OperationalError)
    ) and not (isinstance(error, FileNotFoundError | PermissionError))


def as_prefect_task(function: Callable[..., Any], **options: Any) -> Callable[..., Any]:
    """Wrap a step as a Prefect task: frames pass through, so no caching; retries (where asked) only on
    transient I/O, never on a missing champion, missing features or a failed check."""
    if options.get("retries"):
        options = {"retry_delay_seconds": 2, "retry_condition_fn": transient_io_only, **options}
    return task(function, cache_policy=NO_CACHE, **options)


def publish_artifact(result: ScoreResult) -> None:
    """A Prefect markdown artifact with list counts per district (cells under 5 suppressed)."""
    lines = ["| district | listed |", "|---|---|"]
    for district, count in sorted(result.listed_per_district.items()):
        shown = str(count) if count == 0 or count >= MIN_CELL else f"<{MIN_CELL}"
        lines.append(f"| {district} | {shown} |")
    create_markdown_artifact(
        key="screening-lists",
        markdown=f"Run `{result.run_id}`: {len(result.list_ids)} lists published.\n\n" + "\n".join(lines),
        description="Screening lists per district",
    )


@flow(name="tidlig-score", log_prints=False, retries=0)
def score_flow(
    as_of: str | None = None,
    *,
    capacity: int = ScreeningConfig.capacity,
    capacity_file: str | None = None,
    exclude_full_home_care: bool = False,
    recent_visit_days: int = ScreeningConfig.recent_visit_days,
    dismissed_days: int = ScreeningConfig.dismissed_days,
    outcome: str = "admission",
) -> dict[str, Any]:
    """Score as of a date (default: today, UTC) and publish one list per district, or refuse with a reason."""
    settings = load_settings()
    day = dt.date.fromisoformat(as_of) if as_of else dt.datetime.now(dt.UTC).date()
    config = screening_config(
        capacity=capacity,
        capacity_file=capacity_file,
        exclude_full_home_care=exclude_full_home_care,
        recent_visit_days=recent_visit_days,
        dismissed_days=dismissed_days,
        outcome=outcome,
    )
    result = run_scoring(settings, day, config, as_task=as_prefect_task)
    publish_artifact(result)
    return {"run_id": result.run_id, "list_ids": result.list_ids, "status": result.status}
