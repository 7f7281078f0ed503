"""What clinicians do with a listed citizen: decisions (with visit findings) and assignments.

Every decision is kept (append-only history); the citizen's status on a list is the latest decision's
action, or ``new`` when there is none. These rows are the feedback loop that :mod:`review.feedback` reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from review.access import Principal
from review.tables import assignments, decisions, to_utc_naive, users

DECISION_ACTIONS: tuple[str, ...] = ("contacted", "visit_booked", "visit_done", "not_relevant")
STATUSES: tuple[str, ...] = ("new", *DECISION_ACTIONS)
NOT_RELEVANT_REASONS: tuple[str, ...] = (
    "already_followed",
    "nursing_home",
    "declined",
    "moved_or_deceased",
    "other",
)
MAX_NOTE_LENGTH = 2000


ERROR_FIELDS: dict[str, str] = {
    "error_action_required": "action",
    "error_finding_required": "new_problem_found",
    "error_reason_required": "not_relevant_reason",
    "error_visit_date_required": "visit_date",
}


class DecisionError(ValueError):
    """The submitted decision is incomplete; ``code`` names the message key to show and ``field`` the form
    field it belongs beside."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
        self.field = ERROR_FIELDS.get(code, "action")


@dataclass(frozen=True)
class Decision:
    """A validated decision about one citizen on one list."""

    action: str
    new_problem_found: bool | None = None
    referred_to_gp: bool | None = None
    not_relevant_reason: str | None = None
    note: str | None = None
    visit_date: dt.date | None = None


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get((value or "").strip())


def parse_decision(form: Mapping[str, str]) -> Decision:
    """Validate a submitted decision form.

    ``visit_done`` needs ``new_problem_found`` (yes/no) and takes ``referred_to_gp`` (yes/no, default no);
    ``not_relevant`` needs one of :data:`NOT_RELEVANT_REASONS`; ``visit_booked`` needs ``visit_date``
    (``YYYY-MM-DD``, as a date input sends it). Raises :class:`DecisionError` otherwise.
    """
    action = (form.get("action") or "").strip()
    if action not in DECISION_ACTIONS:
        raise DecisionError("error_action_required")
    note = (form.get("note") or "").strip()[:MAX_NOTE_LENGTH] or None
    if action == "visit_done":
        found = _yes_no(form.get("new_problem_found"))
        if found is None:
            raise DecisionError("error_finding_required")
        referred = _yes_no(form.get("referred_to_gp")) or False
        return Decision(action, new_problem_found=found, referred_to_gp=referred, note=note)
    if action == "not_relevant":
        reason = (form.get("not_relevant_reason") or "").strip()
        if reason not in NOT_RELEVANT_REASONS:
            raise DecisionError("error_reason_required")
        return Decision(action, not_relevant_reason=reason, note=note)
    if action == "visit_booked":
        try:
            visit_date = dt.date.fromisoformat((form.get("visit_date") or "").strip())
        except ValueError:
            raise DecisionError("error_visit_date_required") from None
        return Decision(action, note=note, visit_date=visit_date)
    return Decision(action, note=note)


def record_decision(
    engine: sa.Engine,
    *,
    list_id: str,
    person_key: str,
    district: str,
    principal: Principal,
    decision: Decision,
    decided_at: dt.datetime,
) -> None:
    """Store one decision (never overwrites earlier ones)."""
    with engine.begin() as connection:
        connection.execute(
            sa.insert(decisions).values(
                list_id=list_id,
                person_key=person_key,
                district=district,
                user_id=principal.user_id,
                role=principal.role,
                decided_at=to_utc_naive(decided_at),
                action=decision.action,
                new_problem_found=decision.new_problem_found,
                referred_to_gp=decision.referred_to_gp,
                not_relevant_reason=decision.not_relevant_reason,
                note=decision.note,
                visit_date=decision.visit_date,
            )
        )


def latest_statuses(engine: sa.Engine, list_id: str) -> dict[str, str]:
    """``person_key -> action`` of the latest decision per citizen on the list."""
    query = (
        sa.select(decisions.c.person_key, decisions.c.action)
        .where(decisions.c.list_id == list_id)
        .order_by(decisions.c.decided_at, decisions.c.decision_id)
    )
    with engine.connect() as connection:
        return {row.person_key: row.action for row in connection.execute(query)}


def booked_visits(engine: sa.Engine, list_id: str) -> dict[str, dt.date]:
    """``person_key -> visit date`` for the citizens whose latest decision on the list booked a visit."""
    query = (
        sa.select(decisions.c.person_key, decisions.c.action, decisions.c.visit_date)
        .where(decisions.c.list_id == list_id)
        .order_by(decisions.c.decided_at, decisions.c.decision_id)
    )
    latest: dict[str, tuple[str, dt.date | None]] = {}
    with engine.connect() as connection:
        for row in connection.execute(query):
            latest[row.person_key] = (row.action, row.visit_date)
    return {
        key: visit
        for key, (action, visit) in latest.items()
        if action == "visit_booked" and visit is not None
    }


@dataclass(frozen=True)
class DecisionRecord:
    """A stored decision with who made it, for the citizen page's history."""

    list_id: str
    decided_at: dt.datetime
    username: str
    role: str
    decision: Decision


def decision_history(engine: sa.Engine, person_key: str, list_ids: Iterable[str]) -> list[DecisionRecord]:
    """Decisions about the citizen on the given lists, newest first."""
    ids = sorted(set(list_ids))
    if not ids:
        return []
    query = (
        sa.select(decisions, users.c.username)
        .join(users, users.c.user_id == decisions.c.user_id)
        .where(decisions.c.person_key == person_key, decisions.c.list_id.in_(ids))
        .order_by(decisions.c.decided_at.desc(), decisions.c.decision_id.desc())
    )
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        DecisionRecord(
            list_id=row["list_id"],
            decided_at=row["decided_at"],
            username=row["username"],
            role=row["role"],
            decision=Decision(
                action=row["action"],
                new_problem_found=row["new_problem_found"],
                referred_to_gp=row["referred_to_gp"],
                not_relevant_reason=row["not_relevant_reason"],
                note=row["note"],
                visit_date=row["visit_date"],
            ),
        )
        for row in rows
    ]


def assign(
    engine: sa.Engine,
    *,
    list_id: str,
    person_key: str,
    assignee_id: int | None,
    assigned_by: Principal,
    assigned_at: dt.datetime,
) -> None:
    """Assign the citizen on this list to a colleague (``None`` unassigns); history is kept."""
    with engine.begin() as connection:
        connection.execute(
            sa.insert(assignments).values(
                list_id=list_id,
                person_key=person_key,
                assignee_user_id=assignee_id,
                assigned_by_user_id=assigned_by.user_id,
                assigned_at=to_utc_naive(assigned_at),
            )
        )


def current_assignees(engine: sa.Engine, list_id: str) -> dict[str, tuple[int, str]]:
    """``person_key -> (user_id, username)`` of the latest assignment per citizen (unassigned omitted)."""
    query = (
        sa.select(assignments.c.person_key, assignments.c.assignee_user_id, users.c.username)
        .outerjoin(users, users.c.user_id == assignments.c.assignee_user_id)
        .where(assignments.c.list_id == list_id)
        .order_by(assignments.c.assigned_at, assignments.c.assignment_id)
    )
    latest: dict[str, tuple[int, str] | None] = {}
    with engine.connect() as connection:
        for row in connection.execute(query):
            latest[row.person_key] = (
                (row.assignee_user_id, row.username) if row.assignee_user_id is not None else None
            )
    return {key: value for key, value in latest.items() if value is not None}
