"""The clinicians' pages: my lists, a list, a citizen, decisions, assignments and exports.

Every handler (1) checks the permission (``Require``), (2) checks that the list's district is one of the
user's districts (:func:`scoped_list`, 404 otherwise so other districts' lists do not even show as
existing), (3) writes the audit row naming the persons about to be shown, and only then (4) renders.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from review import formatting
from review.access import Principal, may_see_identities
from review.accounts import colleagues_in
from review.audit import AuditEvent
from review.casework import (
    DECISION_ACTIONS,
    NOT_RELEVANT_REASONS,
    STATUSES,
    DecisionError,
    assign,
    booked_visits,
    current_assignees,
    decision_history,
    latest_statuses,
    parse_decision,
    record_decision,
)
from review.charts import line_chart_svg
from review.citizen_facts import normalise_facts
from review.codes import medicines, name_of
from review.i18n import translator
from review.identities import Identity
from review.list_export import worklist_csv
from review.web_security import Require, language_of, render, require_recent_authentication, services
from review.worklist import (
    SORT_KEYS,
    ListHeader,
    ReviewState,
    WorklistQuery,
    WorklistRow,
    facts_of,
    list_entry,
    list_header,
    lists_in,
    neighbours,
    progress_of,
    risk_history,
    select_page,
)
from screening.exports import spreadsheet_safe

router = APIRouter()
CARE_PURPOSE = "care_follow_up"


def scoped_list(request: Request, principal: Principal, list_id: str) -> ListHeader:
    """The list if it exists and is in one of the user's districts; 404 otherwise (deny by default)."""
    header = list_header(services(request).engine, list_id)
    if header is None or not principal.covers(header.district):
        raise HTTPException(status_code=404)
    return header


def require_fresh_identity(request: Request, principal: Principal, header: ListHeader) -> None:
    """An export that will carry CPR numbers and names needs a recent login or re-authentication."""
    if may_see_identities(principal, header.district, services(request).config.deployment):
        require_recent_authentication(request)


def _audit(
    request: Request,
    principal: Principal,
    action: str,
    header: ListHeader | None,
    person_keys: list[str],
    **detail: Any,
) -> None:
    services(request).audit.append(
        AuditEvent(
            username=principal.username,
            role=principal.role,
            unit=principal.unit,
            action=action,
            purpose=CARE_PURPOSE,
            list_id=header.list_id if header else None,
            person_keys=person_keys,
            detail=detail,
        )
    )


def _identities(
    request: Request, principal: Principal, header: ListHeader, person_keys: list[str]
) -> dict[str, Identity] | None:
    app = services(request)
    if not may_see_identities(principal, header.district, app.config.deployment):
        return None
    return app.keystore.identities(person_keys)


def _rows_and_state(request: Request, header: ListHeader) -> tuple[list[WorklistRow], ReviewState]:
    app = services(request)
    rows = app.row_cache.rows(app.engine, header.list_id, language_of(request))  # type: ignore[arg-type]
    state = ReviewState(
        latest_statuses(app.engine, header.list_id),
        current_assignees(app.engine, header.list_id),
        booked_visits(app.engine, header.list_id),
    )
    return rows, state


def _query(request: Request) -> WorklistQuery:
    params = request.query_params
    status = params.get("status") if params.get("status") in STATUSES else None
    assignee = params.get("assignee") if params.get("assignee") in ("me", "unassigned") else None
    sort = params.get("sort") if params.get("sort") in SORT_KEYS else "rank"
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    return WorklistQuery(
        status=status,
        assignee=assignee,  # type: ignore[arg-type]
        flag=(params.get("flag") or None),
        new_only=params.get("new") == "1",
        sort=sort,  # type: ignore[arg-type]
        page=page,
        page_size=services(request).config.page_size,
    )


@router.get("/lists")
def my_lists(request: Request, principal: Annotated[Principal, Depends(Require("lists:read"))]) -> Response:
    """The lists of the user's districts (no person data on this page)."""
    lists = lists_in(services(request).engine, principal.districts)
    return render(request, "lists.html", lists=lists)


@router.get("/glossary")
def glossary(request: Request, principal: Annotated[Principal, Depends(Require("lists:read"))]) -> Response:
    """What the words on the lists mean: risk, shared place, HFRS, Charlson, FSIII, §79a, SKS/ATC."""
    return render(request, "glossary.html", triage=services(request).config.triage)


