"""Finding 5 (sessions) and deliverable 6: idle timeout and absolute lifetime, a cap on sessions per user,
deactivation ends sessions and reactivation never revives them, Secure cookies and HSTS by default off
loopback, and re-authentication before an identified export."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from review.accounts import find_account
from tests.review.world import LIST_A, PASSWORD, csrf_from, login


def signed_in(client) -> bool:
    return client.get("/lists", follow_redirects=False).status_code == 200


def test_a_session_ends_after_30_idle_minutes(world):
    login(world.client, "nurse_a")
    world.clock.advance(dt.timedelta(minutes=31))
    assert not signed_in(world.client)


def test_activity_keeps_a_session_alive_until_its_absolute_lifetime(world):
    login(world.client, "nurse_a")
    for _ in range(23):  # 23 x 20 minutes = 7 h 40 min
        world.clock.advance(dt.timedelta(minutes=20))
        assert signed_in(world.client)
    world.clock.advance(dt.timedelta(minutes=20))  # 8 h after sign-in
    assert not signed_in(world.client)


def test_a_user_has_at_most_three_sessions_and_a_new_login_ends_the_oldest(world):
    clients = [world.new_client() for _ in range(4)]
    for client in clients:
        login(client, "nurse_a")
        world.clock.advance(dt.timedelta(seconds=1))
    assert [signed_in(client) for client in clients] == [False, True, True, True]
    assert world.services.sessions.count(find_account(world.engine, username="nurse_a").user_id) == 3


def test_reactivating_a_user_never_revives_an_old_session(world):
    world = world.reopen(four_eyes=False)
    victim = world.new_client()
    login(victim, "nurse_a")
    stolen = victim.cookies.get("tidlig_session")
    login(world.client, "admin")
    for active in ("0", "1"):
        token = csrf_from(world.client.get("/admin/users").text)
        world.client.post("/admin/users/nurse_a/active", data={"csrf_token": token, "active": active})
    thief = world.new_client()
    thief.cookies.set("tidlig_session", stolen)
    assert not signed_in(thief)
    assert login(world.new_client(), "nurse_a").status_code == 303


def test_cookies_are_secure_and_hsts_is_sent_by_default_when_not_bound_to_loopback(world):
    world = world.reopen(bind_host="0.0.0.0")
    client = TestClient(world.client.app, base_url="https://testserver")
    response = login(client, "nurse_a")
    assert "; secure" in response.headers["set-cookie"].lower()
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_on_loopback_cookies_work_over_plain_http_and_no_hsts_is_sent(world):
    response = login(world.client, "nurse_a")
    assert "secure" not in response.headers["set-cookie"].lower()
    assert "strict-transport-security" not in response.headers


def test_an_identified_export_asks_for_the_password_again_after_five_minutes(world):
    login(world.client, "nurse_a")
    assert world.client.get(f"/lists/{LIST_A}/export.csv").status_code == 200
    world.clock.advance(dt.timedelta(minutes=6))
    for url in (f"/lists/{LIST_A}/export.csv", f"/lists/{LIST_A}/print"):
        response = world.client.get(url, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/reauthenticate?next=")
    form = world.client.get(f"/reauthenticate?next=/lists/{LIST_A}/export.csv")
    wrong = world.client.post(
        "/reauthenticate",
        data={"csrf_token": csrf_from(form.text), "password": "wrong password!!", "next": "/"},
        follow_redirects=False,
    )
    assert wrong.status_code == 401
    right = world.client.post(
        "/reauthenticate",
        data={
            "csrf_token": csrf_from(form.text),
            "password": PASSWORD,
            "next": f"/lists/{LIST_A}/export.csv",
        },
        follow_redirects=False,
    )
    assert right.headers["location"] == f"/lists/{LIST_A}/export.csv"
    exported = world.client.get(f"/lists/{LIST_A}/export.csv")
    assert exported.status_code == 200
    assert exported.text.startswith("\ufeffRang;Delt plads;CPR-nummer;Navn;")
