"""The append-only, hash-chained audit log of every access to person data.

Each row stores ``row_hash = sha256(prev_hash + canonical(row))`` where ``canonical`` is the row's fields
(without the two hashes) as sorted, compact JSON; the first row's ``prev_hash`` is 64 zeros. Changing,
inserting or deleting any row in the middle breaks the chain, which :func:`verify_chain` detects. Someone with
write access to the database can still rewrite the whole chain consistently, cut its tail or empty the
table, so every row is also anchored outside the database (:mod:`review.anchors`): :meth:`AuditLog.verify`
checks the chain, the anchors and that the database's protections are still in place.

The database refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE) on the table (triggers created by the
migrations); on PostgreSQL the app should run as a role that may only SELECT and INSERT it
(``tidlig audit grant-app-role``). :func:`missing_protections` reports a dropped, disabled or replaced
trigger and an app role with too many rights.

Rows written while serving a request also name the request's session and client
(:data:`request_context`, set by the web layer), never anything about the person beyond the pseudonyms.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from review.anchors import Anchor, AnchorFile, AnchorFileError
from review.tables import audit_log

GENESIS_HASH = "0" * 64
_APPEND_RETRIES = 5

# {"session": ..., "client": ...} of the request being served; merged into every row's detail.
request_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "tidlig_audit_request_context", default=None
)

_SQLITE_TRIGGERS = {
    "review_audit_log_no_update": "BEFORE UPDATE ON review_audit_log",
    "review_audit_log_no_delete": "BEFORE DELETE ON review_audit_log",
}
_POSTGRES_TRIGGERS = ("review_audit_log_no_change", "review_audit_log_no_truncate")


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
    anchors: int | None = None  # None: no anchor file configured (the chain alone was checked)
    missing_protections: tuple[str, ...] = ()


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

    def __init__(
        self,
        engine: sa.Engine,
        clock: Callable[[], dt.datetime],
        anchors: AnchorFile | None = None,
        app_role: str | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._lock = threading.Lock()
        self._anchors = anchors
        self._app_role = app_role

    def append(self, event: AuditEvent) -> int:
        """Store ``event`` as the next row of the chain and return its ``seq``.

        Raises :class:`AuditUnavailableError` (carrying no person data) if the row cannot be written.
        """
        context = request_context.get()
        if context:
            event = replace(event, detail={**context, **event.detail})  # the event's own keys win
        with self._lock:
            for _attempt in range(_APPEND_RETRIES):
                try:
                    seq, row_hash = self._append_once(event)
                except sa.exc.IntegrityError:
                    continue  # another process took this seq: retry on the new head
                except sa.exc.SQLAlchemyError as error:
                    raise AuditUnavailableError(
                        f"The audit log could not be written ({type(error).__name__}); nothing was shown. "
                        "Check the operational database and run `tidlig audit verify`."
                    ) from None
                self._anchor(seq, row_hash)
                return seq
        raise AuditUnavailableError("The audit log is contended; retry the request.")

    def _anchor(self, seq: int, row_hash: str) -> None:
        if self._anchors is None or not self._anchors.due(seq):
            return
        try:
            self._anchors.append(seq, row_hash, self._clock())
        except OSError as error:
            raise AuditUnavailableError(
                f"The audit anchor file could not be written ({type(error).__name__}); nothing was shown. "
                "Check the anchor folder's disk and permissions, then run `tidlig audit verify`."
            ) from None

    def _append_once(self, event: AuditEvent) -> tuple[int, str]:
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
        return seq, row_hash

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
        """Recompute the whole chain (:func:`verify_chain`), compare it with the anchors
        (:func:`check_anchors`) and check the database's protections (:func:`missing_protections`)."""
        try:
            anchors = self._anchors.read() if self._anchors is not None else None
        except AnchorFileError as error:
            return ChainReport(False, 0, GENESIS_HASH, None, str(error))
        wanted = {anchor.seq for anchor in anchors or ()}
        anchored_hashes: dict[int, str] = {}

        def remember(rows: Iterable[Any]) -> Iterable[dict[str, Any]]:
            for row in rows:
                if row["seq"] in wanted:
                    anchored_hashes[row["seq"]] = row["row_hash"]
                yield dict(row)

        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(audit_log).order_by(audit_log.c.seq)).mappings()
            report = verify_chain(remember(rows))
        missing = tuple(missing_protections(self._engine, self._app_role))
        problem = report.problem
        if report.ok and anchors is not None:
            assert self._anchors is not None
            problem = check_anchors(report.rows, anchored_hashes, anchors, self._anchors.every)
        if problem is None and missing:
            problem = "protections missing: " + "; ".join(missing)
        return ChainReport(
            ok=problem is None,
            rows=report.rows,
            head_hash=report.head_hash,
            first_broken_seq=report.first_broken_seq,
            problem=problem,
            anchors=None if anchors is None else len(anchors),
            missing_protections=missing,
        )


