"""Finding 6: probing leaves a trace. Denied requests and failed authorisations are recorded (who, route,
session, client; never person data), every request is in the access log, view rows name their session and
client, and the admin and the analyst can list the events."""

from __future__ import annotations

import json

import sqlalchemy as sa

from review.sessions import session_reference
from review.tables import audit_log, security_events
from tests.review.world import LIST_A, LIST_B, csrf_from, login, person_key

CITIZEN_A = person_key("101-01", 0)


def events(world) -> list[dict]:
    with world.engine.connect() as connection:
        query = sa.select(security_events).order_by(security_events.c.event_id)
        return [dict(row) for row in connection.execute(query).mappings()]


def audit_rows(world, action: str) -> list[dict]:
    with world.engine.connect() as connection:
        query = sa.select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.seq)
        return [dict(row) for row in connection.execute(query).mappings()]


def test_a_cross_district_attempt_is_recorded_without_the_list_or_the_person(world):
    login(world.client, "nurse_b")
    session = session_reference(world.client.cookies.get("tidlig_session"))
    assert world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}").status_code == 404
    [event] = events(world)
    assert (event["username"], event["role"], event["method"], event["status"], event["reason"]) == (
        "nurse_b",
        "nurse",
        "GET",
        404,
        "not_found",
    )
    assert event["route"] == "/lists/{list_id}/citizens/{person_key}"
    assert (event["session_ref"], event["client_ip"]) == (session, "testclient")
    text = json.dumps(event, default=str)
    assert LIST_A not in text
    assert CITIZEN_A not in text
    [denied] = audit_rows(world, "access_denied")  # in the hash chain too: an insider cannot erase it
    assert denied["username"] == "nurse_b"
    assert json.loads(denied["person_keys"]) == []
    assert json.loads(denied["detail"])["session"] == session


def test_a_missing_permission_a_bad_csrf_token_and_an_anonymous_request_are_recorded(world):
    world.client.get(f"/lists/{LIST_B}", follow_redirects=False)
    login(world.client, "nurse_a")
    world.client.get("/admin/users")
    world.client.post(f"/lists/{LIST_A}/citizens/{CITIZEN_A}/decisions", data={"csrf_token": "forged"})
    recorded = [(e["username"], e["route"], e["status"], e["reason"]) for e in events(world)]
    assert recorded == [
        ("(anonymous)", "/lists/{list_id}", 401, "not_authenticated"),
        ("nurse_a", "/admin/users", 403, "forbidden"),
        ("nurse_a", "/lists/{list_id}/citizens/{person_key}/decisions", 403, "csrf"),
    ]


def test_failed_sign_ins_are_security_events(world):
    login(world.client, "nurse_a", "wrong password!!")
    login(world.client, "no_such_user", "wrong password!!")
    assert [(e["username"], e["status"], e["reason"]) for e in events(world)] == [
        ("nurse_a", 401, "bad_credentials"),
        ("(anonymous)", 401, "unknown_user"),
    ]


def test_view_rows_name_the_session_and_the_client(world):
    login(world.client, "nurse_a")
    session = session_reference(world.client.cookies.get("tidlig_session"))
    world.client.get(f"/lists/{LIST_A}")
    world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    for action in ("list_view", "citizen_view"):
        [row] = audit_rows(world, action)
        detail = json.loads(row["detail"])
        assert (detail["session"], detail["client"]) == (session, "testclient")


def test_the_access_log_has_every_request_by_route_template_only(world):
    login(world.client, "nurse_a")
    world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}?sort=risk")
    world.client.get("/no/such/page")
    lines = world.config.access_log_path.read_text().splitlines()
    assert any("GET /lists/{list_id}/citizens/{person_key} 200 session=" in line for line in lines)
    assert any("GET (unmatched) 404" in line for line in lines)
    text = "\n".join(lines)
    assert CITIZEN_A not in text
    assert "sort=" not in text
    assert world.config.access_log_path.stat().st_mode & 0o777 == 0o600


def test_the_admin_and_the_analyst_can_list_the_events_and_a_nurse_cannot(world):
    prober = world.new_client()
    login(prober, "nurse_b")
    prober.get(f"/lists/{LIST_A}")
    for role_user in ("admin", "analyst"):
        client = world.new_client()
        login(client, role_user)
        page = client.get("/admin/security")
        assert page.status_code == 200
        assert "nurse_b" in page.text
        assert "/lists/{list_id}" in page.text
        assert LIST_A not in page.text
    assert prober.get("/admin/security").status_code == 403
    assert csrf_from(prober.get("/lists").text)
