"""A bounded attack run against the review app, loopback only, with fixed counts (runs in `make test`).

The app runs under uvicorn exactly as `tidlig review` runs it; the attacker is an httpx client. Each test
is one class of probe from the security review (issue 13), with the counts fixed so the run is repeatable.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from pipelines.commands.review import server_options
from review.app import create_app
from review.database import create_operational_engine
from review.tables import audit_log, decisions, login_attempts, security_events
from tests.review.conftest import world_config
from tests.review.world import (
    LIST_A,
    PASSWORD,
    FakeClock,
    add_role_users,
    all_person_keys,
    person_key,
    publish_world,
    sqlite_url,
    write_keystore,
)

CITIZENS_A = [person_key("101-01", n) for n in range(12)]
PAYLOADS = [
    "' OR '1'='1",
    "'; DROP TABLE review_audit_log; --",
    '" OR 1=1 --',
    "1 UNION SELECT cpr, name FROM keystore --",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "{{7*7}}",
    "${7*7}",
    "../../../../etc/passwd",
    "%00",
    "\u202e",
]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Iterator[dict]:
    home = tmp_path_factory.mktemp("attack")
    operational, keys = sqlite_url(home / "operational.sqlite"), sqlite_url(home / "keystore.sqlite")
    write_keystore(keys, all_person_keys())
    engine = create_operational_engine(operational)
    config = world_config(operational, keys, home)
    app = create_app(replace(config, bind_host="127.0.0.1"), clock=FakeClock())
    publish_world(engine)
    add_role_users(engine, FakeClock()())
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(**server_options(app, "127.0.0.1", port)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "engine": engine, "services": app.state.services}
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def signed_in(target, username: str, forwarded: str | None = None) -> httpx.Client:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    client = httpx.Client(base_url=target["url"], headers=headers)
    token = _CSRF.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code in (200, 303), response.status_code
    return client


def count(engine, table, *where) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


def test_every_unauthenticated_request_is_refused_and_recorded(target):
    urls = ["/", "/lists", f"/lists/{LIST_A}", f"/lists/{LIST_A}/export.csv", f"/lists/{LIST_A}/print",
            f"/lists/{LIST_A}/citizens/{CITIZENS_A[0]}", "/aggregates", "/admin/audit", "/admin/users",
            "/admin/security"]  # fmt: skip
    before = count(target["engine"], security_events)
    with httpx.Client(base_url=target["url"]) as anonymous:
        answers = [anonymous.get(url).status_code for url in urls for _ in range(2)]
        posts = [
            anonymous.post(f"/lists/{LIST_A}/citizens/{c}/decisions").status_code for c in CITIZENS_A[:5]
        ]
    assert answers == [303] * 20
    assert posts == [401] * 5
    assert count(target["engine"], security_events) - before == 25


def test_cross_district_probes_all_look_like_missing_lists_and_are_recorded(target):
    probe = signed_in(target, "nurse_b")
    urls = [f"/lists/{LIST_A}", f"/lists/{LIST_A}/export.csv", f"/lists/{LIST_A}/print"]
    urls += [f"/lists/{LIST_A}/citizens/{citizen}" for citizen in CITIZENS_A]
    missing = probe.get("/lists/no-such-list")
    responses = [probe.get(url) for url in urls]
    assert [r.status_code for r in responses] == [404] * 15
    assert {r.text for r in responses} == {missing.text}
    assert "Borger" not in missing.text
    events = count(target["engine"], security_events, security_events.c.username == "nurse_b")
    denied = count(
        target["engine"], audit_log, audit_log.c.action == "access_denied", audit_log.c.username == "nurse_b"
    )
    assert (events, denied) == (16, 16)


def test_forged_and_missing_csrf_tokens_change_nothing(target):
    client = signed_in(target, "nurse_a")
    before = count(target["engine"], decisions)
    statuses = [
        client.post(
            f"/lists/{LIST_A}/citizens/{citizen}/decisions", data={"action": "contacted", **token}
        ).status_code
        for citizen in CITIZENS_A[:7]
        for token in ({}, {"csrf_token": "forged"})
    ]
    assert statuses == [403] * 14
    assert count(target["engine"], decisions) == before


def test_injection_payloads_are_neither_executed_nor_reflected_raw(target):
    client = signed_in(target, "coord_a")
    token = _CSRF.search(client.get("/lists").text).group(1)
    for payload in PAYLOADS:
        listing = client.get(f"/lists/{LIST_A}", params={"sort": payload, "status": payload, "flag": payload})
        assert listing.status_code == 200
        assert "<script>alert(1)</script>" not in listing.text
        assert "<img src=x" not in listing.text
        saved = client.post(
            f"/lists/{LIST_A}/citizens/{CITIZENS_A[1]}/decisions",
            data={"csrf_token": token, "action": "contacted", "note": payload},
            follow_redirects=True,
        )
        assert saved.status_code == 200
        assert "<script>alert(1)</script>" not in saved.text
        assert client.get(f"/lists/{payload}").status_code == 404
    assert count(target["engine"], audit_log) > 0  # the table is still there
    assert target["services"].audit.verify().ok


def test_password_spraying_is_stopped_after_20_failures_from_one_client(target):
    with httpx.Client(base_url=target["url"], headers={"X-Forwarded-For": "192.0.2.50"}) as sprayer:
        statuses = []
        for number in range(25):
            token = _CSRF.search(sprayer.get("/login").text).group(1)
            form = {"username": f"staff{number:02d}", "password": "Sommer2024!!", "csrf_token": token}
            statuses.append(sprayer.post("/login", data=form).status_code)
        token = _CSRF.search(sprayer.get("/login").text).group(1)
        right = sprayer.post("/login", data={"username": "gp_a", "password": PASSWORD, "csrf_token": token})
    with target["engine"].begin() as connection:  # lift the block for the other probes
        connection.execute(sa.delete(login_attempts))
    assert statuses == [401] * 20 + [429] * 5
    assert right.status_code == 429
    with target["engine"].connect() as connection:
        clients = connection.execute(
            sa.select(audit_log.c.detail).where(audit_log.c.action.in_(["login_failed", "login_throttled"]))
        ).scalars()
        assert all('"client_ip":"127.0.0.1"' in detail for detail in clients)  # the forged header is ignored


def test_session_tokens_cannot_be_guessed_fixed_or_reused_after_logout(target):
    with httpx.Client(base_url=target["url"]) as forger:
        forger.cookies.set("tidlig_session", "a" * 43)
        assert forger.get("/lists").status_code == 303
    client = signed_in(target, "gp_a")
    stolen = client.cookies.get("tidlig_session")
    token = _CSRF.search(client.get("/lists").text).group(1)
    client.post("/logout", data={"csrf_token": token})
    with httpx.Client(base_url=target["url"]) as thief:
        thief.cookies.set("tidlig_session", stolen)
        assert thief.get("/lists").status_code == 303


def test_privilege_escalation_attempts_fail(target):
    nurse = signed_in(target, "nurse_a")
    token = _CSRF.search(nurse.get("/lists").text).group(1)
    grab = {
        "csrf_token": token,
        "username": "mine",
        "role": "admin",
        "password": "violet tractor harbour lamp",
    }
    assert nurse.post("/admin/users", data=grab).status_code == 403
    assert (
        nurse.post("/admin/users/nurse_b/active", data={"csrf_token": token, "active": "0"}).status_code
        == 403
    )
    admin = signed_in(target, "admin")
    admin_token = _CSRF.search(admin.get("/admin/users").text).group(1)
    admin.post(
        "/admin/users",
        data={"csrf_token": admin_token, "username": "shadow", "role": "nurse", "districts": "101-02",
              "password": "violet tractor harbour lamp"},
    )  # fmt: skip
    with httpx.Client(base_url=target["url"]) as shadow:
        token = _CSRF.search(shadow.get("/login").text).group(1)
        form = {"username": "shadow", "password": "violet tractor harbour lamp", "csrf_token": token}
        assert shadow.post("/login", data=form).status_code == 401
    own_approval = admin.post("/admin/users/shadow/approve", data={"csrf_token": admin_token})
    assert own_approval.headers["location"].endswith("error=error_approval")
    assert count(target["engine"], audit_log, audit_log.c.action == "account_created") == 1


def test_static_files_do_not_escape_their_folder(target):
    with httpx.Client(base_url=target["url"]) as client:
        for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fdatabase.py"):
            response = client.get(path)
            assert response.status_code == 404
            assert "create_operational_engine" not in response.text
