"""Server-side sessions: the cookie holds a random token, the database only its SHA-256 and a CSRF token.

Logging out or expiry deletes the row, so a stolen cookie stops working at once. A session ends after
``lifetime`` (absolute) or after ``idle_timeout`` without a request, whichever comes first; a user has at
most ``max_per_user`` sessions (a new login ends the oldest). ``authenticated_at`` is when the user last
proved who they are (login or re-authentication), which identified exports check.
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

_SEEN_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Session:
    """A live session: whose it is and the CSRF token every POST must carry."""

    user_id: int
    csrf_token: str
    authenticated_at: dt.datetime | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class SessionStore:
    """Creates, resolves and ends sessions in the operational database."""

    def __init__(
        self,
        engine: sa.Engine,
        lifetime: dt.timedelta,
        clock: Callable[[], dt.datetime],
        *,
        idle_timeout: dt.timedelta = dt.timedelta(minutes=30),
        max_per_user: int = 3,
    ) -> None:
        self._engine = engine
        self._lifetime = lifetime
        self._clock = clock
        self._idle_timeout = idle_timeout
        self._max_per_user = max_per_user

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
                    last_seen_at=now,
                    authenticated_at=now,
                )
            )
            others = connection.execute(
                sa.select(sessions.c.token_hash)
                .where(sessions.c.user_id == user_id, sessions.c.token_hash != _digest(token))
                .order_by(sessions.c.created_at.desc(), sessions.c.token_hash)
            ).scalars()
            surplus = list(others)[max(self._max_per_user - 1, 0) :]
            if surplus:
                connection.execute(sa.delete(sessions).where(sessions.c.token_hash.in_(surplus)))
        return token, Session(user_id, csrf, now)

    def resolve(self, token: str | None) -> Session | None:
        """The live session for a cookie token, or None (unknown, past its lifetime, idle too long or
        empty). A live session's idle clock restarts; a dead one is deleted."""
        if not token:
            return None
        digest = _digest(token)
        now = to_utc_naive(self._clock())
        with self._engine.begin() as connection:
            row = (
                connection.execute(sa.select(sessions).where(sessions.c.token_hash == digest))
                .mappings()
                .first()
            )
            if row is None:
                return None
            last_seen = row["last_seen_at"] or row["created_at"]
            if row["expires_at"] <= now or last_seen + self._idle_timeout <= now:
                connection.execute(sa.delete(sessions).where(sessions.c.token_hash == digest))
                return None
            if now - last_seen >= _SEEN_RESOLUTION:  # one write a minute is enough for a 30-minute limit
                connection.execute(
                    sa.update(sessions).where(sessions.c.token_hash == digest).values(last_seen_at=now)
                )
        return Session(row["user_id"], row["csrf_token"], row["authenticated_at"] or row["created_at"])

    def reauthenticated(self, token: str) -> None:
        """The user just proved who they are again (password and second factor, or the identity provider)."""
        with self._engine.begin() as connection:
            connection.execute(
                sa.update(sessions)
                .where(sessions.c.token_hash == _digest(token))
                .values(authenticated_at=to_utc_naive(self._clock()))
            )

    def count(self, user_id: int) -> int:
        """How many sessions the user has."""
        query = sa.select(sa.func.count()).select_from(sessions).where(sessions.c.user_id == user_id)
        with self._engine.connect() as connection:
            return connection.execute(query).scalar_one()

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
