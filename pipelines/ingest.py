"""`tidlig ingest`: the Prefect flow that takes every new delivery, validated and pseudonymised, exactly once.

The flow is thin: it builds the run's context, takes the writer lock, removes partitions left by a crashed
run, and runs ``data_contracts.intake.ingest_source`` for each source in ``INGEST_ORDER`` as a task. A task
is retried only on transient I/O (``OSError``, a busy catalog); a validation failure is a result, not an
error. A source whose task fails anyway is reported and the others still run. The summary (counts and
rule names only, never person data) is printed and published as a Prefect markdown artifact.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pandas as pd
from pydantic import SecretStr

from pipelines.runtime import prepare_environment
from pipelines.settings import MissingPseudonymKeyError, Settings

if TYPE_CHECKING:
    from data_contracts.intake import IngestContext, SourceOutcome
    from data_contracts.validation import ContractValidator

ARTIFACT_KEY = "ingest-summary"
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError)


@cache
def shared_validator() -> ContractValidator:
    """One Great Expectations context per process (creating one costs about a second)."""
    from data_contracts.validation import ContractValidator

    return ContractValidator()


def build_context(settings: Settings, echo: Callable[[str], None] = click.echo) -> IngestContext:
    """The run's context; raises MissingPseudonymKeyError when no key is configured."""
    from data_contracts.intake import IngestContext
    from warehouse import Warehouse

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
    )


def selected_sources(sources: list[str] | None) -> list[str]:
    """The requested sources in ingest order (population first, contacts before diagnoses, ...)."""
    from data_contracts.contract import available_sources

    known = available_sources()
    if not sources:
        return known
    unknown = sorted(set(sources) - set(known))
    if unknown:
        raise click.BadParameter(f"Unknown source(s): {', '.join(unknown)}. Known: {', '.join(known)}")
    return [source for source in known if source in sources]


def ingest_one_source(source: str, context: IngestContext) -> SourceOutcome:
    """Plain function behind the task: take one source's new deliveries."""
    from data_contracts.contract import load_contract
    from data_contracts.intake import ingest_source

    context.echo(f"- {source}")
    return ingest_source(load_contract(source), context)


def run_ingest(
    context: IngestContext,
    sources: list[str],
    run_source: Callable[[str, IngestContext], SourceOutcome | BaseException] | None = None,
) -> list[SourceOutcome]:
    """Run the sources in order under the writer lock; a source that raises is recorded, not fatal."""
    from data_contracts.intake import SourceOutcome

    runner = run_source or ingest_one_source
    outcomes: list[SourceOutcome] = []
    with context.warehouse.writer_lock():
        removed = context.warehouse.remove_uncommitted_partitions()
        if removed:
            context.echo(f"Removed {len(removed)} uncommitted partition(s) left by an interrupted run.")
        for source in sources:
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


def _transient_io_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only transient I/O failures; a validation failure never raises, a bug is not retried."""
    del task, task_run
    try:
        error = state.result(raise_on_failure=False)
    except Exception:
        return False
    from warehouse import CatalogBusyError

    return isinstance(error, (*TRANSIENT_ERRORS, CatalogBusyError))


def _settings_fields(settings: Settings) -> dict[str, Any]:
    """Settings as flow parameters, without the key (passed separately as a masked secret)."""
    fields = {}
    for field in dataclasses.fields(settings):
        if field.name in ("pseudonym_key",):
            continue
        value = getattr(settings, field.name)
        fields[field.name] = str(value) if isinstance(value, Path) else value
    return fields


def _make_flow() -> Any:
    from prefect import flow, task
    from prefect.artifacts import create_markdown_artifact
    from prefect.cache_policies import NO_CACHE

    @task(
        name="ingest-source",
        retries=2,
        retry_delay_seconds=2,
        retry_condition_fn=_transient_io_only,
        cache_policy=NO_CACHE,
        task_run_name="ingest-{source}",
    )
    def ingest_source_task(source: str, context: IngestContext) -> SourceOutcome:
        """Take one source's new deliveries (retried on transient I/O only)."""
        return ingest_one_source(source, context)

    def run_as_task(source: str, context: IngestContext) -> SourceOutcome | BaseException:
        state = ingest_source_task(source, context, return_state=True)
        return state.result(raise_on_failure=False)

    @flow(name="tidlig-ingest", validate_parameters=True)
    def ingest_flow(
        settings_fields: dict[str, Any], pseudonym_key: SecretStr, sources: list[str] | None = None
    ) -> dict[str, Any]:
        """Validate, pseudonymise and land every new delivery; quarantine the rest with reports."""
        settings = Settings(**settings_fields, pseudonym_key=pseudonym_key.get_secret_value())
        context = build_context(settings)
        outcomes = run_ingest(context, selected_sources(sources), run_as_task)
        summary = render_summary(outcomes, context.quarantine_dir)
        create_markdown_artifact(summary, key=ARTIFACT_KEY, description="Tidlig ingest: counts only")
        return {"summary": summary, "outcomes": [dataclasses.asdict(o) for o in outcomes]}

    return ingest_flow


@cache
def ingest_flow_object() -> Any:
    """The Prefect flow (built on first use so importing this module does not import Prefect)."""
    return _make_flow()


def run_ingest_flow(settings: Settings, sources: list[str] | None = None) -> dict[str, Any]:
    """Run the ingest flow for ``settings``; returns ``{"summary": markdown, "outcomes": [...]}``."""
    key, _ = settings.require_pseudonym_key()
    prepare_environment(settings)
    flow = ingest_flow_object()
    return flow(_settings_fields(settings), SecretStr(key), list(sources) if sources else None)


@click.command("ingest")
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="Only these sources (repeatable), still in ingest order. Default: all with a contract.",
)
@click.option(
    "--strict", is_flag=True, help="Exit with status 1 when a batch was quarantined (for schedulers)."
)
@click.pass_obj
def ingest_command(settings: Settings, sources: tuple[str, ...], strict: bool) -> None:
    """Validate, pseudonymise and land new deliveries from the landing folder and the care database.

    Each delivery is taken exactly once (a ledger of content hashes). Clean deliveries land in the
    warehouse; a delivery that breaks a blocking rule is quarantined whole, with a report (JSON and
    Markdown) under the quarantine folder. Needs TIDLIG_PSEUDONYM_KEY and TIDLIG_PSEUDONYM_KEY_VERSION, or
    --demo (synthetic data only).
    """
    try:
        settings.require_pseudonym_key()
    except MissingPseudonymKeyError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Ingesting from {settings.landing_dir} and the care database into {settings.warehouse_dir}")
    result = run_ingest_flow(settings, list(sources) or None)
    click.echo("")
    click.echo(result["summary"])
    failed = [o for o in result["outcomes"] if (o["skipped_reason"] or "").startswith("failed")]
    quarantined = sum(len(o["quarantined"]) for o in result["outcomes"])
    if failed or (strict and quarantined):
        raise SystemExit(1)
