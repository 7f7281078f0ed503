"""OpenID Connect sign-on: the authorization code flow with PKCE (S256), through Authlib's Starlette client.

``GET /login/oidc`` sends the browser to the provider with ``state``, ``nonce`` and a PKCE challenge (kept
in a short-lived signed cookie, SameSite=Lax so it survives the redirect back). ``GET /login/oidc/callback``
lets Authlib check the state, exchange the code with the verifier, and validate the ID token (signature
against the provider's JWKS, issuer, audience, nonce, expiry). Then the claims are mapped:

* ``username_claim`` is the login name; the account is bound to the token's ``sub`` the first time, and a
  later token with another subject for that name is refused;
* ``role_claim`` and ``districts_claim`` are the Tidlig role and districts; a change at the provider
  changes the account (audited, sessions ended), because the provider is where the municipality grants
  access. Accounts it creates or changes are approved by the provider (its own approval process is the
  second pair of eyes), and every such change is an audit row made by ``oidc:<issuer>``;
* a local account of the same name is never taken over, and an account deactivated in Tidlig stays
  deactivated whatever the provider says.

The session cookie is SameSite=Strict, which a browser does not send on a navigation that started at the
provider, so the callback answers with a small page that continues to the start page from this site.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from review.access import ROLES
from review.accounts import USERNAME_PATTERN, Account, AccountError, find_account
from review.administration import Actor
from review.config import OidcSettings
from review.web_security import SESSION_COOKIE, render, safe_next, services

router = APIRouter()
STATE_COOKIE = "tidlig_oidc"
OIDC_PROVIDER_NAME = "oidc"


class OidcClient:
    """Authlib's OIDC client for one provider (found by discovery from its issuer URL)."""

    def __init__(self, settings: OidcSettings) -> None:
        from authlib.integrations.starlette_client import OAuth

        self.settings = settings
        self._oauth = OAuth()
        self.client = self._oauth.register(
            name="tidlig",
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            server_metadata_url=settings.issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={"scope": settings.scope, "code_challenge_method": "S256"},
        )

    @property
    def actor(self) -> Actor:
        """Who the audit log names for changes the provider's claims make."""
        return Actor(f"oidc:{urlparse(self.settings.issuer).netloc}"[:64], "identity_provider")


def state_cookie_key(login_record_key: bytes) -> str:
    """The key that signs the OIDC state cookie (derived; never stored in the database)."""
    return hmac.new(login_record_key, b"tidlig-oidc-state", hashlib.sha256).hexdigest()


def _oidc(request: Request) -> OidcClient:
    client = services(request).oidc
    if client is None:
        raise HTTPException(status_code=404)
    return client


@router.get("/login/oidc")
async def oidc_login(request: Request, next: str | None = None, reauth: str | None = None) -> Response:
    """Start the authorization code flow (PKCE S256); ``reauth=1`` forces the provider to ask again."""
    client = _oidc(request)
    request.session.clear()
    request.session["next"] = safe_next(next)
    request.session["reauth"] = reauth == "1"
    extra: dict[str, Any] = {"prompt": "login", "max_age": 0} if reauth == "1" else {}
    return await client.client.authorize_redirect(request, client.settings.redirect_uri, **extra)


def map_claims(settings: OidcSettings, claims: dict[str, Any]) -> tuple[str, str, list[str]]:
    """``(username, role, districts)`` from the claims; raises AccountError if they do not make an account."""
    username = str(claims.get(settings.username_claim) or "").strip().lower()
    role = str(claims.get(settings.role_claim) or "").strip()
    raw = claims.get(settings.districts_claim) or []
    districts = [str(d).strip() for d in (raw.replace(",", " ").split() if isinstance(raw, str) else raw)]
    if not USERNAME_PATTERN.match(username):
        raise AccountError("The provider's username claim is not a valid Tidlig username.")
    if role not in ROLES:
        raise AccountError("The provider's role claim names no Tidlig role.")
    return username, role, [d for d in districts if d]


def _provision(request: Request, client: OidcClient, claims: dict[str, Any]) -> tuple[Account | None, str]:
    """The account the claims sign in as (created or updated), or None and the reason to refuse."""
    app = services(request)
    try:
        username, role, districts = map_claims(client.settings, claims)
    except AccountError:
        return None, "bad_claims"
    subject = str(claims.get("sub") or "")
    account = find_account(app.engine, username=username)
    actor = client.actor
    if account is None:
        account = app.administration.create(
            actor,
            username=username,
            role=role,
            districts=districts,
            password_hash=None,
            auth_provider=OIDC_PROVIDER_NAME,
            external_subject=subject,
            approved_by_provider=True,
        )
    if account.auth_provider != OIDC_PROVIDER_NAME:
        return None, "local_account_of_that_name"
    if app.administration.external_subject(username) != subject:
        return None, "subject_mismatch"
    if not account.active:
        return None, "inactive_account"
    if (account.role, sorted(account.districts)) != (role, sorted(districts)):
        account = app.administration.change_access(
            actor, username, role=role, districts=districts, approved_by_provider=True
        )
    return account, ""


@router.get("/login/oidc/callback")
async def oidc_callback(request: Request) -> Response:
    """Finish the flow: Authlib validates state, code, PKCE and the ID token; then map, audit, sign in."""
    from authlib.integrations.starlette_client import OAuthError

    from review.web_auth import _audit_authentication, _security_event, set_session_cookie, start_session

    client = _oidc(request)
    app = services(request)
    next_url = safe_next(request.session.get("next"))
    reauth = bool(request.session.get("reauth"))
    try:
        token = await client.client.authorize_access_token(request)
    except OAuthError:
        request.session.clear()
        await run_in_threadpool(_audit_authentication, request, "login_failed", None, reason="oidc_rejected")
        await run_in_threadpool(_security_event, request, None, 401, "oidc_rejected")
        return render(
            request, "error.html", status_code=401, message_key="error_bad_credentials", current_url="/"
        )
    request.session.clear()
    claims = dict(token.get("userinfo") or {})
    account, reason = await run_in_threadpool(_provision, request, client, claims)
    if account is None:
        await run_in_threadpool(_audit_authentication, request, "login_failed", None, reason=reason)
        await run_in_threadpool(_security_event, request, None, 403, reason)
        return render(request, "error.html", status_code=403, message_key="error_forbidden", current_url="/")
    if reauth:
        session = await run_in_threadpool(app.sessions.resolve, request.cookies.get(SESSION_COOKIE))
        auth_time = claims.get("auth_time")
        now = app.clock().timestamp()
        fresh = isinstance(auth_time, int | float) and now - auth_time <= (
            app.config.reauthentication_window.total_seconds()
        )
        if session is not None and session.user_id == account.user_id and fresh:
            await run_in_threadpool(_audit_authentication, request, "reauthenticated", account.principal())
            await run_in_threadpool(app.sessions.reauthenticated, request.cookies.get(SESSION_COOKIE, ""))
            return render(request, "continue.html", target=next_url)
    token_value, target = await run_in_threadpool(
        start_session, request, account, OIDC_PROVIDER_NAME, next_url
    )
    response = render(request, "continue.html", target=target)
    set_session_cookie(request, response, token_value)
    return response


def utc_timestamp(moment: dt.datetime) -> float:
    """Seconds since the epoch of an aware or naive-UTC datetime."""
    return moment.replace(tzinfo=moment.tzinfo or dt.UTC).timestamp()