@router.get("/lists/{list_id}")
def list_page(
    request: Request, list_id: str, principal: Annotated[Principal, Depends(Require("lists:read"))]
) -> Response:
    """One page of a list, filtered and sorted; the shown persons are audited before rendering."""
    header = scoped_list(request, principal, list_id)
    rows, state = _rows_and_state(request, header)
    query = _query(request)
    page = select_page(rows, query, principal.user_id, state)
    shown = [row.person_key for row in page.rows]
    _audit(
        request,
        principal,
        "list_view",
        header,
        shown,
        page=page.page,
        sort=query.sort,
        status=query.status,
        assignee=query.assignee,
        flag=query.flag,
        new_only=query.new_only,
    )
    flags = sorted({flag for row in rows for flag in row.flags})
    from screening.objections import withdrawn_counts

    return render(
        request,
        "list.html",
        withdrawn=withdrawn_counts(services(request).engine, [header.list_id]).get(header.list_id, 0),
        header=header,
        page=page,
        query=query,
        flags=flags,
        progress=progress_of(rows, state),
        triage=services(request).config.triage,
        any_ties=any(row.tied for row in page.rows),
        statuses=STATUSES,
        identities=_identities(request, principal, header, shown),
        show_identities=may_see_identities(principal, header.district, services(request).config.deployment),
    )


def _filtered_rows(request: Request, header: ListHeader, principal: Principal) -> list[WorklistRow]:
    query = replace(_query(request), page=1, page_size=10**9)
    rows, state = _rows_and_state(request, header)
    return select_page(rows, query, principal.user_id, state).rows


_csv_text = spreadsheet_safe  # the one guard lives with the one writer (screening.exports)


@router.get("/lists/{list_id}/export.csv")
def export_csv(
    request: Request, list_id: str, principal: Annotated[Principal, Depends(Require("lists:export"))]
) -> Response:
    """The list (with the page's filters) as CSV through the one list-CSV writer; every exported person is
    audited first."""
    header = scoped_list(request, principal, list_id)
    require_fresh_identity(request, principal, header)
    rows = _filtered_rows(request, header, principal)
    keys = [row.person_key for row in rows]
    _audit(request, principal, "export", header, keys, format="csv")
    identities = _identities(request, principal, header, keys)
    language = language_of(request)
    text = worklist_csv(rows, identities, translator(language), language, services(request).config.triage)
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="tidlig-{header.district}-{header.as_of_date}.csv"'
        },
    )


@router.get("/lists/{list_id}/print")
def export_print(
    request: Request, list_id: str, principal: Annotated[Principal, Depends(Require("lists:export"))]
) -> Response:
    """A printable page of the whole (filtered) list; audited like the CSV export."""
    header = scoped_list(request, principal, list_id)
    require_fresh_identity(request, principal, header)
    rows = _filtered_rows(request, header, principal)
    keys = [row.person_key for row in rows]
    _audit(request, principal, "export", header, keys, format="print")
    return render(
        request,
        "print.html",
        header=header,
        rows=rows,
        triage=services(request).config.triage,
        identities=_identities(request, principal, header, keys),
    )


def _citizen_entry(request: Request, principal: Principal, list_id: str, person_key: str):
    header = scoped_list(request, principal, list_id)
    entry = list_entry(services(request).engine, list_id, person_key, language_of(request))  # type: ignore[arg-type]
    if entry is None:
        raise HTTPException(status_code=404)
    return header, entry


@router.get("/lists/{list_id}/citizens/{person_key}")
def citizen_page(
    request: Request,
    list_id: str,
    person_key: str,
    principal: Annotated[Principal, Depends(Require("citizens:read"))],
) -> Response:
    """One citizen: risk over the user's districts' lists, facts, decisions; audited before rendering."""
    header, _entry = _citizen_entry(request, principal, list_id, person_key)
    return _render_citizen(
        request, principal, header, person_key, saved=request.query_params.get("saved") == "1"
    )


