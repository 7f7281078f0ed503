"""`tidlig contracts`: list the data contracts and render readable pages for them."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.settings import Settings


@click.group("contracts")
def contracts() -> None:
    """Inspect and document the data contracts (one Great Expectations suite per source table)."""


@contracts.command("list")
def list_contracts() -> None:
    """List every contract: source, version, warehouse table and number of rules."""
    from data_contracts.contract import available_sources, load_contract

    click.echo(f"{'source':<30} {'version':<8} {'table':<30} blocking warning")
    for source in available_sources():
        contract = load_contract(source)
        counts = contract.severity_counts()
        click.echo(
            f"{source:<30} {contract.version:<8} {contract.table:<30} {counts['blocking']:>8} "
            f"{counts['warning']:>7}"
        )


@contracts.command("docs")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the pages [default: <home>/contract-docs].",
)
@click.option("--check-gx", is_flag=True, help="Also load every suite into Great Expectations (slower).")
@click.pass_obj
def docs(settings: Settings, out: Path | None, check_gx: bool) -> None:
    """Render a readable Markdown and HTML page per contract, plus an index."""
    from data_contracts.contract import available_sources, load_contract, load_suite

    folder = out or settings.home / "contract-docs"
    loaded = [load_contract(source) for source in available_sources()]
    if check_gx:
        for contract in loaded:
            load_suite(contract)
    from data_contracts.rendering import write_contract_docs

    written = write_contract_docs(loaded, folder)
    click.echo(f"Wrote {len(written)} files for {len(loaded)} contracts to {folder}. Start with index.md.")
