"""The one `tidlig` command. Each subcommand is a module that loads only when called, so `tidlig --help`
stays fast and never imports Prefect, MLflow or Great Expectations. The pipeline steps' commands are in
``pipelines/commands/`` (one module each: parse, prepare, call the flow, print); synth, contracts and the
review app's commands live beside their layers."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import click

from pipelines.settings import load_settings

# name -> (import path "module:attribute", one-line help shown by `tidlig --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("pipelines.commands.demo:command", "Run the whole platform end to end on a synthetic world."),
    "synth": ("pipelines.commands.synth:synth", "Generate a synthetic world and its deliveries."),
    "contracts": ("pipelines.commands.contracts:contracts", "Inspect and document the data contracts."),
    "ingest": ("pipelines.commands.ingest:command", "Validate, pseudonymise and land new deliveries."),
    "features": ("pipelines.commands.features:command", "Build point-in-time features and labels."),
    "train": ("pipelines.commands.train:command", "Train, evaluate, register and promote risk models."),
    "score": ("pipelines.commands.score:command", "Score citizens and publish screening lists per district."),
    "monitor": ("pipelines.commands.monitor:command", "Monitor published lists: drift, performance, alerts."),
    "serve": ("pipelines.commands.serve:command", "Serve the scheduled Prefect deployments."),
    "review": ("pipelines.commands.review:review", "Start the clinician review web app on localhost."),
    "users": ("pipelines.commands.review:users", "Manage review app users."),
    "audit": ("pipelines.commands.review:audit", "Verify and inspect the audit log."),
    "citizens": ("pipelines.commands.records:citizens", "A citizen's objection: no longer scored or listed."),
    "retention": (
        "pipelines.commands.records:retention",
        "Delete lists, decisions, login records past retention.",
    ),
}

# Only these commands may create a home; these need none (the review app and its account and audit
# commands may run on another host with only the operational database, docs/decisions.md D5). Every other
# command refuses a missing home instead of creating a typo'd one.
HOME_CREATING = frozenset({"synth", "demo"})
HOME_FREE = frozenset({"contracts", "review", "users", "audit", "citizens", "retention"})
HELP_OPTIONS = frozenset({"-h", "--help"})


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["tidlig.arguments"] = tuple(args)  # so the home check can let `--help` through
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        target, _ = COMMANDS[cmd_name]
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="Data root for world, warehouse, models and lists [env TIDLIG_HOME; default ./tidlig-data].",
)
@click.option(
    "--demo", is_flag=True, default=None, help="Use the public demo pseudonym key (synthetic data only)."
)
@click.option(
    "--debug", is_flag=True, default=False, help="Show tracebacks and third-party log output on errors."
)
@click.option(
    "--cluster",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Run the steps' tasks on this Dask scheduler's cluster [env TIDLIG_CLUSTER; default: in process].",
)
@click.pass_context
def cli(ctx: click.Context, home: str | None, demo: bool | None, debug: bool, cluster: str | None) -> None:
    """Tidlig: early detection for elderly care.

    Typical order: synth -> ingest -> features -> train -> score -> monitor -> review.
    `tidlig demo` runs them all.
    """
    ctx.meta["tidlig.debug"] = debug
    from pipelines.cluster import check_address
    from pipelines.errors import InvalidParameterError

    try:
        settings = load_settings(home=home, demo=demo, cluster=check_address(cluster))
    except InvalidParameterError as error:
        raise click.BadParameter(str(error), param_hint="--cluster") from None
    ctx.obj = settings
    command = ctx.invoked_subcommand
    asks_help = bool(HELP_OPTIONS & set(ctx.meta.get("tidlig.arguments", ())))
    if not asks_help:
        keep_files_private(ctx, settings.home)
    if command in HOME_CREATING or command in HOME_FREE or asks_help or settings.home.is_dir():
        return
    if settings.home.exists():
        raise click.BadParameter(
            f"{settings.home} is a file, not a Tidlig home folder. Give the folder that holds the world, "
            "warehouse and models (--home or TIDLIG_HOME).",
            param_hint="--home",
        )
    raise click.BadParameter(
        f"There is no Tidlig home at {settings.home}. Check the spelling of --home (or TIDLIG_HOME), or "
        "create a home with `tidlig synth` (a synthetic world) or `tidlig demo` (everything end to end).",
        param_hint="--home",
    )


def keep_files_private(ctx: click.Context, home: Path) -> None:
    """Everything this command writes is the service account's alone: umask 077 until the command ends
    (restored after, for a caller that runs commands in-process), an existing home made 0700 (a home from
    before this rule tightened throughout), and the home swept once more when the command ends, for copies
    that kept their source's mode (privacy/files.py, docs/decisions.md D97)."""
    from privacy.files import private_home, restrict_new_files, tighten_tree

    previous = restrict_new_files()

    def finish() -> None:
        if home.is_dir():
            tighten_tree(home)  # a library's copy that kept its source's mode (shutil.copy2)
        os.umask(previous)

    ctx.call_on_close(finish)
    if home.is_dir():
        tightened = private_home(home)
        if tightened:
            click.echo(
                f"Made {tightened} files and folders in {home} readable by this account only "
                "(they were readable by others).",
                err=True,
            )


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
