"""`tidlig review`, `tidlig users` and `tidlig audit`: serve the app, manage accounts, check the audit log."""

from __future__ import annotations

import datetime as dt
import sys

import click

from pipelines.settings import Settings
from review.access import ROLES


def _engine(settings: Settings):
    import os

    from review.database import create_operational_engine, upgrade_database

    settings.home.mkdir(parents=True, exist_ok=True)
    migration_url = os.environ.get(MIGRATION_URL_ENV)
    totp_key = _config(settings).totp_key
    if migration_url:
        owner = create_operational_engine(migration_url)
        upgrade_database(owner, totp_key=totp_key)
        owner.dispose()
    engine = create_operational_engine(str(settings.operational_db_url))
    if not migration_url:
        upgrade_database(engine, totp_key=totp_key)
    return engine


MIGRATION_URL_ENV = "TIDLIG_REVIEW_MIGRATION_DB_URL"
APP_ROLE_ENV = "TIDLIG_REVIEW_APP_ROLE"


def _config(settings: Settings, **overrides: object):
    import os

    from pipelines.commands import reported_errors
    from review.config import ReviewConfig

    with reported_errors():  # e.g. an unreadable TIDLIG_REVIEW_TRIAGE: a message, not a traceback
        return ReviewConfig.from_settings(settings, app_role=os.environ.get(APP_ROLE_ENV), **overrides)


def _audit_log(settings: Settings, engine):
    from review.anchors import AnchorFile
    from review.app import utc_now
    from review.audit import AuditLog

    config = _config(settings)
    assert config.anchor_path is not None
    assert config.anchor_key is not None
    anchors = AnchorFile(config.anchor_path, config.anchor_key, config.anchor_every)
    return AuditLog(engine, utc_now, anchors, app_role=config.app_role)


def _administration(settings: Settings, engine, four_eyes: bool):
    from review.administration import AccountAdministration
    from review.app import utc_now

    return AccountAdministration(engine, _audit_log(settings, engine), utc_now, four_eyes=four_eyes)


FOUR_EYES_OPTION = click.option(
    "--four-eyes/--no-four-eyes",
    default=True,
    show_default=True,
    envvar="TIDLIG_REVIEW_FOUR_EYES",
    help="Clinical and admin accounts wait for a second admin's approval. Switch off only deliberately "
    "(the demo does); the audit row records it.",
)


@click.command("review")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to listen on (keep it local)."
)
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--secure-cookies/--no-secure-cookies",
    default=None,
    envvar="TIDLIG_REVIEW_SECURE_COOKIES",
    help="Mark cookies Secure and send HSTS. Default: on unless --host is a loopback address.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    envvar="TIDLIG_REVIEW_TRUSTED_PROXIES",
    help="Address or network of a reverse proxy whose X-Forwarded-For is believed (repeat for several). "
    "Without it the header is ignored.",
)
@FOUR_EYES_OPTION
@click.pass_obj
def review(
    settings: Settings,
    *,
    host: str,
    port: int,
    secure_cookies: bool | None,
    trusted_proxies: tuple[str, ...],
    four_eyes: bool,
) -> None:
    """Start the clinician review web app (migrates its tables first).

    Create a first user with `tidlig users add`, then open http://HOST:PORT in a browser.
    Sign-on through OpenID Connect: set TIDLIG_OIDC_ISSUER, TIDLIG_OIDC_CLIENT_ID, TIDLIG_OIDC_CLIENT_SECRET
    and TIDLIG_OIDC_REDIRECT_URI (see docs/review-app.md).
    """
    import os

    import uvicorn

    from privacy.files import private_directory
    from review.app import create_app
    from review.config import OidcSettings

    private_directory(settings.home)
    oidc = None
    if os.environ.get("TIDLIG_OIDC_ISSUER"):
        oidc = OidcSettings(
            issuer=os.environ["TIDLIG_OIDC_ISSUER"],
            client_id=os.environ.get("TIDLIG_OIDC_CLIENT_ID", ""),
            client_secret=os.environ.get("TIDLIG_OIDC_CLIENT_SECRET", ""),
            redirect_uri=os.environ.get(
                "TIDLIG_OIDC_REDIRECT_URI", f"http://{host}:{port}/login/oidc/callback"
            ),
        )
    config = _config(
        settings,
        secure_cookies=secure_cookies,
        bind_host=host,
        trusted_proxies=tuple(trusted_proxies),
        four_eyes=four_eyes,
        migration_db_url=os.environ.get(MIGRATION_URL_ENV),
        oidc=oidc,
    )
    app = create_app(config)
    scheme = "https" if config.cookies_secure else "http"
    click.echo(f"Tidlig review on {scheme}://{host}:{port}  (Ctrl+C to stop)")
    if not four_eyes:
        click.echo("Four-eyes approval of clinical and admin access is switched OFF.")
    uvicorn.run(**server_options(app, host, port))


