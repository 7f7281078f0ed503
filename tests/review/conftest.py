"""Fixtures for the review app tests: a published world on SQLite, and on PostgreSQL when reachable."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from review.app import create_app
from review.config import ReviewConfig
from review.database import create_operational_engine, upgrade_database
from tests.review.world import (
    ANCHOR_KEY,
    FAST_HASHING,
    FakeClock,
    add_role_users,
    all_person_keys,
    publish_world,
    sqlite_url,
    write_keystore,
)

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test session (dropped after), or None if unreachable."""
    base_url = os.environ.get("TIDLIG_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception:
        yield None
        return
    name = f"tidlig_review_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.make_url(base_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def operational_url(request: pytest.FixtureRequest, tmp_path, postgres_database) -> Iterator[str]:
    """An empty operational database: SQLite file, or a fresh schema in the session's PostgreSQL DB."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "operational.sqlite")
        return
    if postgres_database is None:
        pytest.skip("PostgreSQL is not reachable (set TIDLIG_TEST_POSTGRES_URL to run these variants)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres_database)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(postgres_database).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@dataclass
class ReviewWorld:
    """A running app over the published world, with its engine and clock."""

    client: TestClient
    engine: sa.Engine
    clock: FakeClock
    config: ReviewConfig

    def new_client(self) -> TestClient:
        return TestClient(self.client.app)

    @property
    def services(self):
        return self.client.app.state.services

    def reopen(self, **changes: object) -> ReviewWorld:
        """The same databases and clock behind a new app built with ``changes`` to the config."""
        from dataclasses import replace

        self.client.close()
        config = replace(self.config, **changes)
        app = create_app(config, clock=self.clock)
        return ReviewWorld(TestClient(app), self.engine, self.clock, config)


def world_config(operational_url: str, keystore_url: str, home: Path, deployment: str = "operational"):
    """The tests' app configuration: fast hashing, small pages, audit anchors under ``home``."""
    return ReviewConfig(
        operational_db_url=operational_url,
        keystore_url=keystore_url,
        deployment=deployment,
        hashing=FAST_HASHING,
        page_size=5,
        anchor_path=home / "audit" / "anchors.jsonl",
        anchor_key=ANCHOR_KEY,
        login_record_key=b"login-record-key-for-tests-only!",
        access_log_path=home / "logs" / "access.log",
    )


def open_world(
    operational_url: str, keystore_url: str, deployment: str = "operational", home: Path | None = None
) -> ReviewWorld:
    """The app over an operational DB that already holds the world."""
    clock = FakeClock()
    home = home or Path(sa.make_url(keystore_url).database).parent
    config = world_config(operational_url, keystore_url, home, deployment)
    app = create_app(config, clock=clock)
    return ReviewWorld(TestClient(app), create_operational_engine(operational_url), clock, config)


def build_world(operational_url: str, keystore_url: str, deployment: str = "operational") -> ReviewWorld:
    """Migrate, publish the world, add the users, and open the app."""
    engine = create_operational_engine(operational_url)
    upgrade_database(engine)
    publish_world(engine)
    add_role_users(engine, FakeClock()())
    engine.dispose()
    return open_world(operational_url, keystore_url, deployment)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite world and key store built once; SQLite tests start from copies of it."""
    folder = tmp_path_factory.mktemp("review-template")
    write_keystore(sqlite_url(folder / "keystore.sqlite"), all_person_keys())
    template = build_world(sqlite_url(folder / "operational.sqlite"), sqlite_url(folder / "keystore.sqlite"))
    close_world(template)
    return folder


def close_world(built: ReviewWorld) -> None:
    """Close the client and every engine (SQLite checkpoints its WAL when the last connection closes)."""
    built.client.close()
    built.client.app.state.services.engine.dispose()
    built.client.app.state.services.keystore.dispose()
    built.engine.dispose()


@pytest.fixture
def world(operational_url, tmp_path, sqlite_template) -> Iterator[ReviewWorld]:
    """The review app with two districts' lists, a key store and one user per role."""
    keystore_url = sqlite_url(tmp_path / "keystore.sqlite")
    if operational_url.startswith("sqlite"):
        shutil.copyfile(sqlite_template / "keystore.sqlite", tmp_path / "keystore.sqlite")
        shutil.copyfile(sqlite_template / "operational.sqlite", sa.make_url(operational_url).database)
        built = open_world(operational_url, keystore_url)
    else:
        write_keystore(keystore_url, all_person_keys())
        built = build_world(operational_url, keystore_url)
    yield built
    close_world(built)
