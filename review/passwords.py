"""Argon2id password hashing for local accounts."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class HashingCost:
    """Argon2id cost parameters. The defaults are argon2-cffi's (RFC 9106 low-memory profile)."""

    time_cost: int = 3
    memory_cost_kib: int = 65536
    parallelism: int = 4


def password_hasher(cost: HashingCost) -> PasswordHasher:
    """An Argon2id hasher with the given cost."""
    return PasswordHasher(
        time_cost=cost.time_cost, memory_cost=cost.memory_cost_kib, parallelism=cost.parallelism
    )


def hash_password(password: str, cost: HashingCost) -> str:
    """The Argon2id hash of ``password`` (encoded with its salt and parameters).

    Raises ValueError if the password is shorter than :data:`MIN_PASSWORD_LENGTH`.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"Passwords must have at least {MIN_PASSWORD_LENGTH} characters.")
    return password_hasher(cost).hash(password)


def verify_password(password_hash: str | None, password: str, cost: HashingCost) -> bool:
    """True if ``password`` matches ``password_hash``; False for a mismatch or an unusable hash."""
    if not password_hash:
        return False
    try:
        return password_hasher(cost).verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
