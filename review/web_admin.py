"""Pages without identities: the analyst's aggregates and the admin's audit log.

Account pages live in :mod:`review.web_users`.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from review.access import Principal
from review.audit import AuditEvent
from review.casework import STATUSES, latest_statuses
from review.feedback import MIN_CELL, compute_yield, suppress_small_cells
from review.web_security import Require, render, services
from review.worklist import lists_in

router = APIRouter()


@router.get("/aggregates")
def aggregates(
    request: Request, principal: Annotated[Principal, Depends(Require("aggregates:read"))]
) -> Response:
    """Per-list status counts and visit yield for the analyst's districts; cells < 5 suppressed."""
    app = services(request)
    app.audit.append(
        AuditEvent(principal.username, principal.role, principal.unit, "aggregate_view", "evaluation")
    )
    lists = lists_in(app.engine, principal.districts)
    status_counts = {}
    for header in lists:
        counts = Counter(latest_statuses(app.engine, header.list_id).values())
        counts["new"] = header.entries - sum(counts.values())
        status_counts[header.list_id] = {
            status: (counts[status] if counts[status] == 0 or counts[status] >= MIN_CELL else None)
            for status in STATUSES
        }
    districts = set(principal.districts)
    sizes = {header.list_id: header.entries if header.entries >= MIN_CELL else None for header in lists}
    return render(
        request,
        "aggregates.html",
        lists=lists,
        statuses=STATUSES,
        status_counts=status_counts,
        sizes=sizes,
        by_district=suppress_small_cells(compute_yield(app.engine, "district", districts)),
        by_reason=suppress_small_cells(compute_yield(app.engine, "reason", districts)),
        min_cell=MIN_CELL,
    )


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
