"""Argon2id password hashing for local accounts, and a strength check with zxcvbn (not just length)."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12
MIN_STRENGTH_SCORE = 4  # zxcvbn's 0-4 scale: 4 means at least 10^10 guesses (resists offline guessing)
# Words zxcvbn's English lists lack but people here use in passwords; they count as easy to guess.
LOCAL_WORDS = (
    "tidlig", "kodeord", "adgangskode", "password", "sommer", "vinter", "foraar", "efteraar",
    "januar", "februar", "kommune", "region", "sygeplejerske", "hjemmepleje", "danmark", "kobenhavn",
)  # fmt: skip


class WeakPasswordError(ValueError):
    """The password is too short or too easy to guess; the message says why and what to do."""


def check_password_strength(password: str, user_inputs: tuple[str, ...] = ()) -> None:
    """Raise :class:`WeakPasswordError` unless ``password`` has at least :data:`MIN_PASSWORD_LENGTH`
    characters and zxcvbn scores it at least :data:`MIN_STRENGTH_SCORE` (with the username and local words
    counted as guessable)."""
    from zxcvbn import zxcvbn

    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"Passwords must have at least {MIN_PASSWORD_LENGTH} characters.")
    result = zxcvbn(password[:256], user_inputs=[*user_inputs, *LOCAL_WORDS])
    if result["score"] < MIN_STRENGTH_SCORE:
        feedback = result["feedback"]
        hint = " ".join([feedback.get("warning") or "", *feedback.get("suggestions", [])]).strip()
        raise WeakPasswordError(
            "This password is too easy to guess. " + (hint or "Use a few uncommon words together.")
        )


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


def hash_password(password: str, cost: HashingCost, user_inputs: tuple[str, ...] = ()) -> str:
    """The Argon2id hash of ``password`` (encoded with its salt and parameters).

    Raises :class:`WeakPasswordError` (a ValueError) if the password fails :func:`check_password_strength`.
    """
    check_password_strength(password, user_inputs)
    return password_hasher(cost).hash(password)


def verify_password(password_hash: str | None, password: str, cost: HashingCost) -> bool:
    """True if ``password`` matches ``password_hash``; False for a mismatch or an unusable hash."""
    if not password_hash:
        return False
    try:
        return password_hasher(cost).verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