def server_options(app: object, host: str, port: int) -> dict[str, object]:
    """How `tidlig review` runs uvicorn: no proxy-header rewriting (the app itself decides which
    forwarded addresses to believe, see review.web_security.client_ip) and no uvicorn access log (the
    app writes its own, without query strings)."""
    return {
        "app": app,
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
    }


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
@FOUR_EYES_OPTION
@click.pass_obj
def add_user(
    settings: Settings,
    *,
    username: str,
    role: str,
    districts: tuple[str, ...],
    password_stdin: bool,
    four_eyes: bool,
) -> None:
    """Create a user (audited, naming you as the operator). Without --password-stdin the password is
    prompted for (twice). Clinical and admin accounts wait for a second admin's approval unless
    --no-four-eyes; the very first admin is active at once."""
    from review.accounts import AccountError
    from review.administration import Actor
    from review.audit import AuditUnavailableError
    from review.passwords import HashingCost, hash_password

    name = username.strip().lower()
    password = _read_password(password_stdin, confirm=True)
    try:
        password_hash = hash_password(password, HashingCost(), user_inputs=(name,))
        engine = _engine(settings)
        account = _administration(settings, engine, four_eyes).create(
            Actor.command_line(), username=name, role=role, districts=districts, password_hash=password_hash
        )
    except (ValueError, AccountError, AuditUnavailableError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Created {account.role} '{account.username}' for districts: {', '.join(account.districts) or '-'}."
    )
    if account.approval_pending:
        click.echo(
            "It cannot sign in until a second admin approves it: on the Users page, or with "
            f"`tidlig users approve {account.username} --admin ADMIN`."
        )
    elif not four_eyes and role != "admin":
        click.echo("Four-eyes approval was switched off for this account (--no-four-eyes).")


def _read_password(from_stdin: bool, *, confirm: bool, prompt: str = "Password") -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)


@users.command("approve")
@click.argument("username")
@click.option("--admin", "admin_name", required=True, help="The approving admin (not the one who asked).")
@click.option("--password-stdin", is_flag=True, help="Read the admin's password from standard input.")
@click.option("--otp", default="", help="The admin's one-time code, if the admin has TOTP set up.")
@click.pass_obj
def approve_user(settings: Settings, username: str, admin_name: str, password_stdin: bool, otp: str) -> None:
    """Approve a pending account as a second admin (the admin's password, and code, are checked)."""
    from review.accounts import AccountError, find_account, totp_state, use_totp_step
    from review.administration import Actor
    from review.app import utc_now
    from review.authentication import LocalAccountProvider
    from review.passwords import HashingCost
    from review.totp import SealedSecretError, matching_step

    engine = _engine(settings)
    password = _read_password(password_stdin, confirm=False, prompt=f"Password of {admin_name}")
    admin = find_account(engine, username=admin_name.strip().lower())
    verified = LocalAccountProvider(engine, HashingCost(), max_concurrent=1).verify(admin_name, password)
    if admin is None or verified is None or admin.role != "admin":
        raise click.ClickException("The admin's username or password is wrong.")
    try:
        secret, _last = totp_state(engine, admin.user_id, _config(settings).totp_key)
    except SealedSecretError:
        raise click.ClickException(
            "The admin's stored second factor does not open with this installation's TOTP key; "
            "the admin must enrol again (`tidlig users totp`)."
        ) from None
    if secret is not None:
        step = matching_step(secret, otp, utc_now())
        if step is None or not use_totp_step(engine, admin.user_id, step):
            raise click.ClickException("The admin's one-time code is wrong or was used already (--otp).")
    try:
        account = _administration(settings, engine, True).approve(Actor(admin.username, "admin"), username)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Approved {account.role} '{account.username}' (by {admin.username}).")


@users.command("change")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES), help="The new role.")
@click.option("--district", "districts", multiple=True, help="The new districts (repeat for several).")
@FOUR_EYES_OPTION
@click.pass_obj
def change_user(
    settings: Settings, username: str, role: str, districts: tuple[str, ...], four_eyes: bool
) -> None:
    """Change an account's role and districts (audited). Its sessions end; clinical and admin access waits
    for a second admin's approval again."""
    from review.accounts import AccountError
    from review.administration import Actor

    try:
        account = _administration(settings, _engine(settings), four_eyes).change_access(
            Actor.command_line(), username.strip().lower(), role=role, districts=districts
        )
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    state = "awaiting approval" if account.approval_pending else "active"
    click.echo(
        f"'{account.username}' is now {account.role} for {', '.join(account.districts) or '-'} ({state})."
    )


@users.command("deactivate")
@click.argument("username")
@click.pass_obj
def deactivate_user(settings: Settings, username: str) -> None:
    """Deactivate an account: every session of it ends at once (audited)."""
    _set_active(settings, username, False)


@users.command("activate")
@click.argument("username")
@FOUR_EYES_OPTION
@click.pass_obj
def activate_user(settings: Settings, username: str, four_eyes: bool) -> None:
    """Reactivate an account (audited). Old sessions never come back; clinical and admin accounts wait
    for a second admin's approval again."""
    _set_active(settings, username, True, four_eyes)


def _set_active(settings: Settings, username: str, active: bool, four_eyes: bool = True) -> None:
    from review.accounts import AccountError
    from review.administration import Actor

    try:
        account = _administration(settings, _engine(settings), four_eyes).set_active(
            Actor.command_line(), username.strip().lower(), active
        )
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    state = "active" if account.may_sign_in else ("awaiting approval" if account.active else "inactive")
    click.echo(f"'{account.username}' is now {state}.")


