"""User accounts: create, look up, list, deactivate. Roles and districts live here whatever the provider.

These are the storage operations; changes made by people go through :mod:`review.administration`, which
audits them and applies four-eyes approval.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from review.access import ROLES, Principal
from review.tables import sessions, to_utc_naive, users

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


@dataclass(frozen=True)
class Account:
    """A stored user account (the password hash is never part of it)."""

    user_id: int
    username: str
    role: str
    districts: tuple[str, ...]
    auth_provider: str
    active: bool
    created_by: str | None = None
    requested_by: str | None = None
    approved_by: str | None = None
    approval_pending: bool = False
    has_totp: bool = False

    @property
    def may_sign_in(self) -> bool:
        """Active and not waiting for a second admin's approval."""
        return self.active and not self.approval_pending

    def principal(self) -> Principal:
        """The account as the app authorises it."""
        return Principal(self.user_id, self.username, self.role, frozenset(self.districts))


class AccountError(ValueError):
    """An account could not be created as asked; the message says what to change."""


def create_account(
    engine: sa.Engine,
    *,
    username: str,
    role: str,
    districts: Iterable[str],
    password_hash: str | None,
    created_at: dt.datetime,
    auth_provider: str = "local",
    created_by: str | None = None,
    approval_pending: bool = False,
    external_subject: str | None = None,
) -> Account:
    """Insert a new active account (``approval_pending`` until a second admin approves it).

    Raises :class:`AccountError` for a bad name or role or a duplicate.
    """
    district_list = validate_access(username, role, districts)
    try:
        with engine.begin() as connection:
            user_id = connection.execute(
                sa.insert(users)
                .values(
                    username=username,
                    role=role,
                    districts=district_list,
                    password_hash=password_hash,
                    auth_provider=auth_provider,
                    external_subject=external_subject,
                    active=True,
                    created_at=to_utc_naive(created_at),
                    created_by=created_by,
                    requested_by=created_by,
                    approval_pending=approval_pending,
                )
                .returning(users.c.user_id)
            ).scalar_one()
    except sa.exc.IntegrityError:
        raise AccountError(f"A user named {username!r} already exists.") from None
    return Account(
        user_id,
        username,
        role,
        tuple(district_list),
        auth_provider,
        True,
        created_by=created_by,
        requested_by=created_by,
        approval_pending=approval_pending,
    )


def validate_access(username: str, role: str, districts: Iterable[str]) -> list[str]:
    """The sorted districts if ``username``, ``role`` and ``districts`` make a valid account; raises
    :class:`AccountError` saying what to change otherwise."""
    district_list = sorted({d.strip() for d in districts if d.strip()})
    if not USERNAME_PATTERN.match(username):
        raise AccountError("Usernames are 2-64 characters: lower-case letters, digits, '.', '_' or '-'.")
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if role in ("nurse", "gp", "coordinator", "analyst") and not district_list:
        raise AccountError(f"A {role} needs at least one district (--district CODE).")
    return district_list


def find_account(
    engine: sa.Engine, *, username: str | None = None, user_id: int | None = None
) -> Account | None:
    """The account with this username or id, or None."""
    query = sa.select(users)
    query = query.where(users.c.username == username) if username is not None else query
    query = query.where(users.c.user_id == user_id) if user_id is not None else query
    with engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    return _account(row) if row is not None else None


def password_hash_of(engine: sa.Engine, username: str) -> str | None:
    """The stored hash of an active, approved local account, or None."""
    query = sa.select(users.c.password_hash).where(
        users.c.username == username,
        users.c.active.is_(True),
        users.c.approval_pending.is_(False),
        users.c.auth_provider == "local",
    )
    with engine.connect() as connection:
        return connection.execute(query).scalar_one_or_none()