def _render_citizen(
    request: Request,
    principal: Principal,
    header: ListHeader,
    person_key: str,
    *,
    saved: bool = False,
    error: DecisionError | None = None,
    submitted: dict[str, str] | None = None,
) -> Response:
    """The citizen page; after a refused decision, with the error beside its field and the choices the
    user made kept (``submitted``), answered 422 so the browser does not treat it as saved."""
    app = services(request)
    rows, state = _rows_and_state(request, header)
    entry = next((state.apply(row) for row in rows if row.person_key == person_key), None)
    if entry is None:
        raise HTTPException(status_code=404)
    history = risk_history(app.engine, person_key, principal.districts)
    facts = normalise_facts(facts_of(app.engine, header.list_id, person_key))
    decisions = decision_history(app.engine, person_key, [point.list_id for point in history])
    assignee = current_assignees(app.engine, header.list_id).get(person_key)
    colleagues = colleagues_in(app.engine, header.district) if principal.can("assignments:write") else []
    _audit(request, principal, "citizen_view", header, [person_key])
    identities = _identities(request, principal, header, [person_key])
    t_lang = language_of(request)
    return render(
        request,
        "citizen.html",
        status_code=422 if error else 200,
        header=header,
        entry=entry,
        identity=(identities or {}).get(person_key),
        show_identities=identities is not None,
        history=history,
        facts=facts,
        medicines=medicines(facts.medicines_atc, t_lang),
        code_name=lambda table, code: name_of(table, code, t_lang),
        triage=app.config.triage,
        around=neighbours(rows, person_key, state),
        progress=progress_of(rows, state),
        risk_chart=line_chart_svg(
            [(formatting.date(p.as_of_date, t_lang), round(p.risk * 100, 1)) for p in history],
            title="risk" if t_lang == "en" else "risiko",
            unit="%",
            value_text=lambda value: formatting.number(value, t_lang),
        ),
        home_care_chart=line_chart_svg(
            [(formatting.date(month, t_lang), minutes) for month, minutes in facts.home_care],
            title="home care" if t_lang == "en" else "hjemmepleje",
            unit="min/uge" if t_lang == "da" else "min/week",
            value_text=lambda value: formatting.number(value, t_lang, 0),
        ),
        weight_chart=line_chart_svg(
            [(formatting.date(day, t_lang), kg) for day, kg in facts.weights],
            title="weight" if t_lang == "en" else "vægt",
            unit="kg",
            value_text=lambda value: formatting.number(value, t_lang),
        ),
        decisions=decisions,
        current_status=entry.status,
        assignee=assignee,
        colleagues=colleagues,
        actions=DECISION_ACTIONS,
        reasons=NOT_RELEVANT_REASONS,
        error_key=error.code if error else None,
        error_field=error.field if error else None,
        submitted=submitted or {},
        saved=saved,
    )


FormText = Annotated[str, Form(max_length=2000)]


@router.post("/lists/{list_id}/citizens/{person_key}/decisions")
def post_decision(
    *,
    request: Request,
    list_id: str,
    person_key: str,
    principal: Annotated[Principal, Depends(Require("decisions:write"))],
    action: FormText = "",
    new_problem_found: FormText = "",
    referred_to_gp: FormText = "",
    not_relevant_reason: FormText = "",
    note: FormText = "",
    visit_date: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Record a decision (audited first); back to the citizen page. An incomplete decision shows the page
    again with the error beside its field and every choice kept."""
    header, _entry = _citizen_entry(request, principal, list_id, person_key)
    target = f"/lists/{list_id}/citizens/{person_key}"
    submitted = {
        "action": action,
        "new_problem_found": new_problem_found,
        "referred_to_gp": referred_to_gp,
        "not_relevant_reason": not_relevant_reason,
        "note": note,
        "visit_date": visit_date,
    }
    try:
        decision = parse_decision(submitted)
    except DecisionError as error:
        return _render_citizen(request, principal, header, person_key, error=error, submitted=submitted)
    app = services(request)
    _audit(request, principal, "decision", header, [person_key], decision=decision.action)
    record_decision(
        app.engine,
        list_id=list_id,
        person_key=person_key,
        district=header.district,
        principal=principal,
        decision=decision,
        decided_at=app.clock(),
    )
    return RedirectResponse(f"{target}?saved=1#decision", status_code=303)  # the notice is in that section


@router.post("/lists/{list_id}/citizens/{person_key}/assignment")
def post_assignment(
    request: Request,
    list_id: str,
    person_key: str,
    principal: Annotated[Principal, Depends(Require("assignments:write"))],
    assignee_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Assign the citizen to a colleague of the same district (empty = unassign); audited."""
    header, _entry = _citizen_entry(request, principal, list_id, person_key)
    app = services(request)
    allowed = {str(account.user_id): account for account in colleagues_in(app.engine, header.district)}
    if assignee_id and assignee_id not in allowed:
        raise HTTPException(status_code=403)
    chosen = allowed[assignee_id].user_id if assignee_id else None
    _audit(request, principal, "assignment", header, [person_key], assignee_id=chosen)
    assign(
        app.engine,
        list_id=list_id,
        person_key=person_key,
        assignee_id=chosen,
        assigned_by=principal,
        assigned_at=app.clock(),
    )
    return RedirectResponse(f"/lists/{list_id}/citizens/{person_key}?saved=1", status_code=303)
