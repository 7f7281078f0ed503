"""The FastAPI application: ``create_app(config)`` wires services, routes, error pages and security headers.

Run it with ``tidlig review`` (uvicorn on 127.0.0.1). The schema is migrated on start.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from review.audit import AuditLog, AuditUnavailableError
from review.authentication import LocalAccountProvider, LoginThrottle
from review.config import ReviewConfig
from review.database import create_operational_engine, upgrade_database
from review.identities import KeyStore
from review.sessions import SessionStore
from review.web_security import NotAuthenticatedError, Services, render, safe_next
from review.worklist import ListRowCache

PACKAGE_DIR = Path(__file__).parent
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
    from review import web_admin, web_auth, web_lists, web_monitoring

    engine = create_operational_engine(config.operational_db_url)
    if migrate:
        upgrade_database(engine)
    templates = Jinja2Templates(directory=str(PACKAGE_DIR / "templates"))
    app = FastAPI(title="Tidlig review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = Services(
        config=config,
        engine=engine,
        audit=AuditLog(engine, clock),
        sessions=SessionStore(engine, config.session_lifetime, clock),
        throttle=LoginThrottle(engine, config.throttle, clock),
        auth_provider=LocalAccountProvider(engine, config.hashing),
        templates=templates,
        clock=clock,
        row_cache=ListRowCache(),
        keystore=KeyStore(config.keystore_url),
    )
    app.mount("/static", StaticFiles(directory=str(PACKAGE_DIR / "static")), name="static")
    app.include_router(web_auth.router)
    app.include_router(web_lists.router)
    app.include_router(web_admin.router)
    app.include_router(web_monitoring.router)
    _install_error_pages(app)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticatedError)
    async def not_authenticated(request: Request, _error: NotAuthenticatedError) -> Response:
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

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        keys = {403: "error_forbidden", 404: "error_not_found", 429: "error_throttled"}
        key = "error_csrf" if error.detail == "csrf" else keys.get(error.status_code, "error_generic")
        return render(request, "error.html", status_code=error.status_code, message_key=key, current_url="/")


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="/")
