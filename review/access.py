"""Roles, permissions and scope: deny by default.

A permission is granted only if the role's entry in :data:`ROLE_PERMISSIONS` names it. Scope is separate:
a clinician may only touch lists whose district is one of the user's districts (:meth:`Principal.covers`).
Identities (CPR, name) are shown only to clinical roles, for their own districts, in an operational
deployment (:func:`may_see_identities`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["nurse", "gp", "coordinator", "analyst", "admin"]
ROLES: tuple[Role, ...] = ("nurse", "gp", "coordinator", "analyst", "admin")
CLINICAL_ROLES: frozenset[str] = frozenset({"nurse", "gp", "coordinator"})

Permission = Literal[
    "lists:read",
    "citizens:read",
    "decisions:write",
    "lists:export",
    "assignments:write",
    "aggregates:read",
    "admin:audit",
    "admin:users",
    "security:read",
]

_CLINICAL: frozenset[str] = frozenset({"lists:read", "citizens:read", "decisions:write", "lists:export"})
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "nurse": _CLINICAL,
    "gp": _CLINICAL,
    "coordinator": _CLINICAL | {"assignments:write"},
    "analyst": frozenset({"aggregates:read", "security:read"}),
    "admin": frozenset({"admin:audit", "admin:users", "security:read"}),
}


@dataclass(frozen=True)
class Principal:
    """The logged-in user as the app sees them on one request."""

    user_id: int
    username: str
    role: str
    districts: frozenset[str]

    def can(self, permission: str) -> bool:
        """True only if the role explicitly grants ``permission`` (unknown roles get nothing)."""
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())

    def covers(self, district: str) -> bool:
        """True if ``district`` is one of the user's own districts."""
        return district in self.districts

    @property
    def unit(self) -> str:
        """The organisational unit recorded in the audit log: the user's districts."""
        return ",".join(sorted(self.districts))


def may_see_identities(principal: Principal, district: str, deployment: str) -> bool:
    """CPR and name are shown only to clinical roles, in their own district, in an operational deployment."""
    return deployment == "operational" and principal.role in CLINICAL_ROLES and principal.covers(district)
