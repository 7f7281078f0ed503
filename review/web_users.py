"""The admin's account pages and the security-events page.

Every change goes through :class:`review.administration.AccountAdministration` (audited, four-eyes), so an
admin cannot give anyone, themselves included, clinical access without a second admin seeing it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from review.access import ROLES, Principal
from review.accounts import AccountError, list_accounts
from review.administration import Actor
from review.audit import AuditEvent
from review.passwords import WeakPasswordError, hash_password
from review.web_security import Require, render, services

router = APIRouter()
ERRORS = ("error_account", "error_password", "error_approval")


def _back(error: str | None = None, notice: str | None = None) -> Response:
    query = f"?error={error}" if error else (f"?notice={notice}" if notice else "")
    return RedirectResponse(f"/admin/users{query}", status_code=303)


@router.get("/admin/users")
def users_page(
    request: Request, _principal: Annotated[Principal, Depends(Require("admin:users"))]
) -> Response:
    """All accounts (with who created and approved them), pending approvals, and a form to add one."""
    app = services(request)
    error = request.query_params.get("error")
    return render(
        request,
        "admin_users.html",
        accounts=list_accounts(app.engine),
        roles=ROLES,
        four_eyes=app.administration.four_eyes,
        error=error if error in ERRORS else None,
        message=request.query_params.get("message", "")[:300] if error else "",
        notice=request.query_params.get("notice") == "pending",
    )


@router.post("/admin/users")
def add_user(
    *,
    request: Request,
    principal: Annotated[Principal, Depends(Require("admin:users"))],
    username: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
    districts: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Create a local account (audited; clinical and admin accounts wait for a second admin)."""
    app = services(request)
    name = username.strip().lower()
    try:
        password_hash = hash_password(password, app.config.hashing, user_inputs=(name,))
    except WeakPasswordError:
        return _back("error_password")
    try:
        account = app.administration.create(
            Actor.of(principal),
            username=name,
            role=role,
            districts=districts.replace(",", " ").split(),
            password_hash=password_hash,
        )
    except AccountError:
        return _back("error_account")
    return _back(notice="pending" if account.approval_pending else None)


@router.post("/admin/users/{username}/active")
def toggle_user(
    request: Request,
    username: str,
    principal: Annotated[Principal, Depends(Require("admin:users"))],
    active: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """Deactivate (``active=0``: every session ends) or reactivate (``active=1``) an account; audited."""
    try:
        services(request).administration.set_active(Actor.of(principal), username, active == "1")
    except AccountError:
        return _back("error_account")
    return _back()


@router.post("/admin/users/{username}/approve")
def approve_user(
    request: Request,
    username: str,
    principal: Annotated[Principal, Depends(Require("admin:users"))],
) -> Response:
    """A second admin approves a pending account's access; audited. The requesting admin cannot."""
    try:
        services(request).administration.approve(Actor.of(principal), username)
    except AccountError:
        return _back("error_approval")
    return _back()


@router.get("/admin/security")
def security_page(
    request: Request, principal: Annotated[Principal, Depends(Require("security:read"))]
) -> Response:
    """Denied requests and failed sign-ins, newest first (no person data: route templates only)."""
    app = services(request)
    user = (request.query_params.get("user") or "").strip()[:80] or None
    app.audit.append(
        AuditEvent(
            principal.username,
            principal.role,
            principal.unit,
            "security_events_view",
            "security",
            detail={"user": user},
        )
    )
    return render(
        request, "admin_security.html", events=app.security_events.recent(username=user), user=user or ""
    )
