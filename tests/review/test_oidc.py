"""Finding 4: sign-on through a real OpenID Connect provider (authorization code with PKCE, Authlib).

The provider is panva's `oidc-provider` (npm, under Debian's node), started by the test on a free loopback
port and installed with `npm ci` from tests/review/oidc_provider/package-lock.json when missing. A real
Chromium goes through the provider's own login and consent pages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from review.accounts import find_account
from review.app import create_app
from review.config import OidcSettings
from review.database import create_operational_engine
from review.tables import audit_log
from tests.review.conftest import world_config
from tests.review.live_app import free_port, served_on_loopback
from tests.review.world import (
    DISTRICT_A,
    DISTRICT_B,
    LIST_A,
    FakeClock,
    add_role_users,
    all_person_keys,
    publish_world,
    sqlite_url,
    write_keystore,
)

pytestmark = pytest.mark.browser

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
CLIENT_SECRET = "test-client-secret-0123456789abcdef"
ACCOUNTS = {
    "oidc_nurse": {"role": "nurse", "districts": [DISTRICT_A]},
    "oidc_coordinator": {"role": "coordinator", "districts": [DISTRICT_B]},
    "nurse_a": {"role": "nurse", "districts": [DISTRICT_A]},  # the name of an existing local account
}


def _installed_provider() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Debian's node and npm are needed for the OIDC provider (apt-get install nodejs npm)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=PROVIDER_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        if installed.returncode != 0:
            pytest.skip(f"npm could not install oidc-provider: {installed.stderr.strip()[-300:]}")
    return Path(node)


@pytest.fixture(scope="module")
def provider_and_app(tmp_path_factory) -> Iterator[dict]:
    node = _installed_provider()
    home = tmp_path_factory.mktemp("oidc")
    provider_port, app_port = free_port(), free_port()
    issuer, app_url = f"http://127.0.0.1:{provider_port}", f"http://127.0.0.1:{app_port}"
    provider = subprocess.Popen(
        [str(node), str(PROVIDER_DIR / "provider.mjs")],
        cwd=PROVIDER_DIR,
        env={
            **os.environ,
            "PORT": str(provider_port),
            "REDIRECT_URI": f"{app_url}/login/oidc/callback",
            "CLIENT_SECRET": CLIENT_SECRET,
            "TIDLIG_TEST_ACCOUNTS": json.dumps(ACCOUNTS),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert provider.stdout is not None
    started = [provider.stdout.readline() for _ in range(1)]
    while "ready" not in started[-1] and started[-1] and len(started) < 40:  # skip its warnings
        started.append(provider.stdout.readline())
    if "ready" not in started[-1]:
        provider.kill()
        pytest.fail(f"the OIDC provider did not start: {''.join(started)[-800:]}")
    threading.Thread(target=provider.stdout.read, daemon=True).start()  # keep its pipe drained
    operational, keys = sqlite_url(home / "operational.sqlite"), sqlite_url(home / "keystore.sqlite")
    write_keystore(keys, all_person_keys())
    config = world_config(operational, keys, home)
    from dataclasses import replace

    config = replace(
        config,
        oidc=OidcSettings(
            issuer=issuer,
            client_id="tidlig-review",
            client_secret=CLIENT_SECRET,
            redirect_uri=f"{app_url}/login/oidc/callback",
        ),
    )
    clock = FakeClock()
    app = create_app(config, clock=clock)
    engine = create_operational_engine(operational)
    publish_world(engine)
    add_role_users(engine, FakeClock()())
    with served_on_loopback(app, port=app_port):
        yield {
            "app_url": app_url,
            "issuer": issuer,
            "engine": engine,
            "services": app.state.services,
            "clock": clock,
        }
    provider.terminate()
    provider.wait(timeout=10)
    engine.dispose()


@pytest.fixture
def page(provider_and_app):
    from tests.review.test_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (run `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=provider_and_app["app_url"])
        yield context.new_page()
        context.close()
        browser.close()


def _sign_in_at_the_provider(page, login_name: str) -> None:
    page.goto("/login")
    page.get_by_role("link", name="Log ind med kommunens login").click()
    page.wait_for_selector("input[name=login]")
    assert page.url.startswith("http://127.0.0.1:")
    assert "/interaction/" in page.url  # the provider's own login page
    page.fill("input[name=login]", login_name)
    page.fill("input[name=password]", "anything")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent page


def test_a_nurse_signs_in_through_the_provider_with_role_and_district_from_the_claims(page, provider_and_app):
    _sign_in_at_the_provider(page, "oidc_nurse")
    page.wait_for_url("**/lists")
    assert page.get_by_role("link", name=DISTRICT_A).first.is_visible()
    response = page.goto(f"/lists/{LIST_A}")
    assert response.status == 200
    engine = provider_and_app["engine"]
    account = find_account(engine, username="oidc_nurse")
    assert (account.role, account.districts, account.auth_provider) == ("nurse", (DISTRICT_A,), "oidc")
    assert account.created_by == f"oidc:{provider_and_app['issuer'].removeprefix('http://')}"
    with engine.connect() as connection:
        rows = connection.execute(sa.select(audit_log).order_by(audit_log.c.seq)).mappings().all()
    logins = [row for row in rows if row["action"] == "login" and row["username"] == "oidc_nurse"]
    assert json.loads(logins[-1]["detail"])["provider"] == "oidc"
    created = [row for row in rows if row["action"] == "account_created"]
    assert json.loads(created[0]["detail"])["account"] == "oidc_nurse"


def test_an_identified_export_sends_the_user_back_to_the_provider_to_sign_in_again(page, provider_and_app):
    import datetime as dt

    _sign_in_at_the_provider(page, "oidc_nurse")
    page.wait_for_url("**/lists")
    provider_and_app["clock"].advance(dt.timedelta(minutes=6))
    page.goto(f"/lists/{LIST_A}/print")
    page.wait_for_selector("input[name=login]")  # prompt=login: the provider asks again
    assert "/interaction/" in page.url
    page.fill("input[name=login]", "oidc_nurse")
    page.fill("input[name=password]", "anything")
    page.get_by_role("button", name="Sign-in").click()
    consent = page.get_by_role("button", name="Continue")
    if consent.count():
        consent.click()
    page.wait_for_url(f"**/lists/{LIST_A}/print")
    assert page.locator("table.print-table tbody tr").count() == 12
    with provider_and_app["engine"].connect() as connection:
        actions = (
            connection.execute(
                sa.select(audit_log.c.action)
                .where(audit_log.c.username == "oidc_nurse")
                .order_by(audit_log.c.seq)
            )
            .scalars()
            .all()
        )
    assert "reauthenticated" in actions


def test_the_coordinator_claims_scope_her_to_her_own_district(page, provider_and_app):
    _sign_in_at_the_provider(page, "oidc_coordinator")
    page.wait_for_url("**/lists")
    assert page.goto(f"/lists/{LIST_A}").status == 404


def test_the_provider_cannot_take_over_a_local_account_of_the_same_name(page, provider_and_app):
    _sign_in_at_the_provider(page, "nurse_a")
    page.wait_for_load_state()
    assert "/lists" not in page.url
    assert page.locator("main").inner_text().strip() != ""
    account = find_account(provider_and_app["engine"], username="nurse_a")
    assert account.auth_provider == "local"


def test_a_callback_without_the_flows_state_is_refused(provider_and_app):
    import httpx

    response = httpx.get(f"{provider_and_app['app_url']}/login/oidc/callback?code=forged&state=forged")
    assert response.status_code == 401
    assert "tidlig_session" not in response.headers.get("set-cookie", "")


def test_the_authorization_request_uses_pkce_s256_and_a_nonce(provider_and_app):
    from urllib.parse import parse_qs, urlparse

    import httpx

    response = httpx.get(f"{provider_and_app['app_url']}/login/oidc", follow_redirects=False)
    assert response.status_code == 302
    query = parse_qs(urlparse(response.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["nonce"][0]
    assert query["state"][0]
    assert query["response_type"] == ["code"]
