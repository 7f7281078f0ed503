"""Login, logout, language switch and the role's start page.

Every sign-in attempt (successful, failed or throttled) and every sign-out writes an audit row before the
response, like every access to citizen data. A failed or throttled attempt names the account only if the
typed username is an existing staff account; anything else is recorded as :data:`UNKNOWN_USERNAME`, because
people sometimes type their password into the username field. The password is never recorded.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from review.access import Principal
from review.accounts import Account, find_account
from review.audit import AuditEvent
from review.sessions import new_session_token, session_reference, tokens_match
from review.web_security import (
    LANGUAGE_COOKIE,
    LANGUAGES,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Require,
    client_ip,
    render,
    safe_next,
    services,
)

router = APIRouter()

AUTH_PURPOSE = "authentication"
AUTH_ACTIONS = ("login", "login_failed", "login_throttled", "logout")
# Not a valid username (review.accounts.USERNAME_PATTERN), so it can never be mistaken for a real account.
UNKNOWN_USERNAME = "(unknown)"
UNKNOWN_ROLE = "unknown"

START_PAGES = {
    "nurse": "/lists",
    "gp": "/lists",
    "coordinator": "/lists",
    "analyst": "/aggregates",
    "admin": "/admin/audit",
}


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=services(request).config.secure_cookies,
        path="/",
    )


def _audit_authentication(request: Request, action: str, who: Principal | None, **detail: str) -> None:
    """Write the audit row for one sign-in or sign-out (raises ``AuditUnavailableError``, answered 503)."""
    services(request).audit.append(
        AuditEvent(
            username=who.username if who else UNKNOWN_USERNAME,
            role=who.role if who else UNKNOWN_ROLE,
            unit=who.unit if who else "",
            action=action,
            purpose=AUTH_PURPOSE,
            detail={"client_ip": client_ip(request), **detail},
        )
    )


def _failure_reason(account: Account | None) -> str:
    if account is None:
        return "unknown_user"
    return "bad_credentials" if account.active else "inactive_account"


def _login_page(request: Request, next_url: str, error_key: str | None, status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        status_code=status_code,
        login_csrf=token,
        next_url=next_url,
        error_key=error_key,
    )
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    """The login form (with a fresh pre-session CSRF token in a cookie and the form)."""
    return _login_page(request, safe_next(next), None)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    """Check credentials (throttled per username and IP), write the audit row, then start a session.

    If the audit row cannot be written the request answers 503 and no session is created.
    """
    app = services(request)
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        raise HTTPException(status_code=403, detail="csrf")
    username = username.strip().lower()
    ip = client_ip(request)
    if app.throttle.is_blocked(username, ip):
        attempted = find_account(app.engine, username=username)
        _audit_authentication(request, "login_throttled", attempted.principal() if attempted else None)
        return _login_page(request, safe_next(next), "error_throttled", status_code=429)
    verified = app.auth_provider.verify(username, password)
    account = find_account(app.engine, username=verified.username if verified else username)
    if verified is None or account is None or not account.active:
        app.throttle.record(username, ip, succeeded=False)
        _audit_authentication(
            request,
            "login_failed",
            account.principal() if account else None,
            reason=_failure_reason(account),
        )
        return _login_page(request, safe_next(next), "error_bad_credentials", status_code=401)
    # The audit row names the session before it exists, so a failed audit write leaves no session behind.
    token = new_session_token()
    _audit_authentication(
        request, "login", account.principal(), session=session_reference(token), provider=verified.provider
    )
    app.throttle.record(username, ip, succeeded=True)
    app.sessions.start(account.user_id, token)
    target = safe_next(next, START_PAGES.get(account.role, "/"))
    response = RedirectResponse(target if target != "/" else START_PAGES.get(account.role, "/"), 303)
    _set_cookie(
        request, response, SESSION_COOKIE, token, max_age=int(app.config.session_lifetime.total_seconds())
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, principal: Annotated[Principal, Depends(Require(None))]) -> Response:
    """Write the audit row and end the session (CSRF-checked like every POST).

    The session ends even if the audit row cannot be written (then the answer is 503): signing out must
    never be refused.
    """
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        _audit_authentication(request, "logout", principal, session=session_reference(token))
    finally:
        services(request).sessions.end(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def choose_language(request: Request, code: str, next: str | None = None) -> Response:
    """Switch between Danish and English (a cookie), then go back."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGUAGES:
        _set_cookie(request, response, LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600)
    return response


@router.get("/")
def start_page(principal: Annotated[Principal, Depends(Require(None))]) -> Response:
    """Send each role to its own start page."""
    return RedirectResponse(START_PAGES.get(principal.role, "/login"), status_code=303)
