"""The analyst's monitoring page in real headless Chromium: charts render, an item is acknowledged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitoring.store import publication_holds
from review.app import create_app
from review.config import ReviewConfig
from review.database import create_operational_engine
from tests.review.live_app import served_on_loopback
from tests.review.monitoring_rows import ITEM_ID, record_monitoring
from tests.review.test_browser import (  # noqa: F401 (pytest fixtures)
    CHROMIUM,
    _screenshot,
    browser,
)
from tests.review.test_web_monitoring import lists_by_district
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
    home = tmp_path_factory.mktemp("browser-monitoring")
    operational, keys = sqlite_url(home / "operational.sqlite"), sqlite_url(home / "keystore.sqlite")
    write_keystore(keys, all_person_keys())
    app = create_app(
        ReviewConfig(operational_db_url=operational, keystore_url=keys, hashing=FAST_HASHING),
        clock=FakeClock(),
    )
    engine = create_operational_engine(operational)
    publish_world(engine)
    add_role_users(engine, FakeClock()())
    record_monitoring(engine, lists_by_district(engine))
    with served_on_loopback(app) as base_url:
        yield base_url, engine
    engine.dispose()


def test_an_analyst_sees_the_monitoring_page_and_acknowledges_an_item(browser, served):  # noqa: F811
    base_url, engine = served
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Brugernavn").fill("analyst")
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Overvågning").click()
    page.wait_for_url("**/monitoring")
    assert page.get_by_role("heading", name="Åbne sager til gennemsyn").is_visible()
    assert page.locator("svg.chart").count() >= 2
    _screenshot(page, "monitoring")
    page.get_by_label("Hvad blev tjekket og besluttet").fill("d1 export checked")
    page.get_by_role("button", name="Kvittér").click()
    page.wait_for_url("**/monitoring")
    assert page.get_by_text("Ingen åbne sager.").is_visible()
    assert publication_holds(engine) == []
    assert ITEM_ID in page.content()  # now among the acknowledged items
    context.close()
