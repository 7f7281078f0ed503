"""Security events: denied requests and failed authorisations, kept for the admin's and analyst's page.

A row says who (username and role, or ``(anonymous)``), what (method and the *route template*, e.g.
``/lists/{list_id}/citizens/{person_key}``, never the concrete path, which would carry a pseudonym), the
answer (status and reason), which session (its non-secret reference) and which client. Never person data.
Denials by a signed-in user are also written to the hash-chained audit log, so an insider cannot erase
them; anonymous ones are only here (a flood of them must not grow the chain).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from review.tables import security_events, to_utc_naive

ANONYMOUS = "(anonymous)"


@dataclass(frozen=True)
class SecurityEvent:
    """One denied request or failed authorisation."""

    occurred_at: dt.datetime
    username: str
    role: str
    method: str
    route: str
    status: int
    reason: str
    session_ref: str | None
    client_ip: str


class SecurityEvents:
    """Records and lists security events in the operational database."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], dt.datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def record(
        self,
        *,
        username: str,
        role: str,
        method: str,
        route: str,
        status: int,
        reason: str,
        session_ref: str | None,
        client_ip: str,
    ) -> None:
        """Store one event (failures to store are swallowed: a denial must still be answered)."""
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    sa.insert(security_events).values(
                        occurred_at=to_utc_naive(self._clock()),
                        username=username[:80],
                        role=role[:16],
                        method=method[:8],
                        route=route[:255],
                        status=status,
                        reason=reason[:64],
                        session_ref=session_ref,
                        client_ip=client_ip[:64],
                    )
                )
        except sa.exc.SQLAlchemyError:
            return

    def recent(self, limit: int = 200, username: str | None = None) -> list[SecurityEvent]:
        """The newest events first."""
        query = sa.select(security_events).order_by(security_events.c.event_id.desc()).limit(limit)
        if username:
            query = query.where(security_events.c.username == username)
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            SecurityEvent(
                row["occurred_at"],
                row["username"],
                row["role"],
                row["method"],
                row["route"],
                row["status"],
                row["reason"],
                row["session_ref"],
                row["client_ip"],
            )
            for row in rows
        ]
