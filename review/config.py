"""The review app's configuration, built once at the edge from the platform settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from review.authentication import ThrottlePolicy
from review.passwords import HashingCost


@dataclass(frozen=True)
class ReviewConfig:
    """Everything the app needs; nothing is read from the environment after this is built.

    ``secure_cookies`` marks cookies ``Secure`` (HTTPS only): turn it on behind TLS; it is off by default
    so the app works on http://127.0.0.1.
    """

    operational_db_url: str
    keystore_url: str
    deployment: str = "operational"
    secure_cookies: bool = False
    session_lifetime: dt.timedelta = dt.timedelta(hours=8)
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    hashing: HashingCost = field(default_factory=HashingCost)
    page_size: int = 50

    @classmethod
    def from_settings(cls, settings: object, **overrides: object) -> ReviewConfig:
        """Take the database URLs and deployment from a :class:`pipelines.settings.Settings`."""
        values: dict[str, object] = {
            "operational_db_url": str(settings.operational_db_url),  # type: ignore[attr-defined]
            "keystore_url": str(settings.keystore_url),  # type: ignore[attr-defined]
            "deployment": str(settings.deployment),  # type: ignore[attr-defined]
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]
