"""Reading the published screening lists (tables owned by ``screening.store``) for the review pages.

The app never writes these tables. A list page loads the list's entries once (a 5,000-citizen list is a few
milliseconds), joins the latest decision and assignment per citizen, then filters, sorts and slices one page
in Python; identities are looked up for the shown page only.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import sqlalchemy as sa

from screening.store import citizen_facts, screening_list_entries, screening_lists

Language = Literal["da", "en"]
SortKey = Literal["rank", "risk", "change"]
SORT_KEYS: tuple[str, ...] = ("rank", "risk", "change")


@dataclass(frozen=True)
class ListHeader:
    """One published list as the app shows it."""

    list_id: str
    district: str
    municipality: str
    as_of_date: dt.date
    capacity: int
    status: str
    entries: int


@dataclass(frozen=True)
class WorklistRow:
    """One citizen on a list, with the review state joined in."""

    rank: int
    person_key: str
    risk: float
    risk_change: float | None
    new_on_list: bool
    flags: tuple[str, ...]
    reasons: tuple[str, ...]
    suggested_action: str
    outcome: str
    status: str = "new"
    assignee_id: int | None = None
    assignee: str | None = None
    tie_first: int = 0  # first and last rank sharing this row's shown risk (0: not computed yet)
    tie_last: int = 0
    visit_date: dt.date | None = None

    @property
    def tied(self) -> bool:
        """True when other citizens on the list show the same risk (the ranks between are a fixed order,
        not a difference in risk)."""
        return self.tie_last > self.tie_first


@dataclass(frozen=True)
class WorklistQuery:
    """Filter, sort and page of a list view (all optional; defaults show rank order, page 1)."""

    status: str | None = None
    assignee: Literal["me", "unassigned"] | None = None
    flag: str | None = None
    new_only: bool = False
    sort: SortKey = "rank"
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True)
class WorklistPage:
    """The rows of one page and what the pager needs."""

    rows: list[WorklistRow]
    total: int
    page: int
    pages: int


def screening_tables_exist(engine: sa.Engine) -> bool:
    """True once the screening layer has created its tables in the operational DB."""
    return sa.inspect(engine).has_table(screening_lists.name)


def lists_in(engine: sa.Engine, districts: Iterable[str]) -> list[ListHeader]:
    """Lists of the given districts, newest first (current before superseded on the same date)."""
    wanted = sorted(set(districts))
    if not wanted or not screening_tables_exist(engine):
        return []
    counts = (
        sa.select(screening_list_entries.c.list_id, sa.func.count().label("entries"))
        .group_by(screening_list_entries.c.list_id)
        .subquery()
    )
    query = (
        sa.select(screening_lists, sa.func.coalesce(counts.c.entries, 0).label("entries"))
        .outerjoin(counts, counts.c.list_id == screening_lists.c.list_id)
        .where(screening_lists.c.district.in_(wanted))
        .order_by(screening_lists.c.as_of_date.desc(), screening_lists.c.district, screening_lists.c.status)
    )
    with engine.connect() as connection:
        return [_header(row) for row in connection.execute(query).mappings()]


def list_header(engine: sa.Engine, list_id: str) -> ListHeader | None:
    """The header of one list, or None if it does not exist."""
    if not screening_tables_exist(engine):
        return None
    query = sa.select(screening_lists, sa.literal(0).label("entries")).where(
        screening_lists.c.list_id == list_id
    )
    with engine.connect() as connection:
        row = connection.execute(query).mappings().first()
        if row is None:
            return None
        count = connection.execute(
            sa.select(sa.func.count()).where(screening_list_entries.c.list_id == list_id)
        ).scalar_one()
    return replace(_header(row), entries=count)


def _header(row: sa.RowMapping) -> ListHeader:
    as_of = row["as_of_date"]
    return ListHeader(
        list_id=row["list_id"],
        district=row["district"],
        municipality=row["municipality"],
        as_of_date=as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of)),
        capacity=row["capacity"],
        status=row["status"],
        entries=row["entries"],
    )


def list_rows(engine: sa.Engine, list_id: str, language: Language) -> list[WorklistRow]:
    """Every entry of the list in rank order, reasons and suggested action in ``language``."""
    entries = screening_list_entries.c
    reasons = entries.reasons_da if language == "da" else entries.reasons_en
    action = entries.suggested_action_da if language == "da" else entries.suggested_action_en
    query = (
        sa.select(
            entries.rank,
            entries.person_key,
            entries.risk,
            entries.risk_change,
            entries.new_on_list,
            entries.flags,
            reasons.label("reasons"),
            action.label("action"),
            entries.outcome,
        )
        .where(entries.list_id == list_id)
        .order_by(entries.rank)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return with_ties([_worklist_row(row) for row in rows])


def shown_risk(risk: float) -> int:
    """The risk as the pages show it (tenths of a percent), the precision at which two risks look equal."""
    return round(risk * 1000)


def with_ties(rows: list[WorklistRow]) -> list[WorklistRow]:
    """``rows`` (rank order) with ``tie_first``/``tie_last``: the run of ranks whose shown risk is equal.

    Ranks are unique (``screening.lists.select_for_lists`` orders equal risks by pseudonym, a fixed but
    clinically meaningless order), so a run of equal risks is shown as a shared place ("delt 10.–13.
    plads") rather than as if rank 10 were more urgent than rank 13.
    """
    ordered = sorted(rows, key=lambda row: row.rank)
    result: list[WorklistRow] = []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and shown_risk(ordered[end + 1].risk) == shown_risk(ordered[start].risk):
            end += 1
        first, last = ordered[start].rank, ordered[end].rank
        result.extend(replace(row, tie_first=first, tie_last=last) for row in ordered[start : end + 1])
        start = end + 1
    return result


class ListRowCache:
    """Parsed entries of recently viewed lists, per (list ID, language).

    Safe because a published list never changes: ``screening.store.publish_lists`` does not rewrite a list
    whose ID exists (only its ``status`` moves, which is not cached). Review state (status, assignee) is
    joined fresh on every request. Bounded to ``max_lists`` entries (oldest dropped first). The one change
    a list does see, a citizen withdrawn after an objection (``screening.objections``), is caught by
    keying the cache on the size of the objection register, read on every request.
    """

    def __init__(self, max_lists: int = 16) -> None:
        self._max_lists = max_lists
        self._rows: dict[tuple[str, str, int], list[WorklistRow]] = {}
        self._lock = threading.Lock()

    def rows(self, engine: sa.Engine, list_id: str, language: Language) -> list[WorklistRow]:
        """The list's rows in rank order (read once, then served from memory)."""
        from screening.objections import count_objections

        key = (list_id, language, count_objections(engine))
        with self._lock:
            cached = self._rows.get(key)
        if cached is not None:
            return cached
        rows = list_rows(engine, list_id, language)
        with self._lock:
            self._rows[key] = rows
            while len(self._rows) > self._max_lists:
                self._rows.pop(next(iter(self._rows)))
        return rows


def _worklist_row(row: sa.Row) -> WorklistRow:
    """One list entry as the worklist shows it (flags and reasons already in the page's language)."""
    return WorklistRow(
        rank=row.rank,
        person_key=row.person_key,
        risk=row.risk,
        risk_change=row.risk_change,
        new_on_list=bool(row.new_on_list),
        flags=tuple(label_of(item) for item in row.flags or ()),
        reasons=tuple(label_of(item) for item in row.reasons or ()),
        suggested_action=row.action or "",
        outcome=row.outcome,
    )


def label_of(item: Any) -> str:
    """The text of a flag or reason, whether the publisher stored a string or an object with a label."""
    if isinstance(item, dict):
        for key in ("text", "label", "reason", "flag", "code", "feature", "group"):
            if item.get(key):
                return str(item[key])
        return ", ".join(f"{key}={value}" for key, value in sorted(item.items()))
    return str(item)


@dataclass(frozen=True)
class ReviewState:
    """The review state of a list's citizens: latest decision and current assignee per person key."""

    statuses: dict[str, str] = field(default_factory=dict)
    assignees: dict[str, tuple[int, str]] = field(default_factory=dict)
    visit_dates: dict[str, dt.date] = field(default_factory=dict)

    def apply(self, row: WorklistRow) -> WorklistRow:
        """``row`` with its status, booked visit date and assignee filled in."""
        assignee = self.assignees.get(row.person_key)
        return replace(
            row,
            status=self.statuses.get(row.person_key, "new"),
            assignee_id=assignee[0] if assignee else None,
            assignee=assignee[1] if assignee else None,
            visit_date=self.visit_dates.get(row.person_key),
        )


DONE_STATUSES = ("visit_done", "not_relevant")
STARTED_STATUSES = ("contacted", "visit_booked")


@dataclass(frozen=True)
class Progress:
    """How far the list is worked: ``done`` (visit done or not relevant) and ``started`` (contacted or
    visit booked) of ``total`` citizens."""

    done: int
    started: int
    total: int

    @property
    def open(self) -> int:
        return self.total - self.done - self.started


def progress_of(rows: list[WorklistRow], state: ReviewState) -> Progress:
    """The list's progress over all its rows (not only the page shown)."""
    statuses = [state.statuses.get(row.person_key, "new") for row in rows]
    done = sum(status in DONE_STATUSES for status in statuses)
    started = sum(status in STARTED_STATUSES for status in statuses)
    return Progress(done, started, len(rows))


@dataclass(frozen=True)
class Neighbours:
    """Where to go from one citizen: the previous and next by rank, and the next one not handled yet."""

    previous: WorklistRow | None
    next: WorklistRow | None
    next_open: WorklistRow | None
    position: int


def neighbours(rows: list[WorklistRow], person_key: str, state: ReviewState) -> Neighbours | None:
    """The citizen's neighbours in rank order; ``next_open`` is the first later citizen (wrapping round to
    the top) whose status is still ``new``. None if the citizen is not on the list."""
    keys = [row.person_key for row in rows]
    if person_key not in keys:
        return None
    index = keys.index(person_key)
    later = rows[index + 1 :] + rows[:index]
    next_open = next((row for row in later if state.statuses.get(row.person_key, "new") == "new"), None)
    return Neighbours(
        previous=rows[index - 1] if index > 0 else None,
        next=rows[index + 1] if index + 1 < len(rows) else None,
        next_open=next_open,
        position=index + 1,
    )


def select_page(rows: list[WorklistRow], query: WorklistQuery, me: int, state: ReviewState) -> WorklistPage:
    """Filter, sort and slice ``rows`` as ``query`` says (``me`` is the viewer's user id).

    ``rows`` are the cached list rows (no review state); only the returned page's rows get ``state``
    applied, so a 5,000-row list costs one pass of cheap checks.
    """
    selected = [row for row in rows if _matches(row, query, me, state)]
    if query.sort == "risk":
        selected.sort(key=lambda row: (-row.risk, row.rank))
    elif query.sort == "change":
        selected.sort(
            key=lambda row: (-(row.risk_change if row.risk_change is not None else -math.inf), row.rank)
        )
    pages = max(1, math.ceil(len(selected) / query.page_size))
    page = min(max(1, query.page), pages)
    start = (page - 1) * query.page_size
    shown = [state.apply(row) for row in selected[start : start + query.page_size]]
    return WorklistPage(shown, len(selected), page, pages)


def _matches(row: WorklistRow, query: WorklistQuery, me: int, state: ReviewState) -> bool:
    if query.status and state.statuses.get(row.person_key, "new") != query.status:
        return False
    assignee = state.assignees.get(row.person_key)
    if query.assignee == "me" and (assignee is None or assignee[0] != me):
        return False
    if query.assignee == "unassigned" and assignee is not None:
        return False
    if query.flag and query.flag not in row.flags:
        return False
    return not (query.new_only and not row.new_on_list)


def list_entry(engine: sa.Engine, list_id: str, person_key: str, language: Language) -> WorklistRow | None:
    """One citizen's entry on one list, or None if they are not on it."""
    for row in _entries_for(engine, list_id, person_key, language):
        return row
    return None


def _entries_for(engine: sa.Engine, list_id: str, person_key: str, language: Language) -> list[WorklistRow]:
    entries = screening_list_entries.c
    reasons = entries.reasons_da if language == "da" else entries.reasons_en
    action = entries.suggested_action_da if language == "da" else entries.suggested_action_en
    query = sa.select(
        entries.rank,
        entries.person_key,
        entries.risk,
        entries.risk_change,
        entries.new_on_list,
        entries.flags,
        reasons.label("reasons"),
        action.label("action"),
        entries.outcome,
    ).where(entries.list_id == list_id, entries.person_key == person_key)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [_worklist_row(row) for row in rows]


@dataclass(frozen=True)
class RiskPoint:
    """The citizen's risk on one earlier or current list."""

    list_id: str
    as_of_date: dt.date
    rank: int
    risk: float
    outcome: str


def risk_history(engine: sa.Engine, person_key: str, districts: Iterable[str]) -> list[RiskPoint]:
    """The citizen's risk on every list of the given districts, oldest first (other districts stay hidden)."""
    lists, entries = screening_lists.c, screening_list_entries.c
    query = (
        sa.select(lists.list_id, lists.as_of_date, entries.rank, entries.risk, entries.outcome)
        .join(screening_list_entries, entries.list_id == lists.list_id)
        .where(entries.person_key == person_key, lists.district.in_(sorted(set(districts))))
        .order_by(lists.as_of_date)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [RiskPoint(row.list_id, row.as_of_date, row.rank, row.risk, row.outcome) for row in rows]


def facts_of(engine: sa.Engine, list_id: str, person_key: str) -> dict[str, Any]:
    """The citizen facts document published with the list (empty if none was published)."""
    query = sa.select(citizen_facts.c.facts).where(
        citizen_facts.c.list_id == list_id, citizen_facts.c.person_key == person_key
    )
    with engine.connect() as connection:
        facts = connection.execute(query).scalar_one_or_none()
    return facts if isinstance(facts, dict) else {}
