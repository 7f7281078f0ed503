"""Pages without identities: the analyst's aggregates and the admin's audit log.

Account pages live in :mod:`review.web_users`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from privacy import MIN_CELL_PERSONS, Relation, cell_text, is_small, protect
from review.access import Principal
from review.audit import AuditEvent
from review.casework import STATUSES, latest_statuses
from review.feedback import YIELD_COUNTS, YieldRow, compute_yield, suppress_small_cells
from review.web_security import Require, render, services
from review.worklist import ListHeader, lists_in

router = APIRouter()


@router.get("/aggregates")
def aggregates(
    request: Request, principal: Annotated[Principal, Depends(Require("aggregates:read"))]
) -> Response:
    """Per-list status counts and visit yield for the analyst's districts; cells < 5 suppressed, and the
    cells that would give them away by subtraction too (:func:`aggregate_cells`)."""
    app = services(request)
    app.audit.append(
        AuditEvent(principal.username, principal.role, principal.unit, "aggregate_view", "evaluation")
    )
    lists = lists_in(app.engine, principal.districts)
    status_counts = {}
    for header in lists:
        counts = Counter(latest_statuses(app.engine, header.list_id).values())
        counts["new"] = header.entries - sum(counts.values())
        status_counts[header.list_id] = {status: counts[status] for status in STATUSES}
    districts = set(principal.districts)
    by_district = compute_yield(app.engine, "district", districts)
    cells = aggregate_cells(lists, status_counts, by_district)
    # A citizen with several reasons counts once for each, so reason rows sum to nothing shown: small
    # cells are withheld, no complements are needed.
    by_reason = suppress_small_cells(compute_yield(app.engine, "reason", districts))
    for row in by_reason:
        for field in YIELD_COUNTS:
            cells[("reason", row.group, field)] = cell_text(getattr(row, field))
    return render(
        request,
        "aggregates.html",
        lists=lists,
        statuses=STATUSES,
        cells=cells,
        by_district=[_shown_row(row, cells, "district") for row in by_district],
        by_reason=by_reason,
        min_cell=MIN_CELL_PERSONS,
    )


def aggregate_cells(
    lists: Sequence[ListHeader],
    status_counts: Mapping[str, Mapping[str, int]],
    by_district: Sequence[YieldRow],
) -> dict[tuple[str, ...], str]:
    """The text of every count on the analyst page, keyed ``("size", list_id)``, ``("status", list_id,
    status)`` and ``("district", district, field)``.

    The statuses of a list sum to its size, and a district's decided, completed-visit and not-relevant
    counts are the sums of its lists' statuses, so a withheld cell is protected by withholding the smallest
    other cell of each such sum (``*``); small cells show ``<5``.
    """
    values: dict[tuple[str, ...], float] = {}
    for header in lists:
        values[("size", header.list_id)] = header.entries
        for status in STATUSES:
            values[("status", header.list_id, status)] = status_counts[header.list_id][status]
    primary: set[tuple[str, ...]] = {key for key, value in values.items() if is_small(value)}
    for row in by_district:
        shown = suppress_small_cells([row])[0]
        for field in YIELD_COUNTS:
            key = ("district", row.group, field)
            values[key] = getattr(row, field) or 0
            if getattr(shown, field) is None:
                primary.add(key)
    relations: list[Relation[tuple[str, ...]]] = [
        Relation(("size", header.list_id), tuple(("status", header.list_id, status) for status in STATUSES))
        for header in lists
    ]
    lists_of: dict[str, list[str]] = {}
    for header in lists:
        lists_of.setdefault(header.district, []).append(header.list_id)
    sums = {
        "decided": [status for status in STATUSES if status != "new"],
        "visits_done": ["visit_done"],
        "not_relevant": ["not_relevant"],
    }
    for row in by_district:
        for field, statuses in sums.items():
            parts = tuple(
                ("status", list_id, status) for list_id in lists_of.get(row.group, []) for status in statuses
            )
            if parts:
                relations.append(Relation(("district", row.group, field), parts))
    suppression = protect(values, relations, primary=primary)
    return {
        key: cell_text(
            None if key in suppression else int(value), complementary=key in suppression.complementary
        )
        for key, value in values.items()
    }


def _shown_row(row: YieldRow, cells: Mapping[tuple[str, ...], str], kind: str) -> YieldRow:
    """``row`` with the withheld counts None (so its yield rate is shown only when both parts are)."""
    counts = {
        field: (getattr(row, field) if cells[(kind, row.group, field)].isdigit() else None)
        for field in YIELD_COUNTS
    }
    return replace(row, **counts)


@router.get("/admin/audit")
def audit_page(
    request: Request, principal: Annotated[Principal, Depends(Require("admin:audit"))]
) -> Response:
    """Who looked at this citizen (by pseudonym, or by CPR where the key store exists), when and why."""
    app = services(request)
    params = request.query_params
    person_key = (params.get("person_key") or "").strip() or None
    cpr = (params.get("cpr") or "").strip() or None
    username = (params.get("user") or "").strip() or None
    keys = [person_key] if person_key else []
    if cpr and app.config.deployment == "operational":
        keys += app.keystore.person_keys_for_cpr(cpr)
    searched = bool(person_key or cpr or username)
    app.audit.append(
        AuditEvent(
            principal.username,
            principal.role,
            principal.unit,
            "audit_view",
            "audit_review",
            person_keys=keys,
            detail={"user": username},
        )
    )
    records = []
    if keys:
        for key in sorted(set(keys)):
            records += app.audit.records(person_key=key, username=username)
        records.sort(key=lambda record: record.seq, reverse=True)
    elif searched and username:
        records = app.audit.records(username=username)
    elif not searched:
        records = app.audit.records(limit=100)
    return render(
        request,
        "admin_audit.html",
        records=records,
        person_key=person_key or "",
        cpr=cpr or "",
        user=username or "",
        searched=searched,
        report=app.audit.verify(),
    )
