"""The `tidlig-ingest` Prefect flow: take every new delivery, validated and pseudonymised, exactly once.

The flow is thin: it resolves its settings, builds the run's context, takes the writer lock, removes
partitions left by a crashed run, and runs ``data_contracts.intake.ingest_source`` for each source in
ingest order as a task. A task is retried only on transient I/O (``pipelines.retry``); a validation
failure is a result, not an error. A source whose task fails anyway is reported and the others still run.
The summary (counts and rule names only, never person data) is logged and published as a Prefect
markdown artifact. Import only after ``pipelines.runtime.prepare_environment`` (it imports Prefect).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from data_contracts.contract import available_sources, load_contract
from data_contracts.data_docs import DataDocs
from data_contracts.deliveries import FileChunking
from data_contracts.intake import IngestContext, SourceOutcome, ingest_source, verify_key
from data_contracts.validation import ContractValidator
from pipelines.errors import InvalidParameterError
from pipelines.parameters import IngestParameters
from pipelines.progress import counted, say
from pipelines.retry import IO_RETRIES
from pipelines.settings import Settings, SettingsReference
from warehouse import Warehouse

ARTIFACT_KEY = "ingest-summary"


@cache
def shared_validator() -> ContractValidator:
    """One Great Expectations context per process (creating one costs about a second)."""
    return ContractValidator()


def build_context(settings: Settings, echo: Callable[[str], None] = say) -> IngestContext:
    """The run's context; raises MissingPseudonymKeyError when no key is configured."""
    key, key_version = settings.require_pseudonym_key()
    assert settings.warehouse_dir is not None
    assert settings.landing_dir is not None
    assert settings.quarantine_dir is not None
    return IngestContext(
        warehouse=Warehouse(settings.warehouse_dir),
        validator=shared_validator(),
        landing_dir=settings.landing_dir,
        quarantine_dir=settings.quarantine_dir,
        care_db_url=str(settings.care_db_url),
        pseudonym_key=key,
        key_version=key_version,
        ingested_at=pd.Timestamp.now(tz="UTC").tz_localize(None),
        write_keystore=settings.deployment == "operational",
        keystore_url=str(settings.keystore_url),
        echo=echo,
        data_docs=DataDocs(settings.data_docs_dir),
        chunking=FileChunking(rows=settings.ingest_chunk_rows, above_bytes=settings.ingest_chunk_above_bytes),
    )


def selected_sources(sources: list[str] | tuple[str, ...] | None) -> list[str]:
    """The requested sources in ingest order (population first, contacts before diagnoses, ...)."""
    known = available_sources()
    if not sources:
        return known
    unknown = sorted(set(sources) - set(known))
    if unknown:
        raise InvalidParameterError(
            f"Unknown source(s): {', '.join(unknown)}. Known: {', '.join(known)}", option="--source"
        )
    return [source for source in known if source in sources]


def ingest_one_source(source: str, context: IngestContext) -> SourceOutcome:
    """Plain function behind the task: take one source's new deliveries."""
    context.echo(f"{source}: looking for new deliveries")
    return ingest_source(load_contract(source), context)


def run_ingest(
    context: IngestContext,
    sources: list[str],
    run_source: Callable[[str, IngestContext], SourceOutcome | BaseException] | None = None,
) -> list[SourceOutcome]:
    """Run the sources in order under the writer lock; a source that raises is recorded, not fatal."""
    runner = run_source or ingest_one_source
    outcomes: list[SourceOutcome] = []
    with context.warehouse.writer_lock():
        # another key than the warehouse's is refused here, before any batch or partition is touched
        verify_key(context)
        removed = context.warehouse.remove_uncommitted_partitions()
        if removed:
            context.echo(f"Removed {len(removed)} uncommitted partition(s) left by an interrupted run.")
        for source in counted(sources, len(sources), "sources ingested"):
            try:
                result = runner(source, context)
            except Exception as error:  # one bad source must not stop the others
                result = error
            if isinstance(result, BaseException):
                failed = SourceOutcome(source)
                failed.skipped_reason = f"failed: {type(result).__name__} (see the log above; rerun is safe)"
                context.echo(f"  {source} failed: {type(result).__name__}")
                outcomes.append(failed)
            else:
                outcomes.append(result)
        indexed = context.warehouse.refresh_key_index()
        if indexed:
            context.echo(f"Key index written for {len(indexed)} table(s) (the feature engine reads it).")
    return outcomes


