"""The review app's configuration, built once at the edge from the platform settings."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from review.authentication import ThrottlePolicy
from review.passwords import HashingCost
from review.triage import TRIAGE_ENV, TriageBands


class PlatformSettings(Protocol):
    """What the app reads of the platform's settings (``pipelines.settings.Settings``; the app does not
    import the wiring layer)."""

    @property
    def home(self) -> Path: ...
    @property
    def operational_db_url(self) -> str: ...
    @property
    def keystore_url(self) -> str: ...
    @property
    def deployment(self) -> str: ...
    @property
    def quarantine_dir(self) -> Path: ...
    @property
    def data_docs_dir(self) -> Path: ...


ANCHOR_KEY_ENV = "TIDLIG_AUDIT_ANCHOR_KEY"
LOGIN_RECORD_KEY_ENV = "TIDLIG_LOGIN_RECORD_KEY"
TOTP_KEY_ENV = "TIDLIG_TOTP_KEY"
FOUR_EYES_ENV = "TIDLIG_REVIEW_FOUR_EYES"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class OidcSettings:
    """An OpenID Connect provider (authorization code flow with PKCE, see :mod:`review.oidc`).

    ``role_claim`` and ``districts_claim`` name the ID-token (or userinfo) claims that carry the user's
    Tidlig role and districts; ``username_claim`` the login name.
    """

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str = "openid profile"
    username_claim: str = "preferred_username"
    role_claim: str = "tidlig_role"
    districts_claim: str = "tidlig_districts"
    label: str = "Log ind med kommunens login"


@dataclass(frozen=True)
class ReviewConfig:
    """Everything the app needs; nothing is read from the environment after this is built.

    ``secure_cookies`` marks cookies ``Secure`` (HTTPS only) and sends HSTS; ``None`` (the default) means
    "on unless the app is bound to a loopback address" (``bind_host``).
    """

    operational_db_url: str
    keystore_url: str
    deployment: str = "operational"
    secure_cookies: bool | None = None
    bind_host: str = "127.0.0.1"
    session_lifetime: dt.timedelta = dt.timedelta(hours=8)
    idle_timeout: dt.timedelta = dt.timedelta(minutes=30)
    max_sessions_per_user: int = 3
    reauthentication_window: dt.timedelta = dt.timedelta(minutes=5)
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    hashing: HashingCost = field(default_factory=HashingCost)
    max_concurrent_hashes: int = 2
    trusted_proxies: tuple[str, ...] = ()
    login_record_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    # seals TOTP secrets in the database (review.totp); kept outside it, like the other keys
    totp_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    anchor_path: Path | None = None
    anchor_key: bytes | None = field(default=None, repr=False)
    anchor_every: int = 1
    app_role: str | None = None
    migration_db_url: str | None = None
    four_eyes: bool = True
    require_totp: bool = False
    access_log_path: Path | None = None
    oidc: OidcSettings | None = None
    page_size: int = 50
    triage: TriageBands = field(default_factory=TriageBands)
    # Where the analyst pages find the rendered quarantine reports and the Data Docs (None: not shown).
    quarantine_dir: Path | None = None
    data_docs_dir: Path | None = None

    @property
    def cookies_secure(self) -> bool:
        """Whether cookies are ``Secure`` and HSTS is sent."""
        return self.secure_cookies if self.secure_cookies is not None else not is_loopback(self.bind_host)

    @classmethod
    def from_settings(cls, settings: PlatformSettings, **overrides: object) -> ReviewConfig:
        """Take the database URLs and deployment from a :class:`pipelines.settings.Settings`, and the
        app's keys from the environment or from 0600 key files under ``<home>/secrets``."""
        from privacy.files import secret_key

        home = Path(settings.home)
        values: dict[str, object] = {
            "operational_db_url": str(settings.operational_db_url),
            "keystore_url": str(settings.keystore_url),
            "deployment": str(settings.deployment),
            "anchor_path": anchor_path_of(home),
            "anchor_key": secret_key(home / "secrets" / "audit-anchor.key", os.environ.get(ANCHOR_KEY_ENV)),
            "login_record_key": secret_key(
                home / "secrets" / "login-records.key", os.environ.get(LOGIN_RECORD_KEY_ENV)
            ),
            "totp_key": secret_key(home / "secrets" / "totp.key", os.environ.get(TOTP_KEY_ENV)),
            "access_log_path": home / "logs" / "review-access.log",
            "four_eyes": four_eyes_from_environment(),
            "triage": TriageBands.parse(os.environ.get(TRIAGE_ENV, "")),
            "quarantine_dir": settings.quarantine_dir,
            "data_docs_dir": settings.data_docs_dir,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]


def anchor_path_of(home: Path) -> Path:
    """Where the audit anchors of a home are appended (override with ``TIDLIG_AUDIT_ANCHOR_FILE``)."""
    configured = os.environ.get("TIDLIG_AUDIT_ANCHOR_FILE")
    return Path(configured) if configured else home / "audit" / "anchors.jsonl"


def four_eyes_from_environment() -> bool:
    """Four-eyes approval is on unless ``TIDLIG_REVIEW_FOUR_EYES`` says ``off`` (or 0/false/no)."""
    return os.environ.get(FOUR_EYES_ENV, "on").strip().lower() not in ("off", "0", "false", "no")
