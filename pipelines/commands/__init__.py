"""The click commands of the pipeline steps, one module per command: parse the options, prepare the
process, build the step's parameter object, call its flow, print what happened and what to do next.

Commands are the only place that turns the steps' domain errors into messages and exit codes
(:func:`reported_errors`); flows never import click.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from click.core import ParameterSource

from pipelines.errors import InvalidParameterError, StepError
from pipelines.runtime import prepare_environment
from pipelines.settings import Settings


def debugging() -> bool:
    """Whether the global ``tidlig --debug`` flag is on (show tracebacks and third-party output)."""
    context = click.get_current_context(silent=True)
    return bool(context and context.find_root().meta.get("tidlig.debug"))


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn a step's domain errors into click errors: a bad option exits 2, anything else 1.

    The message is printed once, as one paragraph, without a traceback; ``tidlig --debug`` re-raises the
    error with its traceback instead.

    Domain errors are :class:`~pipelines.errors.StepError` and the layers' own "not there" errors
    (``FileNotFoundError`` subclasses such as ``features.store.FeatureSetNotFoundError``,
    ``features.store.FeatureSetManifestError``, ``warehouse.PseudonymKeyMismatchError``).
    Other exceptions are bugs and keep their traceback.
    """
    from features.store import FeatureSetManifestError
    from warehouse import PseudonymKeyMismatchError

    try:
        yield
    except InvalidParameterError as error:
        if debugging():
            raise
        raise click.BadParameter(str(error), param_hint=error.option) from None
    except (StepError, FileNotFoundError, FeatureSetManifestError, PseudonymKeyMismatchError) as error:
        if debugging():
            raise
        raise click.ClickException(str(error)) from None
    except Exception as error:
        if debugging() or not is_domain_error(error):
            raise
        raise click.ClickException(str(error)) from None


# The layers' own errors that mean "this input or state does not allow the step", each with a message
# naming the next step: reported as messages, not tracebacks. Looked up in sys.modules, so a layer is
# never imported only to check an error (an error of a module not imported cannot be raised).
DOMAIN_ERRORS = (
    "models.split:InsufficientHistoryError",
    "models.champion_files:ChampionNotApprovedError",  # also models.registry.ChampionNotApprovedError
    "features.spec:FeatureSpecError",
    "screening.as_of:ScoringDateError",
    "data_contracts.contract:ContractError",
    "data_contracts.deliveries:UnreadableDeliveryError",
    "review.triage:TriageConfigError",
)


def is_domain_error(error: BaseException) -> bool:
    """Whether ``error`` is one of :data:`DOMAIN_ERRORS`."""
    for target in DOMAIN_ERRORS:
        module_name, name = target.split(":")
        module = sys.modules.get(module_name)
        kind = getattr(module, name, None) if module is not None else None
        if isinstance(kind, type) and isinstance(error, kind):
            return True
    return False


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def require_iso_date(value: str | None, option: str, *, also: tuple[str, ...] = ()) -> None:
    """Refuse a date that is not written YYYY-MM-DD (or one of the words in ``also``) before any flow
    starts, naming the option and the expected format."""
    if value is None or value in also:
        return
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError(value)
        dt.date.fromisoformat(value)
    except ValueError:
        words = "".join(f" or '{word}'" for word in also)
        raise InvalidParameterError(
            f"{value!r} is not a date in the form YYYY-MM-DD{words} (for example 2024-01-01).", option
        ) from None


def prepare(settings: Settings) -> None:
    """Set the process environment for Prefect and MLflow, then import Prefect and route its console
    output through Tidlig's terminal rendering (pipelines/progress.py); call before importing a flow
    module. With a Dask cluster in the settings, check that its scheduler answers and its workers can
    run Tidlig first (a clear error instead of a flow failing on its first task)."""
    prepare_environment(settings)
    from pipelines.progress import to_terminal

    to_terminal(debug=debugging())
    if settings.cluster is not None:
        from pipelines.cluster import check_cluster, quiet_dask_logging

        if not debugging():
            quiet_dask_logging()
        workers = check_cluster(settings.cluster)
        click.echo(f"Running the step's tasks on the Dask cluster at {settings.cluster} ({workers} workers).")


def on_cluster_option(settings: Settings, cluster: str | None) -> Settings:
    """The settings with the ``--cluster`` address (checked) when one was given."""
    from pipelines.cluster import check_address

    return settings.with_overrides(cluster=check_address(cluster))


def given_options() -> set[str]:
    """Names of the current command's options typed on the command line (not left at their default), so
    a run file (``--run-file``) supplies the rest."""
    context = click.get_current_context()
    return {
        name for name in context.params if context.get_parameter_source(name) is ParameterSource.COMMANDLINE
    }


RUN_FILE_OPTION = click.option(
    "--run-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="TOML run file with this step's table; options given here override it (pipelines/run_file.py).",
)

CLUSTER_OPTION = click.option(
    "--cluster",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Run the step's tasks on the Dask cluster of this scheduler [env TIDLIG_CLUSTER; default: in "
    "this process]. Results are the same either way.",
)
