"""Account administration that leaves a trace: every creation, access change, approval, deactivation and
reactivation is an audit row naming the acting admin, written *before* the change (if the row cannot be
written, nothing changes).

Four-eyes: an account that gets clinical access (nurse, GP, coordinator: they see CPR numbers and health
data) or admin rights is created or changed *pending*; it cannot sign in until a second admin, not the one
who asked, approves it. A deployment may switch this off explicitly (``four_eyes=False``, e.g. the demo);
every row then says ``"four_eyes": false``.

The only exception is the first admin of an empty installation, created from the command line (there is no
second admin yet to approve it).
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from review.access import CLINICAL_ROLES, Principal
from review.accounts import (
    Account,
    AccountError,
    create_account,
    find_account,
    list_accounts,
    set_active,
    update_account,
    validate_access,
)
from review.audit import AuditEvent, AuditLog

ACCOUNT_PURPOSE = "account_administration"
PRIVILEGED_ROLES: frozenset[str] = CLINICAL_ROLES | {"admin"}
ACCOUNT_ACTIONS = (
    "account_created",
    "account_access_changed",
    "account_approved",
    "account_deactivated",
    "account_reactivated",
)


@dataclass(frozen=True)
class Actor:
    """Who makes an account change: a signed-in admin, or the operator at the command line."""

    username: str
    role: str
    unit: str = ""

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        """The signed-in admin."""
        return cls(principal.username, principal.role, principal.unit)

    @classmethod
    def command_line(cls) -> Actor:
        """The operating-system user running ``tidlig users`` (who has database access anyway)."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
        return cls(f"cli:{name}"[:64], "operator")


class AccountAdministration:
    """Audited account changes with four-eyes approval of privileged access."""

    def __init__(
        self,
        engine: sa.Engine,
        audit: AuditLog,
        clock: Callable[[], dt.datetime],
        *,
        four_eyes: bool = True,
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._clock = clock
        self.four_eyes = four_eyes

    def _needs_approval(self, role: str) -> bool:
        return self.four_eyes and role in PRIVILEGED_ROLES

    def _log(self, actor: Actor, action: str, account: str, **detail: object) -> None:
        self._audit.append(
            AuditEvent(
                username=actor.username,
                role=actor.role,
                unit=actor.unit,
                action=action,
                purpose=ACCOUNT_PURPOSE,
                detail={"account": account, "four_eyes": self.four_eyes, **detail},
            )
        )

    def _existing(self, username: str) -> Account:
        account = find_account(self._engine, username=username)
        if account is None:
            raise AccountError(f"No user named {username!r}; see `tidlig users list`.")
        return account

    def create(
        self,
        actor: Actor,
        *,
        username: str,
        role: str,
        districts: Iterable[str],
        password_hash: str | None,
        auth_provider: str = "local",
        external_subject: str | None = None,
        approved_by_provider: bool = False,
    ) -> Account:
        """Create an account, pending approval when four-eyes applies to its role (not when the identity
        provider's claims grant it: ``approved_by_provider``, see :mod:`review.oidc`)."""
        district_list = validate_access(username, role, districts)
        if find_account(self._engine, username=username) is not None:
            raise AccountError(f"A user named {username!r} already exists.")
        pending = (
            self._needs_approval(role) and not self._is_bootstrap(actor, role) and not approved_by_provider
        )
        self._log(
            actor,
            "account_created",
            username,
            role=role,
            districts=district_list,
            provider=auth_provider,
            pending_approval=pending,
        )
        return create_account(
            self._engine,
            username=username,
            role=role,
            districts=district_list,
            password_hash=password_hash,
            created_at=self._clock(),
            auth_provider=auth_provider,
            created_by=actor.username,
            approval_pending=pending,
            external_subject=external_subject,
        )

    def _is_bootstrap(self, actor: Actor, role: str) -> bool:
        return (
            actor.role == "operator"
            and role == "admin"
            and not any(a.role == "admin" and a.may_sign_in for a in list_accounts(self._engine))
        )

    def change_access(
        self,
        actor: Actor,
        username: str,
        *,
        role: str,
        districts: Iterable[str],
        approved_by_provider: bool = False,
    ) -> Account:
        """Change an account's role and districts; its sessions end, and privileged access waits for
        approval again (unless the identity provider's claims made the change)."""
        before = self._existing(username)
        district_list = validate_access(username, role, districts)
        pending = self._needs_approval(role) and not approved_by_provider
        self._log(
            actor,
            "account_access_changed",
            username,
            role_before=before.role,
            districts_before=list(before.districts),
            role=role,
            districts=district_list,
            pending_approval=pending,
        )
        update_account(
            self._engine,
            username,
            end_sessions=True,
            role=role,
            districts=district_list,
            approval_pending=pending,
            requested_by=actor.username,
            approved_by=None,
        )
        return self._existing(username)

    def external_subject(self, username: str) -> str | None:
        """The identity provider's subject the account is bound to."""
        from review.tables import users

        with self._engine.connect() as connection:
            return connection.execute(
                sa.select(users.c.external_subject).where(users.c.username == username)
            ).scalar_one_or_none()

    def approve(self, actor: Actor, username: str) -> Account:
        """A second admin approves a pending account. Raises :class:`AccountError` if the account is not
        pending, or if ``actor`` asked for this access themselves or is the account."""
        account = self._existing(username)
        if actor.role != "admin":
            raise AccountError("Only an admin may approve access.")
        if not account.approval_pending:
            raise AccountError(f"{username!r} is not waiting for approval.")
        if actor.username in (account.requested_by, username):
            raise AccountError("A second admin must approve this: you asked for this access yourself.")
        self._log(
            actor,
            "account_approved",
            username,
            role=account.role,
            districts=list(account.districts),
            requested_by=account.requested_by,
        )
        update_account(
            self._engine, username, end_sessions=False, approval_pending=False, approved_by=actor.username
        )
        return self._existing(username)

    def set_active(self, actor: Actor, username: str, active: bool) -> Account:
        """Deactivate (all sessions end at once) or reactivate an account. A reactivated privileged
        account waits for a second admin's approval again; no old session ever comes back."""
        account = self._existing(username)
        pending = active and self._needs_approval(account.role)
        self._log(
            actor,
            "account_reactivated" if active else "account_deactivated",
            username,
            role=account.role,
            districts=list(account.districts),
            pending_approval=pending,
        )
        extra: dict[str, object] = {}
        if active:
            extra = {"approval_pending": pending, "requested_by": actor.username}
            if pending:
                extra["approved_by"] = None
        set_active(self._engine, username, active, **extra)  # ends every session either way
        return self._existing(username)