def check_anchors(rows: int, hashes: dict[int, str], anchors: Sequence[Anchor], every: int) -> str | None:
    """Why the table (``rows`` rows, ``hashes`` of the anchored seqs) disagrees with the anchors, or None.

    An anchored row that is missing means the tail was cut or the table emptied; an anchored row with
    another hash means the chain was rewritten; rows that should have been anchored but were not were
    written without the anchor key.
    """
    for anchor in sorted(anchors, key=lambda item: item.seq):
        if anchor.seq > rows:
            return (
                f"anchored row {anchor.seq} is missing: the table has {rows} rows, so its tail was cut "
                "or it was emptied"
            )
        if hashes.get(anchor.seq) != anchor.row_hash:
            return f"row {anchor.seq} differs from its anchor: the chain was rewritten"
    last_anchored = max((anchor.seq for anchor in anchors), default=0)
    due = rows - rows % every
    if due > last_anchored:
        return (
            f"rows {last_anchored + 1} to {rows} were never anchored: written without the anchor key "
            "(forged), or the anchor file lost lines"
        )
    return None


def missing_protections(engine: sa.Engine, app_role: str | None = None) -> list[str]:
    """What is missing of the audit table's protections: the append-only triggers (present, enabled and
    unchanged) and, on PostgreSQL with ``app_role``, that the app's role cannot change or own the table."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            found = dict(
                connection.execute(
                    sa.text(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                        "AND tbl_name = 'review_audit_log'"
                    )
                ).all()
            )
            return [
                f"trigger {name} is missing or changed"
                for name, clause in _SQLITE_TRIGGERS.items()
                if clause not in (found.get(name) or "") or "RAISE(ABORT" not in (found.get(name) or "")
            ]
        if engine.dialect.name != "postgresql":
            return [f"no append-only protection is known for {engine.dialect.name}"]
        return _missing_postgres_protections(connection, app_role)


def _missing_postgres_protections(connection: sa.Connection, app_role: str | None) -> list[str]:
    missing = []
    table = connection.execute(sa.text("SELECT to_regclass('review_audit_log')")).scalar_one()
    if table is None:
        return ["the audit table is missing"]
    enabled = dict(
        connection.execute(
            sa.text(
                "SELECT tgname, tgenabled FROM pg_trigger "
                "WHERE tgrelid = to_regclass('review_audit_log') AND NOT tgisinternal"
            )
        ).all()
    )
    for name in _POSTGRES_TRIGGERS:
        if name not in enabled:
            missing.append(f"trigger {name} is missing")
        elif enabled[name] not in ("O", "A"):
            missing.append(f"trigger {name} is disabled")
    source = connection.execute(
        sa.text(
            "SELECT prosrc FROM pg_proc WHERE proname = 'review_audit_log_append_only' "
            "AND pronamespace = "
            "(SELECT relnamespace FROM pg_class WHERE oid = to_regclass('review_audit_log'))"
        )
    ).scalar_one_or_none()
    if source is None or "RAISE EXCEPTION" not in source.upper():
        missing.append("function review_audit_log_append_only is missing or no longer refuses changes")
    if app_role is not None:
        rights = connection.execute(
            sa.text(
                "SELECT has_table_privilege(:role, 'review_audit_log', 'UPDATE'), "
                "has_table_privilege(:role, 'review_audit_log', 'DELETE'), "
                "has_table_privilege(:role, 'review_audit_log', 'TRUNCATE'), "
                "pg_has_role(:role, (SELECT relowner FROM pg_class "
                "WHERE oid = to_regclass('review_audit_log')), 'USAGE')"
            ),
            {"role": app_role},
        ).one()
        for allowed, what in zip(rights, ("UPDATE", "DELETE", "TRUNCATE", "own"), strict=True):
            if allowed:
                missing.append(f"the app role {app_role} may {what} the audit table")
    return missing


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
