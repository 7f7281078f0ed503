"""Finding 2, PostgreSQL: the app runs as a role that may only read and insert the audit log, while
migrations run as the owner role (`tidlig audit grant-app-role`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from review.app import create_app
from review.audit import missing_protections
from review.database import app_role_grants, create_operational_engine
from tests.review.world import LIST_A, login


@pytest.fixture
def app_role(world) -> Iterator[tuple[str, str]]:
    """A fresh login role with the app's grants, and the operational URL that connects as it."""
    if world.engine.dialect.name != "postgresql":
        pytest.skip("roles are a PostgreSQL feature")
    role = f"tidlig_app_{uuid.uuid4().hex[:8]}"
    with world.engine.begin() as connection:
        connection.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        for statement in app_role_grants(world.engine, role):
            connection.execute(sa.text(statement))
    url = sa.make_url(world.config.operational_db_url).set(username=role)
    yield role, url.render_as_string(hide_password=False)
    with world.engine.begin() as connection:
        connection.execute(sa.text(f'DROP OWNED BY "{role}"'))
        connection.execute(sa.text(f'DROP ROLE "{role}"'))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE review_audit_log SET username = 'x'",
        "DELETE FROM review_audit_log",
        "TRUNCATE review_audit_log",
        "DROP TRIGGER review_audit_log_no_change ON review_audit_log",
        "ALTER TABLE review_audit_log DISABLE TRIGGER review_audit_log_no_change",
        "DROP TABLE review_audit_log",
    ],
)
def test_the_app_role_cannot_change_the_audit_log(world, app_role, statement):
    _role, url = app_role
    engine = create_operational_engine(url)
    with (
        pytest.raises(sa.exc.ProgrammingError, match=r"permission denied|must be owner"),
        engine.begin() as connection,
    ):
        connection.execute(sa.text(statement))
    engine.dispose()


def test_the_app_runs_as_the_app_role_and_migrates_as_the_owner(world, app_role):
    role, url = app_role
    config = replace(
        world.config, operational_db_url=url, migration_db_url=world.config.operational_db_url, app_role=role
    )
    client = TestClient(create_app(config, clock=world.clock))
    assert login(client, "nurse_a").status_code == 303
    assert client.get(f"/lists/{LIST_A}").status_code == 200
    services = client.app.state.services
    with services.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT current_user")).scalar_one() == role
    report = services.audit.verify()
    assert report.ok, report.problem
    assert report.rows == 2
    client.close()
    services.engine.dispose()


def test_verify_reports_an_app_role_that_may_change_the_audit_log(world, app_role):
    role, _url = app_role
    assert missing_protections(world.engine, role) == []
    with world.engine.begin() as connection:
        connection.execute(sa.text(f'GRANT UPDATE, TRUNCATE ON review_audit_log TO "{role}"'))
    assert missing_protections(world.engine, role) == [
        f"the app role {role} may UPDATE the audit table",
        f"the app role {role} may TRUNCATE the audit table",
    ]
