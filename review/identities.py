"""Re-identification for pages that may show it (callers check :func:`review.access.may_see_identities`).

Reads the key store table defined by ``screening.store`` (``keystore(person_key, key_version, cpr, name)``)
through one long-lived engine. A deployment whose key store also holds contact details adds any of the
columns in :data:`CONTACT_COLUMNS` (phone, address, the citizen's own GP and the practice's phone); the
citizen page shows each only when present. When a pseudonym has several key versions the latest wins. This
is the only code that re-identifies (docs/decisions.md D95). A missing key store degrades to showing
pseudonyms, never to an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from screening.store import keystore

_CHUNK = 500


CONTACT_COLUMNS: tuple[str, ...] = ("phone", "address", "gp_name", "gp_phone")


@dataclass(frozen=True)
class Identity:
    """What a clinician needs to find and reach the citizen: CPR (``DDMMYY-SSSS``), name, and contact
    details and own GP where the deployment's key store provides them (None otherwise)."""

    cpr: str
    name: str
    phone: str | None = None
    address: str | None = None
    gp_name: str | None = None
    gp_phone: str | None = None

    @property
    def has_contact(self) -> bool:
        return any((self.phone, self.address, self.gp_name, self.gp_phone))


def format_cpr(cpr: str) -> str:
    """``0101401234`` -> ``010140-1234`` (other shapes are returned unchanged)."""
    digits = cpr.replace("-", "")
    return f"{digits[:6]}-{digits[6:]}" if len(digits) == 10 and digits.isdigit() else cpr


class KeyStore:
    """Read-only access to the key store at ``url``."""

    def __init__(self, url: str) -> None:
        self._engine = sa.create_engine(url)
        self._available: bool | None = None
        self._contact_columns: tuple[str, ...] | None = None

    def _is_available(self) -> bool:
        if not self._available:  # re-check until it exists (ingest may create it later)
            try:
                self._available = sa.inspect(self._engine).has_table(keystore.name)
            except sa.exc.SQLAlchemyError:
                self._available = False
        return bool(self._available)

    def _contacts(self) -> tuple[str, ...]:
        """The optional contact columns this key store has (looked up once)."""
        if self._contact_columns is None:
            present = {column["name"] for column in sa.inspect(self._engine).get_columns(keystore.name)}
            self._contact_columns = tuple(name for name in CONTACT_COLUMNS if name in present)
        return self._contact_columns

    def identities(self, person_keys: Iterable[str]) -> dict[str, Identity] | None:
        """``person_key -> Identity`` for the keys found; None when the key store is unavailable."""
        keys = sorted(set(person_keys))
        if not self._is_available():
            return None
        found: dict[str, tuple[str, Identity]] = {}
        try:
            contacts = self._contacts()
            extra = [sa.column(name) for name in contacts]
            with self._engine.connect() as connection:
                for start in range(0, len(keys), _CHUNK):
                    query = sa.select(*keystore.c, *extra).where(
                        keystore.c.person_key.in_(keys[start : start + _CHUNK])
                    )
                    for row in connection.execute(query).mappings():
                        known = found.get(row["person_key"])
                        if known is None or row["key_version"] > known[0]:
                            details = {name: (str(row[name]) if row[name] else None) for name in contacts}
                            identity = Identity(format_cpr(str(row["cpr"])), row["name"] or "", **details)
                            found[row["person_key"]] = (row["key_version"], identity)
        except sa.exc.SQLAlchemyError:
            return None
        return {key: identity for key, (_version, identity) in found.items()}

    def person_keys_for_cpr(self, cpr: str) -> list[str]:
        """The pseudonyms (all key versions) of one CPR number, for the admin's "who looked at me" search."""
        digits = cpr.replace("-", "").strip()
        if len(digits) != 10 or not digits.isdigit() or not self._is_available():
            return []
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(keystore.c.person_key).where(keystore.c.cpr == digits))
            return sorted({row.person_key for row in rows})

    def dispose(self) -> None:
        """Close the engine's connections."""
        self._engine.dispose()
