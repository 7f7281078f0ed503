"""TOTP second factor (RFC 6238, 30-second steps, 6 digits) for local accounts, through pyotp.

A code is accepted for the current step and one step either side (clock drift), and each step only once
per account (:func:`review.accounts.use_totp_step`), so an observed code cannot be replayed.
"""

from __future__ import annotations

import datetime as dt
import hmac

import pyotp

ISSUER = "Tidlig"


def new_secret() -> str:
    """A fresh base32 secret (160 bits)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (shown as text or a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def matching_step(secret: str, code: str, moment: dt.datetime) -> int | None:
    """The time step ``code`` belongs to (now, or one step before or after), or None if it matches none."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    for offset in (0, -1, 1):
        when = moment + dt.timedelta(seconds=offset * totp.interval)
        if hmac.compare_digest(totp.at(when), code):
            return totp.timecode(when)
    return None