@users.command("totp")
@click.argument("username")
@click.pass_obj
def enrol_totp(settings: Settings, username: str) -> None:
    """Give a local account a TOTP second factor and print the otpauth:// URI for the authenticator app
    (give it to the user in person). From then on the login needs the 6-digit code. Users who can sign
    in can set it up themselves instead, on the app's "Two-step sign-in" page (/account/totp)."""
    from review.accounts import find_account, set_totp_secret
    from review.administration import ACCOUNT_PURPOSE, Actor
    from review.audit import AuditEvent
    from review.totp import new_secret, provisioning_uri

    engine = _engine(settings)
    account = find_account(engine, username=username.strip().lower())
    if account is None or account.auth_provider != "local":
        raise click.ClickException(f"No local account named {username!r}; see `tidlig users list`.")
    actor = Actor.command_line()
    _audit_log(settings, engine).append(
        AuditEvent(
            actor.username,
            actor.role,
            actor.unit,
            "account_totp_enrolled",
            ACCOUNT_PURPOSE,
            detail={"account": account.username},
        )
    )
    secret = new_secret()
    set_totp_secret(engine, account.username, _config(settings).totp_key, secret)
    click.echo(provisioning_uri(secret, account.username))
    click.echo("Scan or type this into the authenticator app; the user's sessions were ended.")


@users.command("purge-login-records")
@click.option("--older-than-days", default=30, show_default=True, type=int, help="Keep this many days.")
@click.pass_obj
def purge_login_records(settings: Settings, older_than_days: int) -> None:
    """Delete login attempts (keyed username digests, client addresses) older than the period.

    The app also purges them on every login; the audit log is kept separately and is never purged here.
    """
    from review.app import utc_now
    from review.authentication import LoginThrottle, ThrottlePolicy

    config = _config(settings)
    throttle = LoginThrottle(_engine(settings), ThrottlePolicy(), utc_now, config.login_record_key)
    removed = throttle.purge(dt.timedelta(days=older_than_days))
    click.echo(f"Deleted {removed} login records older than {older_than_days} days.")


@users.command("list")
@click.pass_obj
def list_users(settings: Settings) -> None:
    """List accounts: username, role, districts, active."""
    from review.accounts import list_accounts

    accounts = list_accounts(_engine(settings))
    if not accounts:
        click.echo(
            "No users yet. Create one with: tidlig users add --username NAME --role nurse --district CODE"
        )
    for account in accounts:
        state = "active" if account.may_sign_in else ("pending" if account.active else "inactive")
        click.echo(
            f"{account.username:<24} {account.role:<12} {','.join(account.districts):<24} {state:<9} "
            f"created by {account.created_by or '-'}, approved by {account.approved_by or '-'}"
        )


@click.group("audit")
def audit() -> None:
    """Verify and inspect the hash-chained audit log."""


@audit.command("verify")
@click.pass_obj
def verify(settings: Settings) -> None:
    """Recompute the hash chain, compare it with the signed anchors outside the database and check the
    database's protections; exit 1 if a row was changed, removed, inserted or forged, the tail was cut,
    the table emptied, or a protection (trigger, role rights) is missing."""
    report = _audit_log(settings, _engine(settings)).verify()
    if report.ok:
        click.echo(
            f"Audit log intact: {report.rows} rows, matching {report.anchors} signed anchors; "
            "append-only protections in place."
        )
        click.echo(f"Head hash {report.head_hash}")
        return
    where = f" at row {report.first_broken_seq}" if report.first_broken_seq else ""
    click.secho(
        f"Audit log BROKEN{where}: {report.problem}. "
        "Preserve the database and the anchor file as evidence and contact the security officer.",
        fg="red",
        err=True,
    )
    sys.exit(1)


@audit.command("grant-app-role")
@click.argument("role")
@click.option("--print-only", is_flag=True, help="Print the SQL instead of running it.")
@click.pass_obj
def grant_app_role(settings: Settings, role: str, print_only: bool) -> None:
    """PostgreSQL: let ROLE (the app's login role) read the operational tables and write the review
    tables, but only SELECT and INSERT the audit log. Run as the owner (migration) role."""
    import sqlalchemy as sa

    from review.database import app_role_grants

    engine = _engine(settings)
    if engine.dialect.name != "postgresql":
        raise click.ClickException("Role separation needs PostgreSQL; SQLite has no roles.")
    statements = app_role_grants(engine, role)
    if print_only:
        click.echo(";\n".join(statements) + ";")
        return
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    click.echo(f"Granted {role}: read all, write review tables, only SELECT and INSERT on the audit log.")


@audit.command("show")
@click.option("--person-key", default=None, help="Only rows that showed this pseudonym.")
@click.option("--user", "username", default=None, help="Only rows made by this username.")
@click.option("--limit", default=50, show_default=True, help="Newest rows to show.")
@click.pass_obj
def show(settings: Settings, person_key: str | None, username: str | None, limit: int) -> None:
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
