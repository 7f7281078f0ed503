"""TOTP second factor (RFC 6238, 30-second steps, 6 digits) for local accounts, through pyotp.

A code is accepted for the current step and one step either side (clock drift), and each step only once
per account (:func:`review.accounts.use_totp_step`), so an observed code cannot be replayed. Secrets are
stored sealed (see "secrets at rest" below), never in clear.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import os

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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


# ----- secrets at rest -----------------------------------------------------------------------------------
#
# A TOTP secret is as good as a password's second half, and anyone who can read the database (a backup, a
# replica, a support dump) could otherwise mint codes; anyone who can write it could plant a secret they
# know. So the column holds only a sealed form: AES-256-GCM (the ``cryptography`` package) with a key
# derived by HKDF from the TOTP key kept outside the database (``<home>/secrets/totp.key`` or
# ``TIDLIG_TOTP_KEY``), and the account's ``user_id`` and the column as associated data, so a sealed value
# copied to another account, or a pending secret moved into the active column, does not open
# (docs/decisions.md D103). A value that does not open is treated as "no valid second factor": the login
# fails, it never falls back to a password alone.

SEALED_PREFIX = "v1:"
ACTIVE = "active"
PENDING = "pending"


class SealedSecretError(ValueError):
    """A stored TOTP secret is not sealed with this installation's key (or was tampered with)."""


def _cipher(key: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tidlig review totp v1").derive(key)
    return AESGCM(derived)


def _associated_data(user_id: int, slot: str) -> bytes:
    return f"review_users:{user_id}:totp:{slot}".encode("ascii")


def seal_secret(key: bytes, user_id: int, secret: str, slot: str = ACTIVE) -> str:
    """The sealed form of ``secret`` for the account ``user_id`` (``slot``: active or pending)."""
    nonce = os.urandom(12)
    sealed = _cipher(key).encrypt(nonce, secret.encode("ascii"), _associated_data(user_id, slot))
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_secret(key: bytes, user_id: int, stored: str, slot: str = ACTIVE) -> str:
    """The secret sealed in ``stored``; :class:`SealedSecretError` for a clear, foreign or altered value."""
    if not stored.startswith(SEALED_PREFIX):
        raise SealedSecretError("The stored TOTP secret is not sealed.")
    try:
        raw = base64.urlsafe_b64decode(stored[len(SEALED_PREFIX) :].encode("ascii"))
        clear = _cipher(key).decrypt(raw[:12], raw[12:], _associated_data(user_id, slot))
    except (InvalidTag, ValueError) as error:
        raise SealedSecretError("The stored TOTP secret does not open with this key.") from error
    return clear.decode("ascii")


def is_sealed(stored: str | None) -> bool:
    """Whether a stored value has the sealed form (says nothing about whether it opens)."""
    return stored is not None and stored.startswith(SEALED_PREFIX)
