"""Keyed pseudonyms: the CPR number leaves the platform at its front door.

``person_key = HMAC-SHA256(key, CPR without dash).hexdigest()[:32]`` (docs/interfaces.md section 6). A plain
hash would be reversible by enumerating the ~3.7e8 possible CPR numbers; a keyed one is not without the key.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

PSEUDONYM_LENGTH = 32
CPR_PATTERN = r"^\d{6}-?\d{4}$"
MIN_KEY_BYTES = 32
# What the fingerprint is computed over: a fixed label, so the fingerprint says nothing about any CPR.
FINGERPRINT_LABEL = b"tidlig/pseudonym-key-fingerprint/v1"


class PseudonymKeyError(ValueError):
    """A pseudonymisation key that must not be used (too short, or the public demo key on real data)."""


def check_pseudonym_key(key: str, *, demo: bool, demo_key: str) -> None:
    """Refuse a key shorter than ``MIN_KEY_BYTES`` bytes, and the public demo key outside ``--demo``.

    The message names the rule and what to do, never the key.
    """
    if len(key.encode()) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"The pseudonymisation key is {len(key.encode())} bytes long; at least {MIN_KEY_BYTES} bytes "
            "are required (a short key can be guessed, and every pseudonym with it). Generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, keep it in a secret store and "
            "set TIDLIG_PSEUDONYM_KEY."
        )
    if key == demo_key and not demo:
        raise PseudonymKeyError(
            "The configured pseudonymisation key is the public demo key, which anyone can read in the "
            "source code; it is only allowed with --demo on synthetic data. Set TIDLIG_PSEUDONYM_KEY to a "
            "secret key of your own."
        )


def key_fingerprint(key: str) -> str:
    """A short, non-reversible identifier of a key: HMAC-SHA256(key, fixed label), first 20 hex digits.

    Stored with the warehouse so that ingesting with a different key is noticed; it reveals nothing about
    the key or any pseudonym.
    """
    return hmac.new(key.encode(), FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:20]


def pseudonymise_one(cpr: str, key: str) -> str:
    """The pseudonym of one CPR number (dash removed first)."""
    normalised = cpr.replace("-", "")
    return hmac.new(key.encode(), normalised.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]


def pseudonymise_cpr(cpr: pd.Series, key: str) -> pd.Series:
    """Pseudonymise a Series of CPR numbers with ``key``; missing values stay missing.

    Each distinct CPR is hashed once, so a column of millions of rows over a few thousand people is fast.
    The input is not modified; the result has the same index and a string dtype.
    """
    if not key:
        raise ValueError("An empty pseudonymisation key is not allowed; configure TIDLIG_PSEUDONYM_KEY.")
    codes, uniques = pd.factorize(cpr, use_na_sentinel=True)
    hashed = [pseudonymise_one(str(value), key) for value in uniques]
    lookup = pd.array([*hashed, pd.NA], dtype="string")
    return pd.Series(lookup[codes], index=cpr.index, dtype="string", name=cpr.name)


def cpr_is_well_formed(cpr: pd.Series) -> pd.Series:
    """True where the value is a 10-digit CPR number (an optional dash after the birth date).

    The modulus-11 check is deliberately not applied: numbers issued since 2007 need not pass it.
    """
    return cpr.astype("string").str.fullmatch(r"\d{6}-?\d{4}").fillna(False).astype(bool)
