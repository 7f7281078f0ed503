"""The signed-in user's own two-step sign-in page: set up a TOTP authenticator app.

``GET /account/totp`` creates a fresh secret, stores it sealed as the account's *pending* factor and shows
it once, as an ``otpauth://`` link and as the key to type by hand; a reload shows a new one and the old
one is gone. ``POST /account/totp`` with a code from the app makes it the account's factor (audited as
``account_totp_enrolled`` by the user); until then sign-in is unchanged. An account that already has a
factor sees that, not a new secret (an admin resets it with `tidlig users totp`); accounts that sign in
through the municipality's OpenID Connect provider use its second factor instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from review.access import Principal
from review.accounts import confirm_totp_enrolment, find_account, start_totp_enrolment
from review.administration import ACCOUNT_PURPOSE
from review.audit import AuditEvent
from review.totp import ISSUER, provisioning_uri
from review.web_security import Require, render, services

router = APIRouter()
PAGE = "/account/totp"


def _grouped(secret: str) -> str:
    """The key in groups of four, as authenticator apps show it when typed by hand."""
    return " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))


@router.get(PAGE)
def totp_page(request: Request, principal: Annotated[Principal, Depends(Require(None))]) -> Response:
    """The set-up page (see the module docstring)."""
    app = services(request)
    account = find_account(app.engine, user_id=principal.user_id)
    assert account is not None  # Require resolved it a moment ago
    state = request.query_params.get("state")
    if account.auth_provider != "local" or account.has_totp:
        return render(
            request,
            "account_totp.html",
            mode="external" if account.auth_provider != "local" else "active",
            just_enrolled=state == "enrolled",
        )
    secret = start_totp_enrolment(app.engine, account.user_id, app.config.totp_key)
    return render(
        request,
        "account_totp.html",
        mode="enrol",
        uri=provisioning_uri(secret, account.username),
        manual_key=_grouped(secret),
        issuer=ISSUER,
        username=account.username,
        wrong_code=state == "wrong_code",
    )


@router.post(PAGE)
def confirm_totp(
    *,
    request: Request,
    principal: Annotated[Principal, Depends(Require(None))],
    otp: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Activate the pending secret with a current code from the app; a wrong code starts over."""
    app = services(request)
    if not confirm_totp_enrolment(app.engine, principal.user_id, app.config.totp_key, otp, app.clock()):
        return RedirectResponse(f"{PAGE}?state=wrong_code", status_code=303)
    app.audit.append(
        AuditEvent(
            principal.username,
            principal.role,
            principal.unit,
            "account_totp_enrolled",
            ACCOUNT_PURPOSE,
            detail={"account": principal.username, "by": "self"},
        )
    )
    return RedirectResponse(f"{PAGE}?state=enrolled", status_code=303)
