"""Data quality and the Data Docs in real headless Chromium: an analyst opens the grid, a quarantine
report and a validation's Data Docs page from the monitoring page; nothing on them is a row value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from review.app import create_app
from review.config import ReviewConfig
from review.database import create_operational_engine
from tests.data_contracts import tiny_world
from tests.review.live_app import served_on_loopback
from tests.review.quality_rows import BAD_CPR, BAD_SEX, ingested_home, person_keys_of, record_data_quality
from tests.review.test_browser import (  # noqa: F401 (pytest fixtures)
    CHROMIUM,
    _screenshot,
    browser,
)
from tests.review.world import (
    FAST_HASHING,
    PASSWORD,
    FakeClock,
    add_role_users,
    all_person_keys,
    publish_world,
    sqlite_url,
    write_keystore,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, object]]:
    folder = tmp_path_factory.mktemp("browser-quality")
    home = ingested_home(folder)
    operational, keys = sqlite_url(folder / "operational.sqlite"), sqlite_url(folder / "keystore.sqlite")
    write_keystore(keys, all_person_keys())
    config = ReviewConfig(
        operational_db_url=operational,
        keystore_url=keys,
        hashing=FAST_HASHING,
        quarantine_dir=home.quarantine_dir,
        data_docs_dir=home.data_docs_dir,
    )
    app = create_app(config, clock=FakeClock())
    engine = create_operational_engine(operational)
    publish_world(engine)
    add_role_users(engine, FakeClock()())
    record_data_quality(engine, home)
    with served_on_loopback(app) as base_url:
        yield base_url, home
    engine.dispose()


def assert_no_person_data(text: str, home) -> None:
    assert BAD_CPR not in text
    assert BAD_SEX not in text
    assert all(cpr not in text for cpr in tiny_world.cprs())
    assert all(key not in text for key in person_keys_of(home))


def test_an_analyst_opens_data_quality_a_quarantine_report_and_the_data_docs(browser, served):  # noqa: F811
    base_url, home = served
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Brugernavn").fill("analyst")
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_load_state()
    page.goto("/monitoring#data-quality")
    assert page.get_by_role("heading", name="Datakvalitet pr. kilde og måned").is_visible()
    grid = page.locator("svg.quality-grid")
    assert grid.is_visible()
    assert grid.locator("g.q-quarantined").count() >= 1  # the broken population extract
    _screenshot(page, "monitoring-data-quality")
    assert_no_person_data(page.content(), home)

    page.locator('a[href^="/monitoring/reports/"]').first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Quarantined: cpr_population delivery 2021-02-01").is_visible()
    _screenshot(page, "quarantine-report")
    assert_no_person_data(page.content(), home)

    page.goto("/monitoring#data-docs")
    page.locator('a[href^="/monitoring/data-docs/validations/cpr_population"]').first.click()
    page.wait_for_load_state()
    assert "/monitoring/data-docs/validations/cpr_population/" in page.url
    body = page.locator("body").inner_text()
    assert "PNR" in body  # the rules are named with their columns
    assert "unique" in body.lower()
    _screenshot(page, "data-docs-validation")
    assert_no_person_data(page.content(), home)
    context.close()
