"""`tidlig ingest`: validate, pseudonymise and land new deliveries (flow: pipelines/ingest_flow.py)."""

from __future__ import annotations

import click

from pipelines.commands import CLUSTER_OPTION, on_cluster_option, prepare, reported_errors
from pipelines.parameters import IngestParameters
from pipelines.settings import Settings


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
@CLUSTER_OPTION
@click.pass_obj
def command(settings: Settings, sources: tuple[str, ...], strict: bool, cluster: str | None) -> None:
    """Validate, pseudonymise and land new deliveries from the landing folder and the care database.

    Each delivery is taken exactly once (a ledger of content hashes). Clean deliveries land in the
    warehouse; a delivery that breaks a blocking rule is quarantined whole, with a report (JSON and
    Markdown) under the quarantine folder. Needs TIDLIG_PSEUDONYM_KEY and TIDLIG_PSEUDONYM_KEY_VERSION, or
    --demo (synthetic data only).
    """
    with reported_errors():
        settings = on_cluster_option(settings, cluster)
        settings.require_pseudonym_key()  # before Prefect starts: say at once what is missing
        prepare(settings)
        from pipelines.ingest_flow import ingest_flow, selected_sources

        selected_sources(list(sources))  # an unknown source is a usage error, before the flow starts
        click.echo("Starting the ingest flow (Prefect)...")
        from pipelines.cluster import on_cluster

        flow = on_cluster(ingest_flow, settings.cluster)
        result = flow(settings.reference(), IngestParameters(sources=sources))
    click.echo("")
    click.echo(result["summary"])
    failed = [o for o in result["outcomes"] if (o["skipped_reason"] or "").startswith("failed")]
    quarantined = sum(len(o["quarantined"]) for o in result["outcomes"])
    if failed or (strict and quarantined):
        raise SystemExit(1)
