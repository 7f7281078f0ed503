"""Login (password and TOTP code), re-authentication, logout, language switch and the role's start page.

Every sign-in attempt (successful, failed or throttled) and every sign-out writes an audit row before the
response, like every access to citizen data. A failed or throttled attempt names the account only if the
typed username is an existing staff account; anything else is recorded as :data:`UNKNOWN_USERNAME`, because
people sometimes type their password into the username field. The password is never recorded. Failed
attempts are also security events (:mod:`review.security_events`).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from review.access import Principal
from review.accounts import Account, find_account, totp_state, use_totp_step
from review.audit import AuditEvent
from review.authentication import LoginBusyError
from review.security_events import ANONYMOUS
from review.sessions import new_session_token, session_reference, tokens_match
from review.totp import SealedSecretError, matching_step
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
AUTH_ACTIONS = (
    "login",
    "login_failed",
    "login_throttled",
    "logout",
    "reauthenticated",
    "reauthentication_failed",
)
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
        secure=services(request).config.cookies_secure,
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
    if not account.active:
        return "inactive_account"
    return "pending_approval" if account.approval_pending else "bad_credentials"


def _security_event(request: Request, who: Principal | None, status: int, reason: str) -> None:
    services(request).security_events.record(
        username=who.username if who else ANONYMOUS,
        role=who.role if who else UNKNOWN_ROLE,
        method=request.method,
        route=request.url.path if request.url.path in ("/login", "/reauthenticate") else "(login)",
        status=status,
        reason=reason,
        session_ref=getattr(request.state, "session_ref", None),
        client_ip=client_ip(request),
    )


def second_factor_ok(request: Request, account: Account, code: str) -> bool:
    """True if the account has no TOTP secret, or ``code`` is a fresh, unused code for it."""
    app = services(request)
    try:
        secret, _last = totp_state(app.engine, account.user_id, app.config.totp_key)
    except SealedSecretError:
        return False  # a clear or foreign secret in the database is never a way in (D103)
    if secret is None:
        return True
    step = matching_step(secret, code, app.clock())
    return step is not None and use_totp_step(app.engine, account.user_id, step)


def _missing_required_totp(request: Request, account: Account) -> bool:
    return services(request).config.require_totp and account.auth_provider == "local" and not account.has_totp


def _login_page(request: Request, next_url: str, error_key: str | None, status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        status_code=status_code,
        login_csrf=token,
        next_url=next_url,
        error_key=error_key,
        oidc_label=services(request).oidc.settings.label if services(request).oidc is not None else None,
    )
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    """The login form (with a fresh pre-session CSRF token in a cookie and the form)."""
    return _login_page(request, safe_next(next), None)


def start_session(request: Request, account: Account, provider: str, next_url: str) -> tuple[str, str]:
    """Audit the login, then start the session; returns the cookie token and where to go next."""
    app = services(request)
    token = new_session_token()
    _audit_authentication(
        request, "login", account.principal(), session=session_reference(token), provider=provider
    )
    app.sessions.start(account.user_id, token)
    target = safe_next(next_url, START_PAGES.get(account.role, "/"))
    return token, target if target != "/" else START_PAGES.get(account.role, "/")


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The session cookie (HttpOnly, SameSite=Strict, Secure unless on loopback)."""
    lifetime = int(services(request).config.session_lifetime.total_seconds())
    _set_cookie(request, response, SESSION_COOKIE, token, max_age=lifetime)


@router.post("/login")
def login(
    *,
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
    otp: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Check credentials and the TOTP code (throttled per username and client, per client and per
    username), write the audit row, then start a session.

    If the audit row cannot be written the request answers 503 and no session is created.
    """
    app = services(request)
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        raise HTTPException(status_code=403, detail="csrf")
    username = username.strip().lower()
    ip = client_ip(request)
    if app.throttle.is_blocked(username, ip):
        attempted = find_account(app.engine, username=username)
        who = attempted.principal() if attempted else None
        _audit_authentication(request, "login_throttled", who)
        _security_event(request, who, 429, "login_throttled")
        return _login_page(request, safe_next(next), "error_throttled", status_code=429)
    try:
        verified = app.auth_provider.verify(username, password)
    except LoginBusyError:
        _security_event(request, None, 503, "login_busy")
        return _login_page(request, safe_next(next), "error_busy", status_code=503)
    account = find_account(app.engine, username=verified.username if verified else username)
    reason = None
    if verified is None or account is None or not account.may_sign_in:
        reason = _failure_reason(account)
    elif not second_factor_ok(request, account, otp):
        reason = "bad_second_factor"
    elif _missing_required_totp(request, account):
        reason = "second_factor_not_enrolled"
    if reason is not None:
        app.throttle.record(username, ip, succeeded=False)
        who = account.principal() if account else None
        _audit_authentication(request, "login_failed", who, reason=reason)
        _security_event(request, who, 401, reason)
        error_key = "error_totp_enrol" if reason == "second_factor_not_enrolled" else "error_bad_credentials"
        return _login_page(request, safe_next(next), error_key, status_code=401)
    assert account is not None
    assert verified is not None
    # The audit row names the session before it exists, so a failed audit write leaves no session behind.
    token, target = start_session(request, account, verified.provider, next)
    app.throttle.record(username, ip, succeeded=True)
    response = RedirectResponse(target, 303)
    set_session_cookie(request, response, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.get("/reauthenticate")
def reauthenticate_form(
    request: Request, principal: Annotated[Principal, Depends(Require(None))], next: str | None = None
) -> Response:
    """Ask for the password (and TOTP code) again before an identified export."""
    app = services(request)
    account = find_account(app.engine, user_id=principal.user_id)
    if account is not None and account.auth_provider != "local" and app.oidc is not None:
        return RedirectResponse(f"/login/oidc?reauth=1&next={_quote(safe_next(next))}", status_code=303)
    return render(
        request,
        "reauthenticate.html",
        next_url=safe_next(next),
        error_key=None,
        has_totp=bool(account and account.has_totp),
    )


@router.post("/reauthenticate")
def reauthenticate(
    request: Request,
    principal: Annotated[Principal, Depends(Require(None))],
    password: Annotated[str, Form(max_length=1024)] = "",
    otp: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    """Check the signed-in user's password and code; on success the session counts as freshly proven."""
    app = services(request)
    account = find_account(app.engine, user_id=principal.user_id)
    assert account is not None
    ip = client_ip(request)
    if app.throttle.is_blocked(account.username, ip):
        _security_event(request, principal, 429, "reauthentication_throttled")
        raise HTTPException(status_code=429)
    try:
        verified = app.auth_provider.verify(account.username, password)
    except LoginBusyError:
        raise HTTPException(status_code=503) from None
    if verified is None or not second_factor_ok(request, account, otp):
        app.throttle.record(account.username, ip, succeeded=False)
        _audit_authentication(request, "reauthentication_failed", principal)
        _security_event(request, principal, 401, "reauthentication_failed")
        return render(
            request,
            "reauthenticate.html",
            status_code=401,
            next_url=safe_next(next),
            error_key="error_bad_credentials",
            has_totp=account.has_totp,
        )
    _audit_authentication(request, "reauthenticated", principal)
    app.sessions.reauthenticated(request.cookies.get(SESSION_COOKIE, ""))
    return RedirectResponse(safe_next(next), status_code=303)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="/")


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
