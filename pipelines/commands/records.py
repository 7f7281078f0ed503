"""`tidlig citizens object` and `tidlig retention`: a citizen's objection, and retention periods.

Wiring only: the objection register and the withdrawal from lists are ``screening.objections``, the
retention rules ``review.retention`` and ``screening.retention``; both write an audit row in the review
app's hash-chained log (``pipelines.commands.review``'s audit helpers) before they change anything.
"""

from __future__ import annotations

import sys

import click

from pipelines.commands import reported_errors
from pipelines.settings import Settings

DATA_PROTECTION_PURPOSE = "data_protection"


def _operational(settings: Settings):
    """The operational database with the review tables migrated and the screening tables in place."""
    from pipelines.commands.review import _engine
    from screening.store import create_schema

    engine = _engine(settings)
    create_schema(engine)
    return engine


def _read_cpr(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().strip()
    return click.prompt("CPR number", hide_input=True).strip()


@click.group("citizens")
def citizens() -> None:
    """A citizen's rights: register an objection (no longer scored or listed)."""


@citizens.command("object")
@click.option(
    "--cpr-stdin",
    is_flag=True,
    help="Read the citizen's CPR number from standard input (never give it as an argument: it would stay "
    "in the shell history and the process list). Without this or --person-key it is asked for, hidden.",
)
@click.option("--person-key", default=None, help="The citizen's pseudonym instead of the CPR number.")
@click.option("--by", "registered_by", required=True, help="Who registers the objection (name or initials).")
@click.option(
    "--reference",
    default=None,
    help="Case or journal number of the objection (letters, digits, - / . _), kept in the register.",
)
@click.pass_obj
def object_command(
    settings: Settings, cpr_stdin: bool, person_key: str | None, registered_by: str, reference: str | None
) -> None:
    """Register a citizen's objection: from now on they are not scored or listed, and they are withdrawn
    from every stored list at once (entries, facts and scores deleted; each list keeps a count of
    withdrawals). The register is append-only and the objection is an audit row; the CPR number is
    pseudonymised here and never stored or printed."""
    import pandas as pd

    from data_contracts.pseudonym import cpr_is_well_formed, pseudonymise_one
    from pipelines.commands.review import _audit_log
    from review.administration import Actor
    from review.app import utc_now
    from review.audit import AuditEvent
    from screening.objections import ObjectionError, register_objection

    with reported_errors():
        if person_key is None:
            cpr = _read_cpr(cpr_stdin)
            if not bool(cpr_is_well_formed(pd.Series([cpr])).iloc[0]):
                raise click.BadParameter(
                    "not a CPR number (10 digits, optionally DDMMYY-NNNN).", param_hint="CPR"
                )
            key, _version = settings.require_pseudonym_key()
            person_key = pseudonymise_one(cpr, key)
        engine = _operational(settings)
        actor = Actor.command_line()
        try:
            _audit_log(settings, engine).append(
                AuditEvent(
                    actor.username,
                    actor.role,
                    actor.unit,
                    "citizen_objection_registered",
                    DATA_PROTECTION_PURPOSE,
                    person_keys=(person_key,),
                    detail={"registered_by": registered_by.strip(), "reference": reference},
                )
            )
            result = register_objection(
                engine, person_key, registered_by=registered_by, at=utc_now(), reference=reference
            )
        except ObjectionError as error:
            raise click.ClickException(str(error)) from None
        finally:
            engine.dispose()
    if not result.new:
        click.echo(
            f"Already registered: objection #{result.objection_id} of {result.registered_at:%Y-%m-%d}. "
            "Nothing changed."
        )
        return
    click.echo(
        f"Objection #{result.objection_id} registered. The citizen was withdrawn from "
        f"{len(result.lists_withdrawn)} stored list(s) ({result.entries_withdrawn} listed, "
        f"{result.scores_withdrawn} scored) and will not be scored or listed again."
    )
    if result.lists_withdrawn:
        click.echo(
            f"  Files already exported under {settings.lists_dir} before today may still show them: delete "
            "those folders, or run `tidlig score` again to publish lists without them."
        )


@click.command("retention")
@click.option(
    "--lists-days",
    type=int,
    default=None,
    envvar="TIDLIG_RETENTION_LISTS_DAYS",
    help="Keep published lists this many days (never a current list; at least 400) [default: 1095].",
)
@click.option(
    "--decisions-days",
    type=int,
    default=None,
    envvar="TIDLIG_RETENTION_DECISIONS_DAYS",
    help="Keep clinicians' decisions this many days [default: 3653, ten years, as for patient records].",
)
@click.option(
    "--login-days",
    type=int,
    default=None,
    envvar="TIDLIG_RETENTION_LOGIN_DAYS",
    help="Keep login attempts and ended sessions this many days [default: 30].",
)
@click.option(
    "--security-event-days",
    type=int,
    default=None,
    envvar="TIDLIG_RETENTION_SECURITY_EVENT_DAYS",
    help="Keep security events (denied requests) this many days [default: 365].",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted; change nothing.")
@click.pass_obj
def retention(
    settings: Settings,
    *,
    lists_days: int | None,
    decisions_days: int | None,
    login_days: int | None,
    security_event_days: int | None,
    dry_run: bool,
) -> None:
    """Delete lists, decisions and login records older than their retention periods (audited; run it
    from a schedule, and with --dry-run first). The audit log is never deleted: keep it at least as long
    as the records it documents (docs/production.md)."""
    from dataclasses import replace

    from pipelines.commands.review import _audit_log
    from review.administration import Actor
    from review.app import utc_now
    from review.audit import AuditEvent
    from review.retention import RetentionError, RetentionPeriods, apply_retention

    chosen = {
        "lists_days": lists_days,
        "decisions_days": decisions_days,
        "login_days": login_days,
        "security_event_days": security_event_days,
    }
    periods = replace(RetentionPeriods(), **{k: v for k, v in chosen.items() if v is not None})
    with reported_errors():
        try:
            periods.check()
        except RetentionError as error:
            raise click.BadParameter(str(error)) from None
        engine = _operational(settings)
        try:
            now = utc_now()
            counted = apply_retention(engine, periods, now, dry_run=True)
            if not dry_run and counted.total:
                actor = Actor.command_line()
                _audit_log(settings, engine).append(
                    AuditEvent(
                        actor.username,
                        actor.role,
                        actor.unit,
                        "retention_applied",
                        DATA_PROTECTION_PURPOSE,
                        detail={
                            "periods": periods.as_record(),
                            "cutoffs": counted.cutoffs,
                            "rows": counted.counts,
                        },
                    )
                )
                report = apply_retention(engine, periods, now, dry_run=False)
            else:
                report = counted
        finally:
            engine.dispose()
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(f"{verb} {report.total} rows older than their retention periods:")
    labels = {
        "screening_lists": f"lists dated before {report.cutoffs['lists_before']} (not current)",
        "screening_list_entries": "  their entries",
        "citizen_facts": "  their citizen facts",
        "screening_scores": "  their stored scores",
        "review_assignments": "  their assignments",
        "review_decisions": f"decisions before {report.cutoffs['decisions_before'][:10]}",
        "review_login_attempts": f"login attempts before {report.cutoffs['login_records_before'][:10]}",
        "review_sessions": f"sessions expired before {report.cutoffs['login_records_before'][:10]}",
        "review_security_events": f"security events before {report.cutoffs['security_events_before'][:10]}",
    }
    for table, label in labels.items():
        click.echo(f"  {report.counts.get(table, 0):>8}  {label}")
    if dry_run:
        click.echo("Nothing was changed. Run without --dry-run to delete (an audit row records it).")
    elif report.total:
        click.echo("An audit row records the periods and counts. The audit log itself is kept.")
