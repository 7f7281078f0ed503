"""Finding 3 (the app's part): the identified CSV and the printable list exist only inside the app, since
the scoring run writes aggregates only (docs/decisions.md D95). Each export is scoped to the user's
districts (another district's list answers exactly like a missing one), needs a role that may export, and
writes its audit row, naming every exported person, before anything is sent. Re-authentication before an
identified export: tests/review/test_sessions.py."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from review.tables import audit_log, security_events
from tests.review.world import DISTRICT_A, LIST_A, cpr_of, login, person_key

EXPORTS = ("export.csv", "print")
LISTED_A = sorted(person_key(DISTRICT_A, number) for number in range(12))


def audit_rows(world, action: str) -> list[dict]:
    with world.engine.connect() as connection:
        query = sa.select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.seq)
        return [dict(row) for row in connection.execute(query).mappings()]


def denials(world) -> list[dict]:
    with world.engine.connect() as connection:
        return [dict(row) for row in connection.execute(sa.select(security_events)).mappings()]


@pytest.mark.parametrize("export", EXPORTS)
def test_an_export_of_another_districts_list_answers_like_a_missing_list_and_exports_nothing(world, export):
    login(world.client, "nurse_b")
    foreign = world.client.get(f"/lists/{LIST_A}/{export}")
    missing = world.client.get(f"/lists/no-such-list/{export}")
    assert (foreign.status_code, missing.status_code) == (404, 404)
    assert foreign.text == missing.text
    assert cpr_of(LISTED_A[0])[:6] not in foreign.text
    assert audit_rows(world, "export") == []
    assert [event["route"] for event in denials(world)] == [f"/lists/{{list_id}}/{export}"] * 2


@pytest.mark.parametrize("role_user", ["analyst", "admin"])
@pytest.mark.parametrize("export", EXPORTS)
def test_roles_that_may_not_export_get_nothing(world, role_user, export):
    login(world.client, role_user)
    response = world.client.get(f"/lists/{LIST_A}/{export}")
    assert response.status_code in (403, 404)
    assert "Borger 0" not in response.text
    assert audit_rows(world, "export") == []


@pytest.mark.parametrize("export", EXPORTS)
def test_an_identified_export_is_audited_with_every_exported_person_and_its_format(world, export):
    login(world.client, "nurse_a")
    response = world.client.get(f"/lists/{LIST_A}/{export}")
    assert response.status_code == 200
    assert cpr_of(LISTED_A[0])[:6] in response.text  # identified: CPR numbers and names
    [row] = audit_rows(world, "export")
    assert (row["username"], row["list_id"]) == ("nurse_a", LIST_A)
    assert sorted(json.loads(row["person_keys"])) == LISTED_A
    assert json.loads(row["detail"])["format"] == {"export.csv": "csv", "print": "print"}[export]


@pytest.mark.parametrize("export", EXPORTS)
def test_no_export_leaves_the_app_when_its_audit_row_cannot_be_written(world, export):
    login(world.client, "nurse_a")
    with world.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE review_audit_log"))
    response = world.client.get(f"/lists/{LIST_A}/{export}")
    assert response.status_code == 503
    assert cpr_of(LISTED_A[0])[:6] not in response.text
    assert "Borger 0" not in response.text
