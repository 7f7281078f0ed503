"""Server-side sessions: the cookie holds a random token, the database only its SHA-256 and a CSRF token.

Logging out or expiry deletes the row, so a stolen cookie stops working at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from review.tables import sessions, to_utc_naive


@dataclass(frozen=True)
class Session:
    """A live session: whose it is and the CSRF token every POST must carry."""

    user_id: int
    csrf_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class SessionStore:
    """Creates, resolves and ends sessions in the operational database."""

    def __init__(self, engine: sa.Engine, lifetime: dt.timedelta, clock: Callable[[], dt.datetime]) -> None:
        self._engine = engine
        self._lifetime = lifetime
        self._clock = clock

    def start(self, user_id: int, token: str | None = None) -> tuple[str, Session]:
        """A new session for ``user_id``: returns the cookie token and the session.

        Pass a ``token`` from :func:`new_session_token` when something (the audit row) must name the
        session before it exists; otherwise a fresh one is drawn.
        """
        token = token or new_session_token()
        csrf = secrets.token_urlsafe(32)
        now = to_utc_naive(self._clock())
        with self._engine.begin() as connection:
            connection.execute(
                sa.insert(sessions).values(
                    token_hash=_digest(token),
                    user_id=user_id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + self._lifetime,
                )
            )
        return token, Session(user_id, csrf)

    def resolve(self, token: str | None) -> Session | None:
        """The live session for a cookie token, or None (unknown, expired or empty)."""
        if not token:
            return None
        query = sa.select(sessions).where(sessions.c.token_hash == _digest(token))
        with self._engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None or row["expires_at"] <= to_utc_naive(self._clock()):
            return None
        return Session(row["user_id"], row["csrf_token"])

    def end(self, token: str | None) -> None:
        """Delete the session (logout)."""
        if token:
            with self._engine.begin() as connection:
                connection.execute(sa.delete(sessions).where(sessions.c.token_hash == _digest(token)))


def new_session_token() -> str:
    """A fresh random cookie token (256 bits)."""
    return secrets.token_urlsafe(32)


def session_reference(token: str) -> str:
    """A short, non-secret name for the session behind ``token`` for the audit log: the first 16 hex
    characters of the SHA-256 that ``review_sessions.token_hash`` stores (so an admin can match them), which
    cannot be turned back into the cookie token."""
    return _digest(token)[:16]


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of CSRF tokens; False if either is missing."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
