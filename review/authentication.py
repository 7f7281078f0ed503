"""Who is logging in: the pluggable identity provider interface and local (Argon2) accounts.

A municipality's OIDC provider plugs in by implementing :class:`RedirectAuthProvider` (see
docs/review-app.md): the app sends the browser to ``authorization_url`` and, on the callback, asks
``complete`` for the verified username. Roles and districts always come from the app's own accounts table,
never from the provider, so deny-by-default scoping does not depend on the provider's configuration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import sqlalchemy as sa

from review.accounts import password_hash_of
from review.passwords import HashingCost, verify_password
from review.tables import login_attempts, to_utc_naive


@dataclass(frozen=True)
class VerifiedLogin:
    """A username the provider vouches for, and which provider did."""

    username: str
    provider: str


@runtime_checkable
class PasswordAuthProvider(Protocol):
    """A provider that checks a username and password typed into the app's own login form."""

    name: str

    def verify(self, username: str, password: str) -> VerifiedLogin | None:
        """The verified login, or None if the credentials are wrong (never say which part)."""


@runtime_checkable
class RedirectAuthProvider(Protocol):
    """A provider that logs in elsewhere and redirects back (OpenID Connect authorization code flow)."""

    name: str

    def authorization_url(self, *, state: str, nonce: str, redirect_uri: str) -> str:
        """Where to send the browser to log in."""

    def complete(self, callback_params: Mapping[str, str], *, state: str, nonce: str) -> VerifiedLogin | None:
        """Exchange the callback's code, validate the ID token (issuer, audience, nonce, expiry) and map
        its subject to a local username; None if anything does not check out."""


class LocalAccountProvider:
    """Local accounts: Argon2id hashes in the ``review_users`` table."""

    name = "local"

    def __init__(self, engine: sa.Engine, cost: HashingCost) -> None:
        self._engine = engine
        self._cost = cost

    def verify(self, username: str, password: str) -> VerifiedLogin | None:
        """The login if the active local account's hash matches ``password``."""
        stored = password_hash_of(self._engine, username)
        if stored is None:
            # Spend the same work on unknown users so timing does not tell which usernames exist.
            verify_password(
                _DUMMY_HASHES.setdefault(self._cost, _dummy_hash(self._cost)), password, self._cost
            )
            return None
        return VerifiedLogin(username, self.name) if verify_password(stored, password, self._cost) else None


_DUMMY_HASHES: dict[HashingCost, str] = {}


def _dummy_hash(cost: HashingCost) -> str:
    from review.passwords import password_hasher

    return password_hasher(cost).hash("not-a-real-password-for-timing")


@dataclass(frozen=True)
class ThrottlePolicy:
    """At most ``max_failures`` failed logins per (username, client IP) within ``window``."""

    max_failures: int = 5
    window: dt.timedelta = dt.timedelta(minutes=15)


class LoginThrottle:
    """Counts failed logins per username and client IP in the database (shared by all app processes)."""

    def __init__(self, engine: sa.Engine, policy: ThrottlePolicy, clock: Callable[[], dt.datetime]) -> None:
        self._engine = engine
        self._policy = policy
        self._clock = clock

    def is_blocked(self, username: str, client_ip: str) -> bool:
        """True if this username from this IP has used up its failures within the window."""
        since = to_utc_naive(self._clock()) - self._policy.window
        query = sa.select(sa.func.count()).where(
            login_attempts.c.username == username,
            login_attempts.c.client_ip == client_ip,
            login_attempts.c.succeeded.is_(False),
            login_attempts.c.attempted_at >= since,
        )
        with self._engine.connect() as connection:
            return connection.execute(query).scalar_one() >= self._policy.max_failures

    def record(self, username: str, client_ip: str, *, succeeded: bool) -> None:
        """Remember one attempt; a success clears the earlier failures of this username and IP."""
        with self._engine.begin() as connection:
            if succeeded:
                connection.execute(
                    sa.delete(login_attempts).where(
                        login_attempts.c.username == username, login_attempts.c.client_ip == client_ip
                    )
                )
            connection.execute(
                sa.insert(login_attempts).values(
                    username=username[:64],
                    client_ip=client_ip[:64],
                    attempted_at=to_utc_naive(self._clock()),
                    succeeded=succeeded,
                )
            )
