"""Keyed pseudonyms: the CPR number leaves the platform at its front door.

``person_key = HMAC-SHA256(key, CPR without dash).hexdigest()[:32]`` (docs/interfaces.md section 6). A plain
hash would be reversible by enumerating the ~3.7e8 possible CPR numbers; a keyed one is not without the key.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
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


def pseudonymise_cpr(cpr: pd.Series, key: str, cache: dict[str, str] | None = None) -> pd.Series:
    """Pseudonymise a Series of CPR numbers with ``key``; missing values stay missing.

    Each distinct CPR is hashed once, so a column of millions of rows over a few thousand people is fast.
    ``cache`` (CPR -> pseudonym under this same ``key``, filled here) carries the hashes from one call to
    the next, e.g. over the sources and groups of one ingest run, where the same persons recur. The input
    is not modified; the result has the same index and a string dtype.
    """
    if not key:
        raise ValueError("An empty pseudonymisation key is not allowed; configure TIDLIG_PSEUDONYM_KEY.")
    codes, uniques = pd.factorize(cpr, use_na_sentinel=True)
    if cache is None:
        hashed = [pseudonymise_one(str(value), key) for value in uniques]
    else:
        hashed = []
        for value in uniques:
            text = str(value)
            known = cache.get(text)
            if known is None:
                known = cache[text] = pseudonymise_one(text, key)
            hashed.append(known)
    lookup = pd.array([*hashed, pd.NA], dtype="string")
    return pd.Series(lookup[codes], index=cpr.index, dtype="string", name=cpr.name)


def cpr_is_well_formed(cpr: pd.Series) -> pd.Series:
    """True where the value is a 10-digit CPR number (an optional dash after the birth date).

    The modulus-11 check is deliberately not applied: numbers issued since 2007 need not pass it.
    """
    return cpr.astype("string").str.fullmatch(r"\d{6}-?\d{4}").fillna(False).astype(bool)


def _cpr_digits(cpr: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(is 10 digits after removing a dash, digits as an (n, 10) int array; zeros where not 10 digits)."""
    text = cpr.astype("string").str.replace("-", "", regex=False).fillna("")
    ten = text.str.fullmatch(r"\d{10}").fillna(False).to_numpy(dtype=bool)
    fixed = np.where(ten, text.to_numpy(dtype=object), "0000000000").astype("S10")
    digits = fixed.view(np.uint8).reshape(-1, 10).astype(np.int64) - 48
    return ten, digits


def cpr_date_and_mod11(cpr: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(date part is a real date, passes modulus-11) per value, in one pass over the digits."""
    ten, digits = _cpr_digits(cpr)
    day, month, year = _day_month_year(digits)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    length = month_days[np.clip(month, 0, 12)] + ((month == 2) & leap)
    real = ten & (month >= 1) & (month <= 12) & (day >= 1) & (day <= length)
    return real, ten & (digits @ _WEIGHTS % 11 == 0)


def _day_month_year(digits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day, month and four-digit year (7th-digit century rule) from the digits of CPR numbers."""
    day = digits[:, 0] * 10 + digits[:, 1]
    month = digits[:, 2] * 10 + digits[:, 3]
    year = digits[:, 4] * 10 + digits[:, 5]
    seventh = digits[:, 6]
    century = np.select(
        [seventh <= 3, (seventh == 4) | (seventh == 9)],
        [1900, np.where(year <= 36, 2000, 1900)],
        np.where(year <= 57, 2000, 1800),
    )
    return day, month, century + year


def _real_dates(ten: np.ndarray, digits: np.ndarray) -> pd.Series:
    day, month, year = _day_month_year(digits)
    dates = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}), errors="coerce")
    return dates.where(ten)


def cpr_birth_dates(cpr: pd.Series) -> pd.Series:
    """The birth date a 10-digit CPR number gives under the 7th-digit century rule; NaT where the date
    part is not a real date (or the value is not 10 digits).

    7th digit 0-3: 1900s; 4 or 9: 2000s if YY <= 36, else 1900s; 5-8: 2000s if YY <= 57, else 1800s
    (/work/shared/docs/danish-sources.md).
    """
    ten, digits = _cpr_digits(cpr)
    return pd.Series(_real_dates(ten, digits).to_numpy(), index=cpr.index)


def cpr_passes_mod11(cpr: pd.Series) -> pd.Series:
    """True where a 10-digit CPR number passes the old modulus-11 check (informational only: numbers
    issued since 2007 need not pass it, so failing it is never a reason to refuse)."""
    ten, digits = _cpr_digits(cpr)
    return pd.Series(ten & (digits @ _WEIGHTS % 11 == 0), index=cpr.index)


_WEIGHTS = np.array([4, 3, 2, 7, 6, 5, 4, 3, 2, 1], dtype=np.int64)  # the modulus-11 weights
