"""Re-identification for pages that may show it (callers check :func:`review.access.may_see_identities`).

Reads the key store through ``screening.store.read_identities``; a missing key store degrades to showing
pseudonyms, never to an error page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from screening.store import KeyStoreUnavailableError, keystore, read_identities


@dataclass(frozen=True)
class Identity:
    """What a clinician needs to find the citizen: CPR (``DDMMYY-SSSS``) and name."""

    cpr: str
    name: str


def format_cpr(cpr: str) -> str:
    """``0101401234`` -> ``010140-1234`` (other shapes are returned unchanged)."""
    digits = cpr.replace("-", "")
    return f"{digits[:6]}-{digits[6:]}" if len(digits) == 10 and digits.isdigit() else cpr


def identities_for(keystore_url: str, person_keys: Iterable[str]) -> dict[str, Identity] | None:
    """``person_key -> Identity`` for the keys found; None when the key store is unavailable."""
    keys = list(person_keys)
    if not keys:
        return {}
    try:
        frame = read_identities(keystore_url, keys)
    except (KeyStoreUnavailableError, sa.exc.SQLAlchemyError):
        return None
    return {
        row.person_key: Identity(format_cpr(str(row.cpr)), "" if row.name is None else str(row.name))
        for row in frame.itertuples(index=False)
    }


def person_keys_for_cpr(keystore_url: str, cpr: str) -> list[str]:
    """The pseudonyms (all key versions) of one CPR number, for the admin's "who looked at me" search."""
    digits = cpr.replace("-", "").strip()
    if len(digits) != 10 or not digits.isdigit():
        return []
    engine = sa.create_engine(keystore_url)
    try:
        if not sa.inspect(engine).has_table(keystore.name):
            return []
        with engine.connect() as connection:
            rows = connection.execute(sa.select(keystore.c.person_key).where(keystore.c.cpr == digits))
            return sorted({row.person_key for row in rows})
    finally:
        engine.dispose()
