"""`tidlig review`, `tidlig users` and `tidlig audit`: serve the app, manage accounts, check the audit log."""

from __future__ import annotations

import datetime as dt
import sys

import click

from review.access import ROLES


def _engine(settings: object):
    from review.database import create_operational_engine, upgrade_database

    engine = create_operational_engine(str(settings.operational_db_url))  # type: ignore[attr-defined]
    upgrade_database(engine)
    return engine


@click.command("review")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to listen on (keep it local)."
)
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--secure-cookies/--no-secure-cookies",
    default=False,
    show_default=True,
    envvar="TIDLIG_REVIEW_SECURE_COOKIES",
    help="Mark cookies Secure (turn on when served over HTTPS, e.g. behind a TLS proxy).",
)
@click.pass_obj
def review(settings: object, host: str, port: int, secure_cookies: bool) -> None:
    """Start the clinician review web app (migrates its tables first).

    Create a first user with `tidlig users add`, then open http://HOST:PORT in a browser.
    """
    import uvicorn

    from review.app import create_app
    from review.config import ReviewConfig

    settings.home.mkdir(parents=True, exist_ok=True)  # type: ignore[attr-defined]
    app = create_app(ReviewConfig.from_settings(settings, secure_cookies=secure_cookies))
    click.echo(f"Tidlig review on http://{host}:{port}  (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@click.group("users")
def users() -> None:
    """Manage review app accounts (local accounts with Argon2 password hashes)."""


@users.command("add")
@click.option("--username", required=True, help="Login name (lower case letters, digits, . _ -).")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may do.")
@click.option(
    "--district",
    "districts",
    multiple=True,
    help="Care district code the user works in (repeat for several); required for all but admin.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.pass_obj
def add_user(
    settings: object, username: str, role: str, districts: tuple[str, ...], password_stdin: bool
) -> None:
    """Create a user. Without --password-stdin the password is prompted for (twice)."""
    from review.accounts import AccountError, create_account
    from review.passwords import HashingCost, hash_password

    settings.home.mkdir(parents=True, exist_ok=True)  # type: ignore[attr-defined]
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        password_hash = hash_password(password, HashingCost())
        account = create_account(
            _engine(settings),
            username=username.strip().lower(),
            role=role,
            districts=districts,
            password_hash=password_hash,
            created_at=dt.datetime.now(dt.UTC),
        )
    except (ValueError, AccountError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Created {account.role} '{account.username}' for districts: {', '.join(account.districts) or '-'}."
    )


@users.command("list")
@click.pass_obj
def list_users(settings: object) -> None:
    """List accounts: username, role, districts, active."""
    from review.accounts import list_accounts

    accounts = list_accounts(_engine(settings))
    if not accounts:
        click.echo(
            "No users yet. Create one with: tidlig users add --username NAME --role nurse --district CODE"
        )
    for account in accounts:
        state = "active" if account.active else "inactive"
        click.echo(f"{account.username:<24} {account.role:<12} {','.join(account.districts):<24} {state}")


@click.group("audit")
def audit() -> None:
    """Verify and inspect the hash-chained audit log."""


@audit.command("verify")
@click.pass_obj
def verify(settings: object) -> None:
    """Recompute the hash chain; exit 1 if any row was changed, removed or inserted."""
    from review.app import utc_now
    from review.audit import AuditLog

    report = AuditLog(_engine(settings), utc_now).verify()
    if report.ok:
        click.echo(f"Audit log intact: {report.rows} rows. Head hash {report.head_hash}")
        click.echo(
            "Keep the head hash somewhere the database administrator cannot write to detect truncation."
        )
        return
    click.secho(
        f"Audit log BROKEN at row {report.first_broken_seq}: {report.problem}. "
        "Preserve the database as evidence and contact the security officer.",
        fg="red",
        err=True,
    )
    sys.exit(1)


@audit.command("show")
@click.option("--person-key", default=None, help="Only rows that showed this pseudonym.")
@click.option("--user", "username", default=None, help="Only rows made by this username.")
@click.option("--limit", default=50, show_default=True, help="Newest rows to show.")
@click.pass_obj
def show(settings: object, person_key: str | None, username: str | None, limit: int) -> None:
    """Who looked at what, when and why (newest first)."""
    from review.app import utc_now
    from review.audit import AuditLog

    records = AuditLog(_engine(settings), utc_now).records(
        person_key=person_key, username=username, limit=limit
    )
    if not records:
        click.echo("No matching audit rows.")
    for record in records:
        click.echo(
            f"{record.seq:>6} {record.occurred_at[:19]} {record.username:<16} {record.role:<11} "
            f"{record.action:<14} {record.purpose:<16} list={record.list_id or '-'} "
            f"persons={len(record.person_keys)}"
        )
