"""A small synthetic review world: two districts' lists, facts, a key store and one user per role.

Everything is invented: pseudonyms are ``pk-<district>-<n>``, CPR numbers are made-up digits, names are
placeholders.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from review.accounts import create_account
from review.passwords import HashingCost, hash_password
from screening.store import (
    ListToPublish,
    create_schema,
    keystore,
    keystore_metadata,
    publish_lists,
)

DISTRICT_A = "101-01"
DISTRICT_B = "101-02"
PASSWORD = "correct horse battery"
FAST_HASHING = HashingCost(time_cost=1, memory_cost_kib=8, parallelism=1)
ANCHOR_KEY = bytes(range(32))  # the tests' audit-anchor key (never stored in the database)
ROLE_USERS = {
    "nurse_a": ("nurse", [DISTRICT_A]),
    "nurse_b": ("nurse", [DISTRICT_B]),
    "gp_a": ("gp", [DISTRICT_A]),
    "coord_a": ("coordinator", [DISTRICT_A]),
    "analyst": ("analyst", [DISTRICT_A, DISTRICT_B]),
    "admin": ("admin", []),
}
LIST_A = "list-a-2024-01"
LIST_A_OLD = "list-a-2023-10"
LIST_B = "list-b-2024-01"
SHARED_PERSON = "pk-shared-0"  # on district B's list now, on district A's old list before moving


@dataclass
class FakeClock:
    """A controllable UTC clock."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime(2024, 1, 15, 9, 0, tzinfo=dt.UTC))

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


def person_key(district: str, number: int) -> str:
    return f"pk-{district}-{number:04d}"


def cpr_of(key: str) -> str:
    digits = "".join(ch for ch in key if ch.isdigit())
    return ("0101" + digits[-6:]).ljust(10, "7")


def entry(rank: int, key: str, risk: float, *, flags: list[str] | None = None) -> dict:
    return {
        "rank": rank,
        "person_key": key,
        "risk": risk,
        "risk_previous": risk - 0.05 if rank % 2 else None,
        "risk_change": 0.05 if rank % 2 else None,
        "new_on_list": rank % 2 == 0,
        "flags": flags if flags is not None else (["age_75"] if rank % 3 == 0 else []),
        "reasons_da": [f"Akutte indlæggelser seneste år: {rank % 3 + 1}", "Stigende hjemmepleje"],
        "reasons_en": [f"Acute admissions last year: {rank % 3 + 1}", "Rising home care"],
        "suggested_action_da": "Tilbyd forebyggende besøg",
        "suggested_action_en": "Offer a preventive visit",
        "outcome": "admission",
    }


def facts(key: str) -> dict:
    return {
        "person_key": key,
        "facts": {
            "admissions": [
                {"start": "2023-11-02", "end": "2023-11-06", "diagnosis": "DI500", "acute": True},
                {"start": "2023-06-10", "end": "2023-06-11", "diagnosis": "DN390", "acute": True},
            ],
            "home_care": [
                {
                    "month": f"2023-{month:02d}-01",
                    "personal_care_delivered": 60 + 10 * month,
                    "practical_help_delivered": 30,
                }
                for month in range(7, 13)
            ],
            "fsiii": [
                {"code": "J1.1", "score": 2, "assessed_date": "2023-09-01"},
                {"code": "J3.2", "score": 3, "assessed_date": "2023-09-01"},
            ],
            "medicines_count": 9,
            "medicines_atc_90d": ["C03CA01", "N02BE01", "X99XX99"],
            "falls": [{"date": "2023-12-01", "injury": True}],
            "weights": [{"date": "2023-08-01", "kg": 64.0}, {"date": "2023-12-01", "kg": 59.5}],
        },
    }


def header(list_id: str, district: str, as_of: dt.date) -> dict:
    return {
        "list_id": list_id,
        "district": district,
        "municipality": "101",
        "as_of_date": as_of,
        "model_versions": {"admission": "3"},
        "feature_set_version": "abc123def456",
        "data_batches": ["b1"],
        "run_id": f"run-{as_of}",
        "capacity": 20,
    }


def publish_world(engine: sa.Engine, entries_per_list: int = 12) -> None:
    """Publish district A's old and current list and district B's current list."""
    create_schema(engine)
    keys_a = [person_key(DISTRICT_A, n) for n in range(entries_per_list)]
    keys_b = [SHARED_PERSON] + [person_key(DISTRICT_B, n) for n in range(1, 6)]
    old_a = [*keys_a[:4], SHARED_PERSON]
    publish_lists(
        engine,
        [
            ListToPublish(
                header(LIST_A_OLD, DISTRICT_A, dt.date(2023, 10, 1)),
                [entry(i + 1, key, 0.3 - i * 0.01) for i, key in enumerate(old_a)],
                [facts(key) for key in old_a],
            )
        ],
        created_at=dt.datetime(2023, 10, 1, tzinfo=dt.UTC),
    )
    publish_lists(
        engine,
        [
            ListToPublish(
                header(LIST_A, DISTRICT_A, dt.date(2024, 1, 1)),
                [entry(i + 1, key, 0.5 - i * 0.01) for i, key in enumerate(keys_a)],
                [facts(key) for key in keys_a],
            ),
            ListToPublish(
                header(LIST_B, DISTRICT_B, dt.date(2024, 1, 1)),
                [entry(i + 1, key, 0.4 - i * 0.01) for i, key in enumerate(keys_b)],
                [facts(key) for key in keys_b],
            ),
        ],
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )


def write_keystore(url: str, person_keys: list[str]) -> None:
    engine = sa.create_engine(url)
    keystore_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(keystore),
            [
                {"person_key": key, "key_version": "demo-1", "cpr": cpr_of(key), "name": f"Borger {key[-4:]}"}
                for key in person_keys
            ],
        )
    engine.dispose()


def all_person_keys(entries_per_list: int = 12) -> list[str]:
    keys = [person_key(DISTRICT_A, n) for n in range(entries_per_list)]
    return keys + [SHARED_PERSON] + [person_key(DISTRICT_B, n) for n in range(1, 6)]


def add_role_users(engine: sa.Engine, created_at: dt.datetime) -> None:
    password_hash = hash_password(PASSWORD, FAST_HASHING)
    for username, (role, districts) in ROLE_USERS.items():
        create_account(
            engine,
            username=username,
            role=role,
            districts=districts,
            password_hash=password_hash,
            created_at=created_at,
        )


_HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _HIDDEN_CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> object:
    """Log in through the form like a browser; returns the POST response (not followed)."""
    form = client.get("/login")
    token = csrf_from(form.text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"