def render_summary(outcomes: list[SourceOutcome], quarantine_dir: Path) -> str:
    """Markdown summary with counts, reasons and next steps; no person data."""
    landed_batches = sum(len(o.landed) for o in outcomes)
    quarantined_batches = sum(len(o.quarantined) for o in outcomes)
    failed = [o for o in outcomes if o.skipped_reason and o.skipped_reason.startswith("failed")]
    lines = [
        "# Ingest summary",
        "",
        f"Landed {landed_batches} batch(es) with {sum(o.rows_landed for o in outcomes)} rows; "
        f"quarantined {quarantined_batches} batch(es); {len(failed)} source(s) failed.",
        "",
        "| source | landed batches | landed rows | quarantined | warnings | note |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        warnings = sum(len(item["warnings"]) for item in o.landed)  # type: ignore[arg-type,misc]
        lines.append(
            f"| {o.source} | {len(o.landed)} | {o.rows_landed} | {len(o.quarantined)} | {warnings} | "
            f"{o.skipped_reason or ''} |"
        )
    if quarantined_batches:
        lines += ["", "## Quarantined", ""]
        for o in outcomes:
            for item in o.quarantined:
                lines.append(f"- **{o.source} {item['delivery']}**: {item['reason']}")
    lines += ["", "## What to do next", ""]
    if quarantined_batches:
        lines.append(
            f"- Read the reports under `{quarantine_dir}` (report.md per batch): each names the file, "
            "column, rule and row numbers. Ask the supplier for corrected deliveries, then run "
            "`tidlig ingest` again."
        )
    if failed:
        lines.append("- Sources that failed left the warehouse unchanged; run `tidlig ingest` again.")
    if not quarantined_batches and not failed:
        lines.append("- Nothing to fix. Next: `tidlig features`.")
    else:
        lines.append("- Landed batches are ready: `tidlig features` can run on them now.")
    return "\n".join(lines) + "\n"


def build_data_docs(context: IngestContext) -> Path | None:
    """Render the value-free Data Docs of this run's validations (``data_contracts.data_docs``); a
    failure to render is reported and does not undo the ingest (the results stay stored for the next)."""
    if context.data_docs is None:
        return None
    try:
        index = context.data_docs.build()
    except Exception as error:  # the docs are a view; the landed batches stand
        context.echo(f"Data Docs were not built ({type(error).__name__}); the next ingest builds them.")
        return None
    if index is not None:
        context.echo(f"Data Docs of this run's validations: {index} (analyst page: /monitoring)")
    return index


@task(name="ingest-source", cache_policy=NO_CACHE, task_run_name="ingest-{source}", **IO_RETRIES)
def ingest_source_task(source: str, context: IngestContext) -> SourceOutcome:
    """Take one source's new deliveries (retried on transient I/O only)."""
    return ingest_one_source(source, context)


def _run_as_task(source: str, context: IngestContext) -> SourceOutcome | BaseException:
    state = ingest_source_task(source, context, return_state=True)
    return state.result(raise_on_failure=False)


@flow(name="tidlig-ingest", validate_parameters=True)
def ingest_flow(settings: SettingsReference, parameters: IngestParameters | None = None) -> dict[str, Any]:
    """Validate, pseudonymise and land every new delivery; quarantine the rest with reports.

    Returns ``{"summary": markdown, "outcomes": [...]}`` (counts, sources and rules only).
    """
    parameters = parameters or IngestParameters()
    resolved = settings.resolve()
    say(f"Ingesting from {resolved.landing_dir} and the care database into {resolved.warehouse_dir}")
    say("Loading the data contracts (Great Expectations; the first run on a machine takes longest)")
    context = build_context(resolved)
    outcomes = run_ingest(context, selected_sources(parameters.sources), _run_as_task)
    docs = build_data_docs(context)
    summary = render_summary(outcomes, context.quarantine_dir)
    create_markdown_artifact(summary, key=ARTIFACT_KEY, description="Tidlig ingest: counts only")
    return {
        "summary": summary,
        "outcomes": [dataclasses.asdict(o) for o in outcomes],
        "data_docs": None if docs is None else str(docs),
    }
