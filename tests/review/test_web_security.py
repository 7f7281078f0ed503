"""Sessions, CSRF, login throttling and deny-by-default routing."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from review.web_security import PUBLIC_PATHS, Require
from tests.review.world import LIST_A, PASSWORD, csrf_from, login, person_key

CITIZEN_A = person_key("101-01", 0)


def test_every_route_but_login_and_language_requires_a_permission_check(world):
    unguarded = [
        route.path
        for route in world.client.app.routes
        if isinstance(route, APIRoute)
        and route.path not in PUBLIC_PATHS
        and not any(isinstance(dep.call, Require) for dep in route.dependant.dependencies)
    ]
    assert unguarded == []


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/lists",
        f"/lists/{LIST_A}",
        f"/lists/{LIST_A}/export.csv",
        "/aggregates",
        "/admin/audit",
        "/admin/users",
    ],
)
def test_anonymous_requests_are_sent_to_the_login_page(world, url):
    response = world.client.get(url, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_the_session_cookie_is_httponly_and_samesite_strict(world):
    response = login(world.client, "nurse_a")
    cookie = response.headers["set-cookie"].lower()
    assert "tidlig_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie.split("tidlig_login_csrf")[0]


def test_cookies_are_secure_when_configured(world):
    from dataclasses import replace

    services = world.client.app.state.services
    services.config = replace(services.config, secure_cookies=True)
    over_https = TestClient(world.client.app, base_url="https://testserver")
    response = login(over_https, "nurse_a")
    assert response.status_code == 303
    assert "; secure" in response.headers["set-cookie"].lower()


def test_a_wrong_password_is_refused(world):
    assert login(world.client, "nurse_a", "wrong password!!").status_code == 401
    assert world.client.get("/lists", follow_redirects=False).status_code == 303


def test_login_without_the_forms_csrf_token_is_refused(world):
    world.client.get("/login")
    response = world.client.post(
        "/login",
        data={"username": "nurse_a", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "tidlig_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_post_without_the_sessions_csrf_token_is_refused(world, token):
    from review.tables import decisions

    login(world.client, "nurse_a")
    data = {"action": "contacted"} | ({"csrf_token": token} if token else {})
    response = world.client.post(f"/lists/{LIST_A}/citizens/{CITIZEN_A}/decisions", data=data)
    assert response.status_code == 403
    import sqlalchemy as sa

    with world.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(decisions)).scalar_one() == 0


def test_a_csrf_token_from_another_session_is_refused(world):
    other = world.new_client()
    login(other, "nurse_a")
    foreign_token = csrf_from(other.get("/lists").text)
    login(world.client, "nurse_a")
    response = world.client.post(
        f"/lists/{LIST_A}/citizens/{CITIZEN_A}/decisions",
        data={"csrf_token": foreign_token, "action": "contacted"},
    )
    assert response.status_code == 403


def test_five_failures_block_the_username_from_that_address_even_with_the_right_password(world):
    for _ in range(5):
        assert login(world.client, "nurse_a", "wrong password!!").status_code == 401
    assert login(world.client, "nurse_a").status_code == 429


def test_the_block_lifts_after_the_window(world):
    for _ in range(5):
        login(world.client, "nurse_a", "wrong password!!")
    world.clock.advance(dt.timedelta(minutes=16))
    assert login(world.client, "nurse_a").status_code == 303


def test_failures_of_one_username_do_not_block_another(world):
    for _ in range(5):
        login(world.client, "nurse_a", "wrong password!!")
    assert login(world.client, "gp_a").status_code == 303


def test_logout_ends_the_session_on_the_server(world):
    login(world.client, "nurse_a")
    stolen = world.client.cookies.get("tidlig_session")
    token = csrf_from(world.client.get("/lists").text)
    world.client.post("/logout", data={"csrf_token": token})
    thief = world.new_client()
    thief.cookies.set("tidlig_session", stolen)
    assert thief.get("/lists", follow_redirects=False).status_code == 303


def test_a_deactivated_user_is_logged_out_at_once(world):
    from review.accounts import set_active

    login(world.client, "nurse_a")
    set_active(world.engine, "nurse_a", False)
    assert world.client.get("/lists", follow_redirects=False).status_code == 303


def test_sessions_expire(world):
    login(world.client, "nurse_a")
    world.clock.advance(dt.timedelta(hours=9))
    assert world.client.get("/lists", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(world):
    form = world.client.get("/login?next=//evil.example/")
    response = world.client.post(
        "/login",
        data={
            "username": "nurse_a",
            "password": PASSWORD,
            "csrf_token": csrf_from(form.text),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/lists"


def test_pages_carry_security_headers(world):
    response = world.client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
