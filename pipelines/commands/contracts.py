"""`tidlig contracts`: list the data contracts and render readable pages for them."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.settings import DEMO_PSEUDONYM_KEY, MissingPseudonymKeyError, Settings


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


def _ingest_context(settings: Settings, echo=click.echo):  # type: ignore[no-untyped-def]
    """The intake context for a command outside the ingest flow: the one `tidlig ingest` builds."""
    from pipelines.ingest_flow import build_context

    try:
        return build_context(settings, echo=echo)
    except MissingPseudonymKeyError as error:
        raise click.ClickException(str(error)) from None


@contracts.command("retry-held")
@click.option("--source", "sources", multiple=True, help="Only these sources (repeatable).")
@click.pass_obj
def retry_held_command(settings: Settings, sources: tuple[str, ...]) -> None:
    """Retry, once, the deliveries held because an upstream delivery was missing or quarantined.

    A delivery quarantined only by a cross-table rule (a person, contact or product not yet known) is
    held; it is retried exactly once after its upstream source lands, automatically by the next
    `tidlig ingest`, or now by this command. A retry that is refused again stays quarantined.
    """
    from data_contracts.contract import available_sources
    from data_contracts.intake import retry_held
    from warehouse import PseudonymKeyMismatchError

    chosen = [source for source in available_sources() if not sources or source in sources]
    context = _ingest_context(settings)
    held = context.warehouse.held_batches()
    if held.empty:
        click.echo("No held deliveries. Nothing to retry.")
        return
    try:
        outcomes = retry_held(context, chosen)
    except PseudonymKeyMismatchError as error:
        raise click.ClickException(str(error)) from None
    landed = sum(len(o.landed) for o in outcomes)
    quarantined = sum(len(o.quarantined) for o in outcomes)
    waiting = context.warehouse.held_batches()
    click.echo(
        f"Retried: {landed} delivery(ies) landed, {quarantined} quarantined again. "
        f"{len(waiting)} still held, waiting for their upstream source to land."
    )
    for row in waiting.itertuples():
        click.echo(f"  {row.source} {row.delivery}: waits for {row.held_by}")


@contracts.command("rotate-key")
@click.option(
    "--new-key-version", required=True, help="Version label of the new key (e.g. 2026-2); must be new."
)
@click.option(
    "--new-key-env",
    default="TIDLIG_NEW_PSEUDONYM_KEY",
    show_default=True,
    help="Environment variable holding the new key (never pass a key on the command line).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def rotate_key_command(settings: Settings, new_key_version: str, new_key_env: str, yes: bool) -> None:
    """Change the pseudonymisation key on purpose (docs/production.md, "Rotating the key").

    Needs the current key (TIDLIG_PSEUDONYM_KEY, proven against the fingerprint the warehouse recorded)
    and the new one in an environment variable. The current warehouse is retired whole (renamed, kept);
    a new one records the new key's fingerprint, and the next `tidlig ingest` (with the new key
    configured) takes every delivery again. Lists and review history keep their old pseudonyms.
    """
    import os

    from data_contracts.key_rotation import rotate_pseudonym_key
    from data_contracts.pseudonym import PseudonymKeyError
    from warehouse import PseudonymKeyMismatchError

    try:
        current_key, current_version = settings.require_pseudonym_key()
    except MissingPseudonymKeyError as error:
        raise click.ClickException(str(error)) from None
    new_key = os.environ.get(new_key_env)
    if not new_key:
        raise click.ClickException(f"Put the new key in the environment variable {new_key_env} first.")
    assert settings.warehouse_dir is not None
    if not yes:
        click.confirm(
            f"Retire the warehouse {settings.warehouse_dir} (kept, renamed) and start one for key version "
            f"{new_key_version}? Every delivery is ingested again afterwards.",
            abort=True,
        )
    try:
        rotation = rotate_pseudonym_key(
            settings.warehouse_dir,
            current_key=current_key,
            current_version=current_version,
            new_key=new_key,
            new_version=new_key_version,
            demo=settings.demo,
            demo_key=DEMO_PSEUDONYM_KEY,
        )
    except (PseudonymKeyMismatchError, PseudonymKeyError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Rotated: key version {current_version} ({rotation.old_fingerprint}) retired, warehouse kept at "
        f"{rotation.retired_dir}. New key version {new_key_version} ({rotation.new_fingerprint}) recorded.\n"
        f"Next: set TIDLIG_PSEUDONYM_KEY to the new key and TIDLIG_PSEUDONYM_KEY_VERSION={new_key_version}, "
        "then run `tidlig ingest` (it takes every delivery again), `tidlig features` and `tidlig train`."
    )