def list_accounts(engine: sa.Engine) -> list[Account]:
    """All accounts ordered by username."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(users).order_by(users.c.username)).mappings().all()
    return [_account(row) for row in rows]


def set_active(engine: sa.Engine, username: str, active: bool, **values: object) -> bool:
    """Activate or deactivate an account (with further column ``values``); False if no such user.

    Both directions delete every session of the account in the same transaction: deactivation ends them
    at once, and reactivation can never bring an old session back.
    """
    with engine.begin() as connection:
        result = connection.execute(
            sa.update(users).where(users.c.username == username).values(active=active, **values)
        )
        if result.rowcount == 1:
            user_id = sa.select(users.c.user_id).where(users.c.username == username).scalar_subquery()
            connection.execute(sa.delete(sessions).where(sessions.c.user_id == user_id))
    return result.rowcount == 1


def update_account(engine: sa.Engine, username: str, *, end_sessions: bool, **values: object) -> bool:
    """Change columns of one account (optionally ending its sessions in the same transaction)."""
    with engine.begin() as connection:
        result = connection.execute(sa.update(users).where(users.c.username == username).values(**values))
        if result.rowcount == 1 and end_sessions:
            user_id = sa.select(users.c.user_id).where(users.c.username == username).scalar_subquery()
            connection.execute(sa.delete(sessions).where(sessions.c.user_id == user_id))
    return result.rowcount == 1


def totp_state(engine: sa.Engine, user_id: int, key: bytes) -> tuple[str | None, int | None]:
    """The account's TOTP secret (opened with ``key``) and last used time step; (None, None) when it has
    no second factor. Raises :class:`review.totp.SealedSecretError` when the stored value is in clear,
    sealed for another account or with another key: callers must then refuse, never skip the factor."""
    from review.totp import open_secret

    query = sa.select(users.c.totp_secret, users.c.totp_last_step).where(users.c.user_id == user_id)
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None or row.totp_secret is None:
        return None, None
    return open_secret(key, user_id, row.totp_secret), row.totp_last_step


def set_totp_secret(engine: sa.Engine, username: str, key: bytes, secret: str) -> bool:
    """Make ``secret`` the account's active second factor (sealed), end its sessions (the admin's
    `tidlig users totp`, which hands the secret over in person)."""
    account = find_account(engine, username=username)
    if account is None:
        return False
    from review.totp import seal_secret

    return update_account(
        engine,
        username,
        end_sessions=True,
        totp_secret=seal_secret(key, account.user_id, secret),
        totp_last_step=None,
        totp_pending_secret=None,
    )


def start_totp_enrolment(engine: sa.Engine, user_id: int, key: bytes) -> str:
    """A fresh secret stored sealed as the account's *pending* second factor (replacing any earlier
    pending one); returned so the page can show it once. It is not used at sign-in until confirmed."""
    from review.totp import PENDING, new_secret, seal_secret

    secret = new_secret()
    with engine.begin() as connection:
        connection.execute(
            sa.update(users)
            .where(users.c.user_id == user_id)
            .values(totp_pending_secret=seal_secret(key, user_id, secret, PENDING))
        )
    return secret


def confirm_totp_enrolment(
    engine: sa.Engine, user_id: int, key: bytes, code: str, moment: dt.datetime
) -> bool:
    """Activate the pending secret if ``code`` is a current code for it: it becomes the account's second
    factor (sealed for the active slot) with that step used; False (nothing changed) otherwise."""
    from review.totp import PENDING, SealedSecretError, matching_step, open_secret, seal_secret

    query = sa.select(users.c.totp_pending_secret).where(users.c.user_id == user_id)
    with engine.connect() as connection:
        pending = connection.execute(query).scalar()
    if pending is None:
        return False
    try:
        secret = open_secret(key, user_id, pending, PENDING)
    except SealedSecretError:
        return False
    step = matching_step(secret, code, moment)
    if step is None:
        return False
    with engine.begin() as connection:
        result = connection.execute(
            sa.update(users)
            .where(users.c.user_id == user_id, users.c.totp_pending_secret == pending)
            .values(
                totp_secret=seal_secret(key, user_id, secret), totp_last_step=step, totp_pending_secret=None
            )
        )
    return result.rowcount == 1


def use_totp_step(engine: sa.Engine, user_id: int, step: int) -> bool:
    """Record ``step`` as used if it is newer than the last one (atomic); False means a replayed code."""
    with engine.begin() as connection:
        result = connection.execute(
            sa.update(users)
            .where(
                users.c.user_id == user_id,
                sa.or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
    return result.rowcount == 1


def colleagues_in(engine: sa.Engine, district: str) -> list[Account]:
    """Active clinical accounts covering ``district`` (whom a coordinator may assign citizens to)."""
    return [
        account
        for account in list_accounts(engine)
        if account.may_sign_in
        and account.role in ("nurse", "gp", "coordinator")
        and district in account.districts
    ]


def _account(row: sa.RowMapping) -> Account:
    return Account(
        user_id=row["user_id"],
        username=row["username"],
        role=row["role"],
        districts=tuple(row["districts"] or ()),
        auth_provider=row["auth_provider"],
        active=bool(row["active"]),
        created_by=row["created_by"],
        requested_by=row["requested_by"],
        approved_by=row["approved_by"],
        approval_pending=bool(row["approval_pending"]),
        has_totp=row["totp_secret"] is not None,
    )
