"""End to end in real headless Chromium (Debian's package, driven by Playwright) against uvicorn."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from review.app import create_app
from review.config import ReviewConfig
from review.database import create_operational_engine
from tests.review.live_app import served_on_loopback
from tests.review.world import (
    DISTRICT_A,
    FAST_HASHING,
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

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """The review app on a free local port, over a published world."""
    home = tmp_path_factory.mktemp("browser")
    operational, keys = sqlite_url(home / "operational.sqlite"), sqlite_url(home / "keystore.sqlite")
    write_keystore(keys, all_person_keys())
    app = create_app(
        ReviewConfig(operational_db_url=operational, keystore_url=keys, hashing=FAST_HASHING),
        clock=FakeClock(),
    )
    engine = create_operational_engine(operational)
    publish_world(engine)
    add_role_users(engine, FakeClock()())
    with served_on_loopback(app) as base_url:
        yield base_url
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (run `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(
        base_url=server, viewport={"width": 1024, "height": 768}, accept_downloads=True
    )
    yield context.new_page()
    context.close()


def _log_in(page, username: str) -> None:  # a clinician: lands on the lists
    page.goto("/login")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url("**/lists")


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("TIDLIG_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_nurse_works_a_list_end_to_end(page):
    citizen = person_key(DISTRICT_A, 0)
    _log_in(page, "nurse_a")
    page.get_by_role("link", name=DISTRICT_A).first.click()
    page.wait_for_url(f"**/lists/{LIST_A}")
    assert page.locator("table.worklist tbody tr").count() == 12
    _screenshot(page, "list")

    page.get_by_role("link", name="Borger 0000").click()
    page.wait_for_url(f"**/citizens/{citizen}")
    assert page.get_by_role("heading", name="Seneste indlæggelser").is_visible()
    assert page.locator("svg.chart").count() >= 2
    _screenshot(page, "citizen")

    page.get_by_label("Besøg gennemført").check()
    page.get_by_label("Nyt problem fundet").check()
    page.get_by_label("Henvist til egen læge").check()
    page.get_by_role("button", name="Gem").click()
    page.wait_for_url("**saved=1#decision")
    assert page.get_by_role("status").inner_text().startswith("Gemt.")
    assert "Besøg gennemført" in page.locator("section", has_text="Historik").inner_text()

    page.get_by_role("link", name="Tilbage til listen").click()
    page.get_by_label("Status").select_option("visit_done")
    page.get_by_role("button", name="Vis").click()
    assert page.locator("table.worklist tbody tr").count() == 1

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Eksportér CSV").click()
    exported = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert exported.startswith("Rang;Delt plads;CPR-nummer;Navn;")
    assert "Borger 0000" in exported

    page.get_by_role("link", name="Udskriftsvenlig").click()
    assert page.locator("table.print-table tbody tr").count() == 1


def test_the_pages_work_by_keyboard_starting_with_a_skip_link(page):
    _log_in(page, "nurse_a")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Spring til indhold"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


def test_another_districts_list_shows_nothing_in_the_browser(page):
    _log_in(page, "nurse_b")
    response = page.goto(f"/lists/{LIST_A}")
    assert response.status == 404
    assert "Borger 0" not in page.content()


def test_an_admin_adds_a_nurse_who_waits_for_a_second_admin(page):
    page.goto("/login")
    page.get_by_label("Brugernavn").fill("admin")
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.goto("/admin/users")
    page.get_by_label("Brugernavn").fill("browser_nurse")
    page.get_by_label("Rolle").select_option("nurse")
    page.get_by_label("Distrikter").fill(DISTRICT_A)
    page.get_by_label("Adgangskode").fill("violet tractor harbour lamp")
    page.get_by_role("button", name="Opret bruger").click()
    assert "en anden administrator har godkendt" in page.get_by_role("status").inner_text()
    row = page.locator("table.accounts tr", has_text="browser_nurse")
    assert "Afventer godkendelse" in row.inner_text()
    assert "admin" in row.inner_text()  # created by
    row.get_by_role("button", name="Godkend").click()
    assert "kan ikke godkendes af dig" in page.get_by_role("alert").inner_text()
    _screenshot(page, "admin-users")


def test_a_cross_district_probe_shows_on_the_security_page(page):
    _log_in(page, "nurse_b")
    page.goto(f"/lists/{LIST_A}")
    page.get_by_role("button", name="Log ud").click()
    page.get_by_label("Brugernavn").fill("admin")
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.get_by_role("link", name="Sikkerhedshændelser").click()
    table = page.locator("table.security-events").inner_text()
    assert "nurse_b" in table
    assert "/lists/{list_id}" in table
    assert LIST_A not in table
    _screenshot(page, "security-events")


def test_a_gp_sets_up_two_step_sign_in_and_then_signs_in_with_a_code(page):
    import datetime as dt

    import pyotp

    _log_in(page, "gp_a")
    page.get_by_role("link", name="Totrins-login").click()
    page.wait_for_url("**/account/totp")
    key = page.locator("#manual-key").inner_text().replace(" ", "")
    assert page.locator("#otpauth-link").get_attribute("href").startswith("otpauth://totp/Tidlig:gp_a?")
    _screenshot(page, "totp-enrol")
    now = FakeClock()()  # the server's clock stands still
    page.get_by_label("Engangskode (6 cifre)").fill(pyotp.TOTP(key).at(now))
    page.get_by_role("button", name="Bekræft og slå til").click()
    page.wait_for_url("**/account/totp?state=enrolled")
    assert page.get_by_text("Totrins-login er slået til.").is_visible()
    assert page.locator("#manual-key").count() == 0
    _screenshot(page, "totp-enrolled")
    page.get_by_role("button", name="Log ud").click()

    page.goto("/login")
    page.get_by_label("Brugernavn").fill("gp_a")
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    assert page.url.endswith("/login")  # the password alone is refused now
    page.get_by_label("Brugernavn").fill("gp_a")
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_label("Engangskode (6 cifre)").fill(pyotp.TOTP(key).at(now + dt.timedelta(seconds=30)))
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url("**/lists")
