"""Request-level security: who is asking (session cookie), may they (permission), and is a POST genuine
(CSRF token). Every route except the public ones (:data:`PUBLIC_PATHS`) depends on :class:`Require`;
a test walks the routes to keep it that way.

The client address is the TCP peer; ``X-Forwarded-For`` is believed only when the peer is one of the
configured trusted proxies (:func:`client_ip`), so nobody can write a fake address into the audit log or
dodge the login throttle by sending the header.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from review.access import Principal
from review.accounts import find_account
from review.administration import AccountAdministration
from review.audit import AuditLog, request_context
from review.authentication import LocalAccountProvider, LoginThrottle
from review.config import ReviewConfig
from review.identities import KeyStore
from review.security_events import SecurityEvents
from review.sessions import SessionStore, session_reference, tokens_match
from review.worklist import ListRowCache

SESSION_COOKIE = "tidlig_session"
LOGIN_CSRF_COOKIE = "tidlig_login_csrf"
LANGUAGE_COOKIE = "tidlig_lang"
LANGUAGES = ("da", "en")
PUBLIC_PATHS = frozenset({"/login", "/lang/{code}", "/static", "/login/oidc", "/login/oidc/callback"})


@dataclass
class Services:
    """What the routes need, created once per app (``app.state.services``)."""

    config: ReviewConfig
    engine: sa.Engine
    audit: AuditLog
    sessions: SessionStore
    throttle: LoginThrottle
    auth_provider: LocalAccountProvider
    templates: Jinja2Templates
    clock: Callable[[], dt.datetime]
    row_cache: ListRowCache
    keystore: KeyStore
    administration: AccountAdministration
    security_events: SecurityEvents
    oidc: Any = None  # review.oidc.OidcClient when configured


def services(request: Request) -> Services:
    """The app's services."""
    return request.app.state.services


class NotAuthenticatedError(Exception):
    """No valid session: GET requests are sent to the login page, others get 401."""


class Require:
    """Dependency: a logged-in, active user whose role grants ``permission`` (None = any logged-in user).

    On POST it also checks the form's ``csrf_token`` against the session's token (403 on mismatch).
    The principal and CSRF token are left on ``request.state`` for the templates.
    """

    def __init__(self, permission: str | None) -> None:
        self.permission = permission

    async def __call__(self, request: Request) -> Principal:
        app = services(request)
        # Database calls run in the thread pool so a slow database does not stall the event loop.
        session = await run_in_threadpool(app.sessions.resolve, request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise NotAuthenticatedError
        account = await run_in_threadpool(find_account, app.engine, user_id=session.user_id)
        if account is None or not account.may_sign_in:
            raise NotAuthenticatedError
        principal = account.principal()
        reference = session_reference(request.cookies.get(SESSION_COOKIE, ""))
        request.state.session_ref = reference
        request.state.session = session
        request_context.set({"session": reference, "client": client_ip(request)})
        request.state.principal = principal
        if request.method not in ("GET", "HEAD"):
            form = await request.form()
            given = form.get("csrf_token") or request.headers.get("x-csrf-token")
            if not tokens_match(session.csrf_token, str(given) if given is not None else None):
                raise HTTPException(status_code=403, detail="csrf")
        if self.permission is not None and not principal.can(self.permission):
            raise HTTPException(status_code=403, detail="forbidden")
        request.state.csrf_token = session.csrf_token
        return principal


def language_of(request: Request) -> str:
    """The chosen language (cookie), Danish by default."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else "da"


def safe_next(target: str | None, default: str = "/") -> str:
    """A local redirect target: only absolute paths on this site (no scheme, no ``//host``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def client_ip(request: Request) -> str:
    """The client's address: the TCP peer, or, when the peer is a configured trusted proxy, the right-most
    ``X-Forwarded-For`` address that is not itself a trusted proxy."""
    peer = request.client.host if request.client is not None else "unknown"
    proxies = services(request).config.trusted_proxies
    if not proxies or not _is_trusted(peer, proxies):
        return peer
    forwarded = [
        part.strip() for header in request.headers.getlist("x-forwarded-for") for part in header.split(",")
    ]
    for address in reversed([part for part in forwarded if part]):
        if not _is_trusted(address, proxies):
            return address[:64]
    return peer


def _is_trusted(address: str, proxies: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def require_recent_authentication(request: Request) -> None:
    """Identified exports need a login or re-authentication within the configured window; otherwise
    :class:`ReauthenticationRequiredError` sends the user to ``/reauthenticate`` first."""
    app = services(request)
    session = getattr(request.state, "session", None)
    proven = getattr(session, "authenticated_at", None)
    now = app.clock().astimezone(dt.UTC).replace(tzinfo=None)
    if proven is None or now - proven > app.config.reauthentication_window:
        raise ReauthenticationRequiredError


class ReauthenticationRequiredError(Exception):
    """The user must prove who they are again before this (identified export)."""


def template_context(request: Request, **values: Any) -> dict[str, Any]:
    """The variables every page gets: language, translator, principal, CSRF token, deployment."""
    from review.i18n import translator

    language = language_of(request)
    current = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "lang": language,
        "t": translator(language),
        "principal": getattr(request.state, "principal", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "deployment": services(request).config.deployment,
        "current_url": current,
        **values,
    }


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> Any:
    """A rendered page with the common context."""
    return services(request).templates.TemplateResponse(
        request, template, template_context(request, **values), status_code=status_code
    )
