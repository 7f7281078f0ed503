"""Data quality on the analyst page: per source and month, the rendered quarantine reports and the Great
Expectations Data Docs, served from the home behind the analyst role, path-confined, without values."""

from __future__ import annotations

import dataclasses
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from review.app import create_app
from review.tables import audit_log
from tests.data_contracts import tiny_world
from tests.review.quality_rows import BAD_CPR, BAD_SEX, ingested_home, person_keys_of, record_data_quality
from tests.review.world import login


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return ingested_home(tmp_path_factory.mktemp("quality"))


@pytest.fixture
def client(world, home):
    record_data_quality(world.engine, home)
    config = dataclasses.replace(
        world.config, quarantine_dir=home.quarantine_dir, data_docs_dir=home.data_docs_dir
    )
    with TestClient(create_app(config, clock=world.clock, migrate=False)) as client:
        yield client


def links(page, prefix):
    return re.findall(rf'href="({re.escape(prefix)}[^"]+)"', page.text)


def no_person_data(text, home):
    assert BAD_CPR not in text
    assert BAD_SEX not in text
    assert all(cpr not in text for cpr in tiny_world.cprs())
    assert all(key not in text for key in person_keys_of(home))


def test_the_page_shows_deliveries_per_source_and_month_and_links_reports_and_docs(client, home):
    login(client, "analyst")
    page = client.get("/monitoring")
    assert page.status_code == 200
    assert "Datakvalitet pr. kilde og måned" in page.text
    assert 'class="chart quality-grid"' in page.text
    assert "cpr_population" in page.text
    assert links(page, "/monitoring/reports/")  # the quarantined population extract
    assert links(page, "/monitoring/data-docs/")
    no_person_data(page.text, home)


def test_a_quarantine_report_opens_with_counts_and_rows_but_no_values(client, home):
    login(client, "analyst")
    report = client.get(links(client.get("/monitoring"), "/monitoring/reports/")[0])
    assert report.status_code == 200
    assert "Quarantined: cpr_population" in report.text
    assert "script-src 'none'" in report.headers["content-security-policy"]
    no_person_data(report.text, home)


def test_every_data_docs_page_and_its_index_open_without_values_and_are_audited(client, home, world):
    login(client, "analyst")
    for link in links(client.get("/monitoring"), "/monitoring/data-docs/"):
        page = client.get(link)
        assert page.status_code == 200
        assert "expect_" in page.text or "Expectation" in page.text
        no_person_data(page.text, home)
    index = client.get("/monitoring/data-docs/index.html")
    assert index.status_code == 200
    style = client.get("/monitoring/data-docs/static/styles/data_docs_default_styles.css")
    assert style.status_code == 200
    assert style.headers["content-type"].startswith("text/css")
    with world.engine.connect() as connection:
        actions = [row[0] for row in connection.execute(sa.select(audit_log.c.action))]
    assert "data_docs_view" in actions


@pytest.mark.parametrize(
    "path",
    [
        "/monitoring/data-docs/../../operational.sqlite",
        "/monitoring/data-docs/%2e%2e/%2e%2e/operational.sqlite",
        "/monitoring/data-docs/..%2f..%2fwarehouse%2fcatalog.duckdb",
        "/monitoring/data-docs/%2e%2e/validations",
        "/monitoring/reports/%2e%2e/data_docs/site/index.html",
        "/monitoring/reports/cpr_population/report.json",
        "/monitoring/data-docs/static/nothing.html",
        "/monitoring/data-docs/%2Fetc%2Fpasswd",
    ],
)
def test_nothing_outside_the_docs_and_report_folders_is_served(client, path):
    login(client, "analyst")
    assert client.get(path).status_code == 404


def test_a_link_inside_the_site_that_points_outside_it_is_not_followed(client, home):
    target = home.data_docs_dir / "site" / "escape.html"
    outside = next(home.quarantine_dir.rglob("report.html"))  # an HTML file, but not in the site
    target.symlink_to(outside)
    try:
        login(client, "analyst")
        assert client.get("/monitoring/data-docs/escape.html").status_code == 404
    finally:
        target.unlink()


def test_a_clinician_opens_neither_docs_nor_reports(client):
    login(client, "nurse_a")
    assert client.get("/monitoring/data-docs/index.html").status_code == 403
    assert client.get("/monitoring/reports/cpr_population/x/report.html").status_code == 403
