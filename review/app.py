"""The FastAPI application: ``create_app(config)`` wires services, routes, error pages and security headers.

Run it with ``tidlig review`` (uvicorn on 127.0.0.1). The schema is migrated on start, with
``config.migration_db_url`` when set (the owner role on PostgreSQL) while the app itself uses
``operational_db_url`` (a role that may only read and insert the audit log).

Every denied request (401, 403, 404, 405, 429) becomes a security event, and every request a line in the
access log (method, route template, status, session reference, client; no query strings, no person data).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from privacy.files import private_file
from review.administration import AccountAdministration
from review.anchors import AnchorFile
from review.audit import AuditEvent, AuditLog, AuditUnavailableError, request_context
from review.authentication import LocalAccountProvider, LoginThrottle
from review.config import ReviewConfig
from review.database import create_operational_engine, upgrade_database
from review.formatting import install_filters
from review.identities import KeyStore
from review.security_events import ANONYMOUS, SecurityEvents
from review.sessions import SessionStore
from review.web_security import (
    NotAuthenticatedError,
    ReauthenticationRequiredError,
    Services,
    client_ip,
    render,
    safe_next,
)
from review.worklist import ListRowCache

PACKAGE_DIR = Path(__file__).parent
ACCESS_LOGGER = "tidlig.review.access"
HSTS = "max-age=31536000; includeSubDomains"
DENIAL_REASONS = {401: "not_authenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def utc_now() -> dt.datetime:
    """The wall clock in UTC (the app's default clock; tests pass their own)."""
    return dt.datetime.now(dt.UTC)


def create_app(
    config: ReviewConfig,
    *,
    clock: Callable[[], dt.datetime] = utc_now,
    migrate: bool = True,
) -> FastAPI:
    """The review app for ``config``; ``migrate`` runs ``alembic upgrade head`` on the operational DB."""
    from review import oidc, web_account, web_admin, web_auth, web_lists, web_monitoring, web_users

    engine = create_operational_engine(config.operational_db_url)
    if migrate:
        if config.migration_db_url:
            owner = create_operational_engine(config.migration_db_url)
            upgrade_database(owner, totp_key=config.totp_key)
            owner.dispose()
        else:
            upgrade_database(engine, totp_key=config.totp_key)
    templates = Jinja2Templates(directory=str(PACKAGE_DIR / "templates"))
    install_filters(templates.env)
    app = FastAPI(title="Tidlig review", docs_url=None, redoc_url=None, openapi_url=None)
    anchors = (
        AnchorFile(config.anchor_path, config.anchor_key, config.anchor_every)
        if config.anchor_path is not None and config.anchor_key is not None
        else None
    )
    audit = AuditLog(engine, clock, anchors, app_role=config.app_role)
    app.state.services = Services(
        config=config,
        engine=engine,
        audit=audit,
        sessions=SessionStore(
            engine,
            config.session_lifetime,
            clock,
            idle_timeout=config.idle_timeout,
            max_per_user=config.max_sessions_per_user,
        ),
        throttle=LoginThrottle(engine, config.throttle, clock, config.login_record_key),
        auth_provider=LocalAccountProvider(
            engine, config.hashing, max_concurrent=config.max_concurrent_hashes
        ),
        templates=templates,
        clock=clock,
        row_cache=ListRowCache(),
        keystore=KeyStore(config.keystore_url),
        administration=AccountAdministration(engine, audit, clock, four_eyes=config.four_eyes),
        security_events=SecurityEvents(engine, clock),
        oidc=oidc.OidcClient(config.oidc) if config.oidc is not None else None,
    )
    app.mount("/static", StaticFiles(directory=str(PACKAGE_DIR / "static")), name="static")
    app.include_router(web_auth.router)
    app.include_router(oidc.router)
    app.include_router(web_lists.router)
    app.include_router(web_users.router)
    app.include_router(web_admin.router)
    app.include_router(web_monitoring.router)
    app.include_router(web_account.router)
    _install_error_pages(app)
    access_log = _access_logger(config.access_log_path)
    if config.oidc is not None:
        from starlette.middleware.sessions import SessionMiddleware

        app.add_middleware(
            SessionMiddleware,
            secret_key=oidc.state_cookie_key(config.login_record_key),
            session_cookie=oidc.STATE_COOKIE,
            max_age=600,
            same_site="lax",
            https_only=config.cookies_secure,
        )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        request_context.set({"client": client_ip(request)})
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if config.cookies_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        access_log.info(
            "%s %s %d session=%s client=%s %.1fms",
            request.method,
            route_template(request),
            response.status_code,
            getattr(request.state, "session_ref", None) or "-",
            client_ip(request),
            (time.perf_counter() - started) * 1000,
        )
        return response

    return app


def route_template(request: Request) -> str:
    """The matched route's template (``/lists/{list_id}``), never the concrete path (it may carry a
    pseudonym); ``/static`` for static files and ``(unmatched)`` for unknown URLs."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path is not None:
        return str(path)
    return "/static" if request.url.path.startswith("/static/") else "(unmatched)"


def _access_logger(path: Path | None) -> logging.Logger:
    """The access logger; with ``path`` it writes there (created 0600 in a 0700 folder)."""
    logger = logging.getLogger(f"{ACCESS_LOGGER}.{path}" if path else ACCESS_LOGGER)
    logger.propagate = path is None
    if path is not None and not logger.handlers:
        private_file(path)
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return logger


def record_denial(request: Request, status: int, reason: str) -> None:
    """A denied request as a security event, and, when a signed-in user was denied, as an audit row."""
    services = request.app.state.services
    principal = getattr(request.state, "principal", None)
    route = f"{route_template(request)}"
    services.security_events.record(
        username=principal.username if principal else ANONYMOUS,
        role=principal.role if principal else "unknown",
        method=request.method,
        route=route,
        status=status,
        reason=reason,
        session_ref=getattr(request.state, "session_ref", None),
        client_ip=client_ip(request),
    )
    if principal is not None:
        services.audit.append(
            AuditEvent(
                username=principal.username,
                role=principal.role,
                unit=principal.unit,
                action="access_denied",
                purpose="security",
                detail={"route": route, "method": request.method, "status": status, "reason": reason},
            )
        )


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticatedError)
    async def not_authenticated(request: Request, _error: NotAuthenticatedError) -> Response:
        record_denial(request, 401, "not_authenticated")
        if request.method in ("GET", "HEAD"):
            target = safe_next(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
            return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)
        return render(
            request, "error.html", status_code=401, message_key="error_login_required", current_url="/"
        )

    @app.exception_handler(AuditUnavailableError)
    async def audit_unavailable(request: Request, _error: AuditUnavailableError) -> Response:
        return render(
            request, "error.html", status_code=503, message_key="error_audit_unavailable", current_url="/"
        )

    @app.exception_handler(ReauthenticationRequiredError)
    async def reauthenticate(request: Request, _error: ReauthenticationRequiredError) -> Response:
        target = safe_next(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/reauthenticate?next={_quote(target)}", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        keys = {403: "error_forbidden", 404: "error_not_found", 429: "error_throttled"}
        key = "error_csrf" if error.detail == "csrf" else keys.get(error.status_code, "error_generic")
        if error.status_code in (*DENIAL_REASONS, 429):
            reason = "csrf" if error.detail == "csrf" else DENIAL_REASONS.get(error.status_code, "throttled")
            try:
                record_denial(request, error.status_code, reason)
            except AuditUnavailableError:
                return render(
                    request,
                    "error.html",
                    status_code=503,
                    message_key="error_audit_unavailable",
                    current_url="/",
                )
        return render(request, "error.html", status_code=error.status_code, message_key=key, current_url="/")


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="/")
