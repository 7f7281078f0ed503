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
