"""The interactive performance page: aggregates only, small cells withheld, and it works in a browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.performance_page import (
    calibration_bins,
    capacity_curve,
    render_performance_page,
    summarise_performance,
    threshold_curve,
)
from models.subgroups import subgroup_table

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def _test_rows(rows: int = 4000, seed: int = 3) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    risk = rng.beta(1.2, 8.0, rows)
    frame = pd.DataFrame(
        {
            "person_key": [f"person-{i:05d}-secret" for i in range(rows)],
            "prediction_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 3, rows) * 91, "D"),
            "district": rng.choice(["101-01", "101-02", "101-03"], rows),
            "age_years": rng.integers(65, 100, rows).astype(float),
            "sex_female": rng.integers(0, 2, rows).astype(float),
            "label": (rng.random(rows) < risk).astype(float),
        }
    )
    noise = np.clip(risk + rng.normal(0, 0.05, rows), 0.001, 0.999)
    return frame, {"model": risk, "age_sex": noise}


def test_a_capacity_whose_flagged_events_are_fewer_than_five_is_withheld_whole():
    rows, _ = _test_rows(200)
    y = np.zeros(len(rows))
    y[:3] = 1.0  # three events, all ranked first
    risk = np.linspace(1.0, 0.0, len(rows))
    first = capacity_curve(rows, y, risk, min_cell=5, grid=[5])[0]
    assert first == {"setting": 5, "flagged": None, "events": None, "ppv": None, "sensitivity": None}


def test_a_threshold_is_withheld_when_the_unflagged_events_are_fewer_than_five():
    y = np.array([1.0] * 20 + [0.0] * 80)
    risk = np.array([0.9] * 17 + [0.1] * 3 + [0.05] * 80)
    # 17 events flagged, 3 missed: the missed cell (3) could be recovered from the total (20) - 17.
    row = threshold_curve(y, risk, min_cell=5, grid=[0.5])[0]
    assert row["flagged"] is None
    assert row["sensitivity"] is None


def test_large_cells_show_ppv_and_sensitivity():
    y = np.array([1.0] * 20 + [0.0] * 80)
    risk = np.array([0.9] * 10 + [0.1] * 10 + [0.8] * 10 + [0.05] * 70)
    row = threshold_curve(y, risk, min_cell=5, grid=[0.5])[0]
    assert row == {"setting": 0.5, "flagged": 20, "events": 10, "ppv": 0.5, "sensitivity": 0.5}


def test_a_calibration_bin_with_few_events_is_withheld_with_a_complement():
    y = np.zeros(100)
    y[-2:] = 1.0  # two events, both in the top tenth; the other tenths hold none
    bins = calibration_bins(y, np.linspace(0, 1, 100), min_cell=5, bins=10)
    withheld = [index for index, b in enumerate(bins) if b["observed"] is None]
    # the top tenth alone would be the shown total (2) minus nine zeros: a second tenth goes with it
    assert 9 in withheld
    assert len(withheld) == 2


def test_the_page_embeds_aggregates_only_and_no_person_key():
    rows, risks = _test_rows()
    table = subgroup_table(rows, risks, 5)
    page = render_performance_page(summarise_performance(rows, risks, table, title="admission_12m"))
    assert not [key for key in rows["person_key"] if key in page]
    assert "secret" not in page
    embedded = re.search(r'<script id="performance-data" type="application/json">(.*?)</script>', page, re.S)
    data = json.loads(embedded.group(1))
    assert set(data["capacity"]) == {"model", "age_sex"}
    assert data["test_rows"] == len(rows)
    assert len(data["threshold"]["model"]) == 60


def test_subgroup_rows_that_were_suppressed_carry_no_numbers():
    rows, risks = _test_rows(300)
    rows.loc[:3, "district"] = "999-99"  # a four-person district
    summary = summarise_performance(rows, risks, subgroup_table(rows, risks, 5), title="t")
    small = [s for s in summary.subgroups if s["level"] == "999-99"]
    assert small == [{"subgroup": "district", "level": "999-99", "suppressed": True}]


@pytest.mark.browser
def test_the_capacity_slider_updates_the_table_in_a_real_browser(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (run `make browser`)")
    from playwright.sync_api import sync_playwright

    rows, risks = _test_rows()
    summary = summarise_performance(rows, risks, subgroup_table(rows, risks, 5), title="admission_12m")
    path = tmp_path / "performance.html"
    path.write_text(render_performance_page(summary), encoding="utf-8")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        assert page.locator("#capacity-value").inner_text() == "25"
        before = page.locator("#capacity-table").inner_text()
        page.locator("#capacity").fill("0")  # the first grid point: 5 visits per district
        assert page.locator("#capacity-value").inner_text() == "5"
        assert page.locator("#capacity-table").inner_text() != before
        assert page.locator("#capacity-chart path").count() == 2
        page.locator("#subgroup-metric").select_option("mean_predicted_risk")
        assert "%" in page.locator("#subgroup-table").inner_text()
        assert page.locator("#calibration-chart circle").count() == 10
        page.screenshot(path=str(tmp_path / "performance.png"), full_page=True)
        browser.close()
    assert errors == []


def test_a_threshold_that_flags_nobody_says_so_instead_of_withholding():
    y = np.array([1.0] * 20 + [0.0] * 80)
    row = threshold_curve(y, np.full(100, 0.1), min_cell=5, grid=[0.5])[0]
    assert row == {"setting": 0.5, "flagged": 0, "events": 0, "ppv": None, "sensitivity": 0.0}
