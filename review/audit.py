"""The append-only, hash-chained audit log of every access to person data.

Each row stores ``row_hash = sha256(prev_hash + canonical(row))`` where ``canonical`` is the row's fields
(without the two hashes) as sorted, compact JSON; the first row's ``prev_hash`` is 64 zeros. Changing,
inserting or deleting any row in the middle breaks the chain, which :func:`verify_chain` detects. Deleting
rows at the *end* cannot be seen from the chain alone: export :attr:`ChainReport.head_hash` regularly to
somewhere the database administrator cannot write (see docs/review-app.md).

The database also refuses UPDATE and DELETE on the table (triggers created by the migration), so tampering
needs a deliberate schema change first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from review.tables import audit_log

GENESIS_HASH = "0" * 64
_APPEND_RETRIES = 5


class AuditUnavailableError(RuntimeError):
    """The audit log could not be written; the caller must not show or change any person data."""


@dataclass(frozen=True)
class AuditEvent:
    """One access to be logged: who (username, role, unit), what (action, list, persons) and why (purpose)."""

    username: str
    role: str
    unit: str
    action: str
    purpose: str
    list_id: str | None = None
    person_keys: Sequence[str] = ()
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord:
    """A stored audit row."""

    seq: int
    occurred_at: str
    username: str
    role: str
    unit: str
    action: str
    purpose: str
    list_id: str | None
    person_keys: list[str]
    detail: dict[str, Any]
    prev_hash: str
    row_hash: str


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying the chain: ``ok`` and, if not, the first broken row and why."""

    ok: bool
    rows: int
    head_hash: str
    first_broken_seq: int | None = None
    problem: str | None = None


def canonical_row(fields: dict[str, Any]) -> str:
    """The exact text that is hashed for a row: sorted compact JSON of every field but the hashes."""
    content = {key: value for key, value in fields.items() if key not in ("prev_hash", "row_hash")}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """``sha256(prev_hash + canonical_row(fields))`` as hex."""
    return hashlib.sha256((prev_hash + canonical_row(fields)).encode("utf-8")).hexdigest()


class AuditLog:
    """Writes and reads the audit log in the operational database.

    ``append`` serialises writers inside the process with a lock and across processes by the primary key
    on ``seq`` (a writer that loses the race retries on the new head).
    """

    def __init__(self, engine: sa.Engine, clock: Callable[[], dt.datetime]) -> None:
        self._engine = engine
        self._clock = clock
        self._lock = threading.Lock()

    def append(self, event: AuditEvent) -> int:
        """Store ``event`` as the next row of the chain and return its ``seq``.

        Raises :class:`AuditUnavailableError` (carrying no person data) if the row cannot be written.
        """
        with self._lock:
            for _attempt in range(_APPEND_RETRIES):
                try:
                    return self._append_once(event)
                except sa.exc.IntegrityError:
                    continue  # another process took this seq: retry on the new head
                except sa.exc.SQLAlchemyError as error:
                    raise AuditUnavailableError(
                        f"The audit log could not be written ({type(error).__name__}); nothing was shown. "
                        "Check the operational database and run `tidlig audit verify`."
                    ) from None
        raise AuditUnavailableError("The audit log is contended; retry the request.")

    def _append_once(self, event: AuditEvent) -> int:
        moment = self._clock().astimezone(dt.UTC)
        with self._engine.begin() as connection:
            head = connection.execute(
                sa.select(audit_log.c.seq, audit_log.c.row_hash).order_by(audit_log.c.seq.desc()).limit(1)
            ).first()
            seq, prev_hash = (1, GENESIS_HASH) if head is None else (head.seq + 1, head.row_hash)
            fields = {
                "seq": seq,
                "occurred_at": moment.isoformat(timespec="microseconds"),
                "username": event.username,
                "role": event.role,
                "unit": event.unit,
                "action": event.action,
                "purpose": event.purpose,
                "list_id": event.list_id,
                "person_keys": json.dumps(sorted(set(event.person_keys)), separators=(",", ":")),
                "detail": json.dumps(event.detail, sort_keys=True, separators=(",", ":")),
            }
            row_hash = chain_hash(prev_hash, fields)
            connection.execute(sa.insert(audit_log).values(**fields, prev_hash=prev_hash, row_hash=row_hash))
        return seq

    def records(
        self,
        *,
        person_key: str | None = None,
        username: str | None = None,
        limit: int = 500,
    ) -> list[AuditRecord]:
        """Rows newest first, optionally only those showing ``person_key`` or made by ``username``."""
        query = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        if person_key is not None:
            query = query.where(audit_log.c.person_keys.contains(json.dumps(person_key)))
        if username is not None:
            query = query.where(audit_log.c.username == username)
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [_record(row) for row in rows]

    def verify(self) -> ChainReport:
        """Recompute the whole chain (see :func:`verify_chain`)."""
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(audit_log).order_by(audit_log.c.seq)).mappings()
            return verify_chain(dict(row) for row in rows)


def verify_chain(rows: Iterable[dict[str, Any]]) -> ChainReport:
    """Check that ``rows`` (ordered by seq) form an unbroken chain from the genesis hash.

    Reports the first row whose seq is not the next number, whose ``prev_hash`` is not the previous row's
    hash, or whose ``row_hash`` does not match its content.
    """
    expected_prev, count = GENESIS_HASH, 0
    for row in rows:
        count += 1
        if row["seq"] != count:
            return ChainReport(False, count, expected_prev, row["seq"], "a row is missing or out of order")
        if row["prev_hash"] != expected_prev:
            return ChainReport(False, count, expected_prev, row["seq"], "prev_hash does not link")
        if chain_hash(row["prev_hash"], row) != row["row_hash"]:
            return ChainReport(False, count, expected_prev, row["seq"], "content does not match row_hash")
        expected_prev = row["row_hash"]
    return ChainReport(True, count, expected_prev)


def _record(row: Any) -> AuditRecord:
    return AuditRecord(
        seq=row["seq"],
        occurred_at=row["occurred_at"],
        username=row["username"],
        role=row["role"],
        unit=row["unit"],
        action=row["action"],
        purpose=row["purpose"],
        list_id=row["list_id"],
        person_keys=json.loads(row["person_keys"]),
        detail=json.loads(row["detail"]),
        prev_hash=row["prev_hash"],
        row_hash=row["row_hash"],
    )
