"""Finding 5: password spraying is throttled, unknown usernames cost what known ones do, hashing is
bounded, forwarded headers are believed only from configured proxies, and typed usernames are stored
only as keyed digests and purged."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import argon2
import httpx
import pytest
import sqlalchemy as sa

from review.authentication import LocalAccountProvider, LoginBusyError
from review.tables import audit_log, login_attempts
from tests.review.world import FAST_HASHING, PASSWORD, login

WRONG = "wrong password!!"


def test_spraying_many_usernames_from_one_client_is_throttled(world):
    for number in range(20):
        assert login(world.client, f"guess{number:02d}", WRONG).status_code == 401
    assert login(world.client, "nurse_a").status_code == 429


def test_a_distributed_guess_at_one_account_is_throttled(world):
    throttle = world.services.throttle
    for number in range(20):
        throttle.record("nurse_a", f"198.51.100.{number}", succeeded=False)
    assert login(world.client, "nurse_a").status_code == 429
    assert login(world.client, "gp_a").status_code == 303


def count_argon2(monkeypatch) -> dict[str, int]:
    calls = {"hash": 0, "verify": 0}
    real_hash, real_verify = argon2.PasswordHasher.hash, argon2.PasswordHasher.verify

    def counting_hash(self, *args, **kwargs):
        calls["hash"] += 1
        return real_hash(self, *args, **kwargs)

    def counting_verify(self, *args, **kwargs):
        calls["verify"] += 1
        return real_verify(self, *args, **kwargs)

    monkeypatch.setattr(argon2.PasswordHasher, "hash", counting_hash)
    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting_verify)
    return calls


def test_an_unknown_username_costs_exactly_one_verification_like_a_known_one(world, monkeypatch):
    calls = count_argon2(monkeypatch)
    login(world.client, "nurse_a", WRONG)
    known = dict(calls)
    calls.update(hash=0, verify=0)
    login(world.client, "no_such_user", WRONG)
    assert known == {"hash": 0, "verify": 1}
    assert calls == {"hash": 0, "verify": 1}  # no dummy hash recomputed per attempt


def test_concurrent_password_checks_are_bounded(world, monkeypatch):
    provider = LocalAccountProvider(world.engine, FAST_HASHING, max_concurrent=2)
    running, peak, lock = 0, 0, threading.Lock()
    real_verify = argon2.PasswordHasher.verify

    def slow_verify(self, *args, **kwargs):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return real_verify(self, *args, **kwargs)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", slow_verify)
    threads = [threading.Thread(target=provider.verify, args=(f"user{n}", WRONG)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2


def test_a_login_that_finds_no_free_hashing_slot_is_refused_without_hashing(world):
    provider = LocalAccountProvider(world.engine, FAST_HASHING, max_concurrent=1, wait=dt.timedelta(0))
    assert provider._slots.acquire()
    with pytest.raises(LoginBusyError):
        provider.verify("nurse_a", PASSWORD)
    world.services.auth_provider = provider
    response = login(world.client, "nurse_a")
    assert response.status_code == 503
    assert "tidlig_session" not in response.headers.get("set-cookie", "")


def test_typed_usernames_are_stored_only_as_keyed_digests(world):
    typed = "correct horse battery staple"  # a password typed into the username field
    login(world.client, typed, WRONG)
    login(world.client, "nurse_a", WRONG)
    with world.engine.connect() as connection:
        stored = [dict(row) for row in connection.execute(sa.select(login_attempts)).mappings()]
    assert len(stored) == 2
    text = json.dumps(stored, default=str)
    assert typed not in text
    assert "nurse_a" not in text
    assert {row["username_digest"] for row in stored} == {
        world.services.throttle.digest(typed),
        world.services.throttle.digest("nurse_a"),
    }


def test_login_records_are_purged_after_the_retention_period(world):
    login(world.client, "nurse_a", WRONG)
    world.clock.advance(dt.timedelta(days=31))
    login(world.client, "gp_a", WRONG)
    with world.engine.connect() as connection:
        remaining = connection.execute(sa.select(login_attempts.c.attempted_at)).scalars().all()
    assert remaining == [world.clock().replace(tzinfo=None)]
    world.clock.advance(dt.timedelta(days=31))
    assert world.services.throttle.purge() == 1


def test_forwarded_for_is_ignored_from_a_client_that_is_not_a_trusted_proxy(world):
    world.client.headers["X-Forwarded-For"] = "203.0.113.9"
    login(world.client, "nurse_a")
    with world.engine.connect() as connection:
        detail = json.loads(connection.execute(sa.select(audit_log.c.detail)).scalar_one())
    assert detail["client_ip"] == "testclient"


def _serve(app, monkeypatch) -> tuple[str, object, threading.Thread]:
    """The app under uvicorn exactly as `tidlig review` runs it, on a free loopback port."""
    import socket

    import uvicorn

    from pipelines.commands.review import server_options

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(**server_options(app, "127.0.0.1", port)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def _login_over_http(base: str, username: str, forwarded: str) -> int:
    import re

    with httpx.Client(base_url=base, headers={"X-Forwarded-For": forwarded}) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        return client.post(
            "/login", data={"username": username, "password": WRONG, "csrf_token": token}
        ).status_code


@pytest.mark.parametrize(("proxies", "expected"), [((), "127.0.0.1"), (("127.0.0.1",), "203.0.113.9")])
def test_a_real_server_believes_forwarded_for_only_from_configured_proxies(
    world, monkeypatch, proxies, expected
):
    """From localhost, uvicorn's default would have rewritten the client from the forged header, both
    dodging the throttle and writing a fake address into the audit log."""
    world = world.reopen(trusted_proxies=proxies)
    base, server, thread = _serve(world.client.app, monkeypatch)
    try:
        statuses = [
            _login_over_http(base, "nurse_a", f"203.0.113.{n}" if not proxies else "203.0.113.9")
            for n in range(6)
        ]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    with world.engine.connect() as connection:
        details = [json.loads(text) for text in connection.execute(sa.select(audit_log.c.detail)).scalars()]
    assert {detail["client_ip"] for detail in details} == {expected}
    assert statuses == [401] * 5 + [429]
