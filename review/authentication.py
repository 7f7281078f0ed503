"""Who is logging in: local (Argon2) accounts with a TOTP second factor, and the login throttle.

OpenID Connect sign-on lives in :mod:`review.oidc`. Login hardening (issue 13):

* unknown usernames cost the same as known ones: one Argon2 verification against a dummy hash computed
  once when the provider is made (never a fresh hash per attempt);
* at most ``max_concurrent`` Argon2 verifications run at once (a semaphore); an attempt that cannot get a
  slot within ``wait`` is refused as busy instead of piling up memory;
* failures are throttled per (username, client), per client across all usernames (password spraying from
  one address) and per username across all clients (a distributed guess at one account);
* the login-attempt table stores a keyed HMAC of the typed username, never the text, and rows older than
  the retention period are purged on every login and by ``tidlig users purge-login-records``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
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


class LoginBusyError(RuntimeError):
    """Too many password checks are running; the login is refused (answered 503) without hashing."""


class LocalAccountProvider:
    """Local accounts: Argon2id hashes in the ``review_users`` table."""

    name = "local"

    def __init__(
        self,
        engine: sa.Engine,
        cost: HashingCost,
        *,
        max_concurrent: int = 2,
        wait: dt.timedelta = dt.timedelta(seconds=10),
    ) -> None:
        from review.passwords import password_hasher

        self._engine = engine
        self._cost = cost
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._wait = wait.total_seconds()
        # Computed once: an unknown username then costs exactly one verification, like a known one.
        self._dummy_hash = password_hasher(cost).hash(secrets_token())

    def verify(self, username: str, password: str) -> VerifiedLogin | None:
        """The login if the active, approved local account's hash matches ``password``.

        Raises :class:`LoginBusyError` if no hashing slot frees up within the wait.
        """
        stored = password_hash_of(self._engine, username)
        if not self._slots.acquire(timeout=self._wait):
            raise LoginBusyError("Too many sign-ins at once; try again in a moment.")
        try:
            matches = verify_password(stored or self._dummy_hash, password, self._cost)
        finally:
            self._slots.release()
        return VerifiedLogin(username, self.name) if stored is not None and matches else None


def secrets_token() -> str:
    """A random string nobody knows (the dummy hash's password)."""
    import secrets

    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failed-login limits within ``window``: ``max_failures`` per (username, client),
    ``max_failures_per_client`` across usernames, ``max_failures_per_username`` across clients.
    ``retention`` is how long login attempts are kept at all."""

    max_failures: int = 5
    max_failures_per_client: int = 20
    max_failures_per_username: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)
    retention: dt.timedelta = dt.timedelta(days=30)


class LoginThrottle:
    """Counts failed logins in the database (shared by all app processes), keyed by an HMAC of the
    username made with ``key`` (kept outside the database)."""

    def __init__(
        self,
        engine: sa.Engine,
        policy: ThrottlePolicy,
        clock: Callable[[], dt.datetime],
        key: bytes,
    ) -> None:
        self._engine = engine
        self._policy = policy
        self._clock = clock
        self._key = key

    def digest(self, username: str) -> str:
        """The keyed HMAC-SHA256 stored instead of the typed username."""
        return hmac.new(self._key, username.encode("utf-8"), hashlib.sha256).hexdigest()

    def is_blocked(self, username: str, client_ip: str) -> bool:
        """True if any of the three limits is used up within the window."""
        since = to_utc_naive(self._clock()) - self._policy.window
        failed = sa.and_(login_attempts.c.succeeded.is_(False), login_attempts.c.attempted_at >= since)
        digest = self.digest(username)

        def count(*conditions: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
            return sa.select(sa.func.count()).where(failed, *conditions).scalar_subquery()

        query = sa.select(
            count(login_attempts.c.username_digest == digest, login_attempts.c.client_ip == client_ip),
            count(login_attempts.c.client_ip == client_ip),
            count(login_attempts.c.username_digest == digest),
        )
        with self._engine.connect() as connection:
            pair, per_client, per_username = connection.execute(query).one()
        return (
            pair >= self._policy.max_failures
            or per_client >= self._policy.max_failures_per_client
            or per_username >= self._policy.max_failures_per_username
        )

    def record(self, username: str, client_ip: str, *, succeeded: bool) -> None:
        """Remember one attempt (a success clears the earlier failures of this username and client) and
        purge attempts older than the retention period."""
        digest = self.digest(username)
        now = to_utc_naive(self._clock())
        with self._engine.begin() as connection:
            if succeeded:
                connection.execute(
                    sa.delete(login_attempts).where(
                        login_attempts.c.username_digest == digest, login_attempts.c.client_ip == client_ip
                    )
                )
            connection.execute(
                sa.insert(login_attempts).values(
                    username_digest=digest,
                    client_ip=client_ip[:64],
                    attempted_at=now,
                    succeeded=succeeded,
                )
            )
            connection.execute(
                sa.delete(login_attempts).where(login_attempts.c.attempted_at < now - self._policy.retention)
            )

    def purge(self, older_than: dt.timedelta | None = None) -> int:
        """Delete login attempts older than ``older_than`` (default: the retention); returns how many."""
        cutoff = to_utc_naive(self._clock()) - (
            older_than if older_than is not None else self._policy.retention
        )
        with self._engine.begin() as connection:
            return connection.execute(
                sa.delete(login_attempts).where(login_attempts.c.attempted_at < cutoff)
            ).rowcount
