"""A nurse's day with a 25-citizen list in real headless Chromium, at desktop, tablet and phone sizes.

Screenshots go to the test's tmp dir (and to ``TIDLIG_SCREENSHOT_DIR`` when set); the layout facts a person
would check by eye (no sideways scrolling, the error in view, a notes column to write in) are asserted.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from review.app import create_app
from review.config import ReviewConfig
from review.database import create_operational_engine
from screening.store import ListToPublish, create_schema, publish_lists
from tests.review.live_app import served_on_loopback
from tests.review.test_browser import (  # noqa: F401 (pytest fixtures)
    browser,
)
from tests.review.world import (
    FAST_HASHING,
    PASSWORD,
    FakeClock,
    add_role_users,
    entry,
    facts,
    header,
    person_key,
    sqlite_url,
    write_keystore,
)

pytestmark = pytest.mark.browser

DISTRICT = "101-01"
LIST_ID = "list-day-2024-01"
SIZES = {"desktop": (1366, 900), "tablet": (820, 1180), "phone": (390, 844)}
# Risks with the long runs of one value that calibrated models give: places 1-5, 10-13 and 17-25 shared.
RISKS = [0.62] * 5 + [0.55, 0.51, 0.47, 0.44] + [0.35] * 4 + [0.3, 0.27, 0.24] + [0.18] * 9
KEYS = [person_key(DISTRICT, n) for n in range(len(RISKS))]
WITH_CONTACT = KEYS[0]


def _publish(engine: sa.Engine) -> None:
    create_schema(engine)
    entries = [entry(rank, key, risk) for rank, (key, risk) in enumerate(zip(KEYS, RISKS, strict=True), 1)]
    entries[0]["flags"] = ["age_75", "alone_at_70"]
    entries[0]["reasons_da"] = [
        "Akutte indlæggelser seneste år: 2 (hjertesvigt, urinvejsinfektion)",
        "Hjemmeplejen er steget fra 90 til 150 minutter om ugen på tre måneder",
        "Vægttab på 7 % på et halvt år",
    ]
    documents = [facts(key) for key in KEYS]
    documents[0]["facts"]["admissions"].append(
        {"start": "2022-12-01", "end": "2022-12-03", "diagnosis": "DS7209", "acute": True}
    )
    list_header = {**header(LIST_ID, DISTRICT, dt.date(2024, 1, 1)), "capacity": 25}
    publish_lists(
        engine,
        [ListToPublish(list_header, entries, documents)],
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )


def _add_contact_details(keystore_url: str) -> None:
    """A deployment whose key store carries phone, address and own GP (for one citizen only)."""
    engine = sa.create_engine(keystore_url)
    with engine.begin() as connection:
        for column in ("phone", "address", "gp_name", "gp_phone"):
            connection.execute(sa.text(f"ALTER TABLE keystore ADD COLUMN {column} TEXT"))
        connection.execute(
            sa.text(
                "UPDATE keystore SET phone = '+45 12 34 56 78', address = 'Testvej 1, 2300 København S', "
                "gp_name = 'Lægehuset Testvej', gp_phone = '+45 87 65 43 21' WHERE person_key = :key"
            ),
            {"key": WITH_CONTACT},
        )
    engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("browser-worklist")
    operational, keys = sqlite_url(home / "operational.sqlite"), sqlite_url(home / "keystore.sqlite")
    write_keystore(keys, KEYS)
    _add_contact_details(keys)
    app = create_app(
        ReviewConfig(operational_db_url=operational, keystore_url=keys, hashing=FAST_HASHING),
        clock=FakeClock(),
    )
    engine = create_operational_engine(operational)
    _publish(engine)
    add_role_users(engine, FakeClock()())
    with served_on_loopback(app) as base_url:
        yield base_url
    engine.dispose()


@pytest.fixture(scope="module")
def chromium(browser):  # noqa: F811 (the shared Chromium of tests.review.test_browser)
    return browser


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def _open(chromium, server, size: str):
    width, height = SIZES[size]
    context = chromium.new_context(
        base_url=server,
        viewport={"width": width, "height": height},
        accept_downloads=True,
        locale="da-DK",
        timezone_id="Europe/Copenhagen",
    )
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Brugernavn").fill("nurse_a")
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url("**/lists")
    return context, page


def _shot(page, shots: Path, name: str) -> Path:
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("TIDLIG_SCREENSHOT_DIR")
    if extra:
        shutil.copyfile(path, Path(extra) / path.name)
    return path


def _no_sideways_scrolling(page) -> None:
    facts = page.evaluate(
        """() => ({
            page: document.documentElement.scrollWidth, viewport: window.innerWidth,
            inner: [...document.querySelectorAll('.table-wrap')].map(e => e.scrollWidth - e.clientWidth),
        })"""
    )
    assert facts["page"] <= facts["viewport"], facts
    assert all(extra <= 0 for extra in facts["inner"]), facts


def _error_in_view(page, field_id: str, error_selector: str) -> bool:
    """After a refused save the browser focuses the field in error (``autofocus``), which scrolls it
    into view; that happens after the page has loaded, so wait for the focus before looking."""
    page.wait_for_load_state()
    page.wait_for_function("id => document.activeElement && document.activeElement.id === id", arg=field_id)
    return _in_view(page, error_selector)


def _in_view(page, selector: str) -> bool:
    return page.evaluate(
        """(selector) => { const box = document.querySelector(selector).getBoundingClientRect();
            return box.top >= 0 && box.bottom <= window.innerHeight && box.height > 0; }""",
        selector,
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_the_list_and_the_citizen_page_fit_the_screen_at_every_size(chromium, server, shots, size):
    context, page = _open(chromium, server, size)
    page.goto(f"/lists/{LIST_ID}")
    assert page.locator("table.worklist tbody tr").count() == 25
    _no_sideways_scrolling(page)
    first = page.locator("table.worklist tbody tr").first
    assert "delt 1.–5. plads" in first.inner_text()
    assert "Rød" in first.inner_text()
    assert "62,0\u00a0%" in first.inner_text()
    assert "delt 17.–25. plads" in page.locator("table.worklist tbody tr").nth(24).inner_text()
    assert page.locator(".tie-note").is_visible()
    assert "0 af 25 færdige" in page.locator("#progress").inner_text()
    assert _shot(page, shots, f"list-{size}").stat().st_size > 10_000

    page.goto(f"/lists/{LIST_ID}/citizens/{WITH_CONTACT}")
    _no_sideways_scrolling(page)
    body = page.locator("main").inner_text()
    for shown in ("Hjertesvigt med væskeophobning (kongestivt)", "Vaske sig", "Furosemid", "Egen læge"):
        assert shown in body
    assert "Hoftebrud (brud på lårbenshalsen) (gruppe DS720)" in body  # DS7209 named by its group
    assert "2. nov. 2023" in body
    assert "2023-11-02" not in body
    _shot(page, shots, f"citizen-{size}")
    context.close()


def test_contact_details_show_only_when_the_key_store_has_them(chromium, server):
    context, page = _open(chromium, server, "desktop")
    page.goto(f"/lists/{LIST_ID}/citizens/{WITH_CONTACT}")
    contact = page.locator("section.contact")
    assert "Lægehuset Testvej" in contact.inner_text()
    assert "+45 12 34 56 78" in contact.inner_text()
    page.goto(f"/lists/{LIST_ID}/citizens/{KEYS[1]}")
    assert page.locator("section.contact").count() == 0
    context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_failed_save_shows_the_error_in_view_beside_the_field_and_keeps_the_choice(
    chromium, server, shots, size
):
    context, page = _open(chromium, server, size)
    citizen = KEYS[2 if size == "desktop" else 3]
    page.goto(f"/lists/{LIST_ID}/citizens/{citizen}")
    page.get_by_role("radio", name="Ikke relevant").check()
    page.get_by_label("Note (undgå unødige helbredsoplysninger)").fill("Ringet to gange")
    page.get_by_role("button", name="Gem").click()
    page.wait_for_load_state()
    error = page.locator("#error-not_relevant_reason")
    assert "Angiv hvorfor borgeren ikke er relevant." in error.inner_text()
    assert _error_in_view(page, "reason", "#error-not_relevant_reason")
    fieldset = page.locator("fieldset.invalid")
    assert "Begrundelse for ikke relevant" in fieldset.inner_text()
    assert page.get_by_role("radio", name="Ikke relevant").is_checked()  # the choice is kept
    assert page.get_by_label("Note (undgå unødige helbredsoplysninger)").input_value() == "Ringet to gange"
    _shot(page, shots, f"citizen-error-{size}")

    page.get_by_label("Begrundelse for ikke relevant").select_option("declined")
    page.get_by_role("button", name="Gem").click()
    page.wait_for_url("**saved=1**")
    assert page.get_by_role("status").is_visible()
    assert "Gemt." in page.get_by_role("status").inner_text()
    context.close()


def test_a_booked_visit_keeps_its_date_and_the_list_shows_progress(chromium, server, shots):
    context, page = _open(chromium, server, "tablet")
    page.goto(f"/lists/{LIST_ID}")
    before = page.locator("#progress progress").evaluate("bar => [bar.value, bar.max]")
    page.goto(f"/lists/{LIST_ID}/citizens/{KEYS[0]}")
    page.get_by_label("Besøg aftalt").check()
    page.get_by_role("button", name="Gem").click()
    assert _error_in_view(page, "visit-date", "#error-visit_date")
    page.get_by_label("Besøgsdato").fill("2024-02-03")
    page.get_by_role("button", name="Gem").click()
    page.wait_for_url("**saved=1**")
    assert "besøg 3. feb. 2024" in page.locator("main").inner_text()
    history = page.locator("section", has_text="Historik").inner_text()
    assert "kl. 10.00" in history  # 09:00 UTC on the fake clock is 10.00 in Copenhagen
    page.locator(".citizen-nav").get_by_role("link", name="Næste ikke behandlede").click()
    page.wait_for_url(f"**/citizens/{KEYS[1]}")
    page.goto(f"/lists/{LIST_ID}")
    progress = page.locator("#progress").inner_text()
    done = int(before[0])  # earlier tests of this module may have finished citizens
    assert f"{done} af 25 færdige · 1 i gang · {24 - done} ikke behandlet" in progress
    assert "besøg 3. feb. 2024" in page.locator("table.worklist tbody tr").first.inner_text()
    _shot(page, shots, "list-progress-tablet")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Eksportér CSV").click()
    raw = Path(download_info.value.path()).read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == ["Rang", "Delt plads", "CPR-nummer", "Navn", "Risiko (%)"]
    assert rows[1][1] == "delt 1.–5. plads"
    assert rows[1][4] == "62,0"
    assert rows[1][11] == "Besøg aftalt"
    context.close()


def test_the_print_view_leaves_a_quarter_of_the_page_for_notes(chromium, server, shots):
    context, page = _open(chromium, server, "desktop")
    page.goto(f"/lists/{LIST_ID}/print")
    page.emulate_media(media="print")
    widths = page.evaluate(
        """() => ({
            table: document.querySelector('table.print-table').getBoundingClientRect().width,
            notes: document.querySelector('table.print-table th.notes').getBoundingClientRect().width,
        })"""
    )
    assert widths["notes"] >= 0.2 * widths["table"], widths
    _no_sideways_scrolling(page)
    _shot(page, shots, "print")
    context.close()


def test_the_glossary_is_one_click_from_the_list(chromium, server, shots):
    context, page = _open(chromium, server, "phone")
    page.goto(f"/lists/{LIST_ID}")
    page.get_by_role("link", name="Ordforklaring").first.click()
    page.wait_for_url("**/glossary")
    for term in ("HFRS", "Charlson", "FSIII", "§79a"):
        assert page.locator(f"dl.glossary dt:has-text('{term}')").count() == 1
    _no_sideways_scrolling(page)
    _shot(page, shots, "glossary-phone")
    context.close()
