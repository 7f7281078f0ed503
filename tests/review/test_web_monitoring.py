"""The analyst's monitoring page: what was expected of each list, what happened, what needs attention;
aggregates only, and acknowledging an item is audited and releases the hold."""

import html

import sqlalchemy as sa

from monitoring.store import publication_holds, read_review_items
from tests.review.monitoring_rows import HOLD_MESSAGE, ITEM_ID, record_monitoring
from tests.review.world import all_person_keys, csrf_from, login


def lists_by_district(engine):
    from screening.store import screening_lists

    with engine.connect() as connection:
        rows = connection.execute(sa.select(screening_lists.c.district, screening_lists.c.list_id)).all()
    return dict(rows)


def test_before_the_monitor_ran_the_page_says_how_to_run_it(world):
    login(world.client, "analyst")
    page = world.client.get("/monitoring")
    assert page.status_code == 200
    assert "tidlig monitor" in page.text


def test_the_page_shows_expected_and_realised_performance_drift_and_the_open_item(world):
    record_monitoring(world.engine, lists_by_district(world.engine))
    login(world.client, "analyst")
    page = world.client.get("/monitoring")
    assert page.status_code == 200
    assert html.escape(HOLD_MESSAGE, quote=False) in page.text
    assert "0.74" in page.text
    assert "0.70–0.78" in page.text
    assert "0.73" in page.text  # realised AUROC of the matured list
    assert "0.96" in page.text  # observed/expected of the matured list
    assert page.text.count("<svg") >= 2  # expected vs realised and the score's drift over time
    assert "<td>hele horisonten</td>" in page.text  # the matured list's maturity, in the page's language
    assert ">nan<" not in page.text
    assert "pk-" not in page.text
    assert all(key not in page.text for key in all_person_keys())


def test_a_clinician_cannot_open_the_monitoring_page(world):
    login(world.client, "nurse_a")
    assert world.client.get("/monitoring").status_code == 403


def test_acknowledging_an_item_is_audited_and_releases_the_hold(world):
    record_monitoring(world.engine, lists_by_district(world.engine))
    assert len(publication_holds(world.engine)) == 1
    login(world.client, "analyst")
    page = world.client.get("/monitoring")
    response = world.client.post(
        f"/monitoring/items/{ITEM_ID}/acknowledge",
        data={"csrf_token": csrf_from(page.text), "note": "d1 export checked; real change"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert publication_holds(world.engine) == []
    item = read_review_items(world.engine).set_index("item_id").loc[ITEM_ID]
    assert item["acknowledged_by"] == "analyst"
    from review.tables import audit_log

    with world.engine.connect() as connection:
        actions = [row[0] for row in connection.execute(sa.select(audit_log.c.action))]
    assert "monitoring_acknowledge" in actions


def test_an_acknowledgement_without_a_csrf_token_is_refused(world):
    record_monitoring(world.engine, lists_by_district(world.engine))
    login(world.client, "analyst")
    response = world.client.post(f"/monitoring/items/{ITEM_ID}/acknowledge", data={"note": "x"})
    assert response.status_code == 403
    assert len(publication_holds(world.engine)) == 1


def test_the_runs_table_marks_the_record_that_published_the_current_lists_not_a_later_refusal(world):
    import datetime as dt
    import re

    from screening.store import record_run

    run = {
        "run_id": "run-2024-01-01",
        "as_of_date": dt.date(2024, 1, 1),
        "list_ids": [],
        "model_versions": {},
        "feature_set_version": "fs",
        "data_batches": [],
    }
    at = dt.datetime(2024, 1, 1, 5, 0, tzinfo=dt.UTC)
    published = record_run(world.engine, status="published", finished_at=at, reason=None, **run)
    refused = record_run(
        world.engine,
        status="refused",
        finished_at=at + dt.timedelta(days=1),
        reason="Not published: hold",
        **run,
    )
    login(world.client, "analyst")
    page = world.client.get("/monitoring").text
    rows = re.findall(r"<tr( class=\"run-current\")?><td>(\d+)</td>", page)
    marked = {int(number) for mark, number in rows if mark}
    assert marked == {published}
    assert refused in {int(number) for _mark, number in rows}
    assert "Not published: hold" in page


def test_the_performance_table_starts_from_each_districts_newest_list_and_folds_the_rest(world):
    import datetime as dt

    from monitoring.store import monitor_expected

    lists = lists_by_district(world.engine)
    record_monitoring(world.engine, lists)
    district = sorted(lists)[0]
    with world.engine.begin() as connection:  # a newer list in one district, expected lower
        connection.execute(
            sa.insert(monitor_expected).values(
                list_id="a-newer-list", run_id="monitor-run-1", district=district,
                as_of_date=dt.date(2024, 2, 1), model_version="3", persons=400, listed=12,
                expected_events=60.0, expected_auroc=0.66, expected_auroc_low=0.61, expected_auroc_high=0.71,
                expected_ppv=0.41, expected_ppv_low=0.25, expected_ppv_high=0.58,
                expected_events_captured=4.9, expected_share_captured=0.08,
                observed_expected_low=0.8, observed_expected_high=1.2, method="CBPE",
            )
        )  # fmt: skip
    login(world.client, "analyst")
    page = world.client.get("/monitoring").text
    newest, _, folded = page.partition('<details class="explain" id="all-lists-performance">')
    newest = newest[newest.index("Nyeste liste pr. distrikt") :]
    assert "0.61–0.71" in newest  # the district's newest list...
    assert newest.count(f"<tr><td>{district}</td>") == 1  # ...and only that one
    assert f"Alle {len(lists) + 1} lister, nyeste først" in folded
    assert "0.61–0.71" in folded
    assert folded.index("2024-02-01") < folded.index("2024-01-01")  # newest first
