"""Retention periods (review.retention) and an objection seen from the running app."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from review.accounts import find_account
from review.retention import RetentionError, RetentionPeriods, apply_retention
from review.tables import audit_log, decisions, login_attempts
from screening.objections import register_objection
from screening.store import read_current_lists, screening_lists
from tests.review.world import DISTRICT_A, LIST_A, LIST_A_OLD, LIST_B, login, person_key

NOW = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)


def count(engine, table, condition=None) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    if condition is not None:
        query = query.where(condition)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar())


def seed_old_records(engine) -> None:
    nurse = find_account(engine, username="nurse_a")
    with engine.begin() as connection:
        for decided_at in (dt.datetime(2013, 5, 1), dt.datetime(2024, 6, 1)):
            connection.execute(
                sa.insert(decisions).values(
                    list_id=LIST_A_OLD, person_key=person_key(DISTRICT_A, 0), district=DISTRICT_A,
                    user_id=nurse.user_id, role="nurse", decided_at=decided_at, action="visited",
                )
            )  # fmt: skip
        for attempted_at in (dt.datetime(2024, 11, 1), dt.datetime(2024, 12, 20)):
            connection.execute(
                sa.insert(login_attempts).values(
                    username_digest="d" * 64,
                    client_ip="127.0.0.1",
                    attempted_at=attempted_at,
                    succeeded=False,
                )
            )


def test_a_dry_run_counts_and_changes_nothing(world):
    seed_old_records(world.engine)
    audit_rows = count(world.engine, audit_log)
    report = apply_retention(world.engine, RetentionPeriods(lists_days=400), NOW, dry_run=True)
    assert report.dry_run
    assert report.counts["screening_lists"] == 1
    assert report.counts["review_decisions"] == 1
    assert report.counts["review_login_attempts"] == 1
    assert count(world.engine, screening_lists) == 3
    assert count(world.engine, decisions) == 2
    assert count(world.engine, audit_log) == audit_rows


def test_old_lists_decisions_and_login_records_go_but_never_a_current_list_or_the_audit_log(world):
    seed_old_records(world.engine)
    audit_rows = count(world.engine, audit_log)
    report = apply_retention(world.engine, RetentionPeriods(lists_days=400), NOW, dry_run=False)
    assert report.counts["screening_lists"] == 1
    assert report.counts["screening_list_entries"] == 5
    with world.engine.connect() as connection:
        remaining = {row[0] for row in connection.execute(sa.select(screening_lists.c.list_id))}
    assert remaining == {LIST_A, LIST_B}
    assert count(world.engine, decisions) == 1  # the 2013 decision is past ten years, the 2024 one is kept
    assert count(world.engine, login_attempts) == 1
    assert count(world.engine, audit_log) == audit_rows

    far_future = apply_retention(
        world.engine, RetentionPeriods(lists_days=400), NOW.replace(year=2040), dry_run=False
    )
    assert far_future.counts["screening_lists"] == 0  # current lists stay, however old
    assert sorted(read_current_lists(world.engine)["list_id"]) == [LIST_A, LIST_B]


@pytest.mark.parametrize("periods", [RetentionPeriods(lists_days=30), RetentionPeriods(login_days=0)])
def test_a_period_that_would_delete_what_the_platform_needs_is_refused(world, periods):
    with pytest.raises(RetentionError):
        apply_retention(world.engine, periods, NOW, dry_run=False)
    assert count(world.engine, screening_lists) == 3


def test_after_an_objection_the_running_app_no_longer_shows_the_citizen_and_flags_the_list(world):
    citizen = person_key(DISTRICT_A, 0)
    assert login(world.client, "nurse_a").status_code == 303
    before = world.client.get(f"/lists/{LIST_A}")
    assert citizen in before.text  # also fills the app's row cache
    assert world.client.get(f"/lists/{LIST_A}/citizens/{citizen}").status_code == 200
    register_objection(world.engine, citizen, registered_by="kb", at=NOW)
    after = world.client.get(f"/lists/{LIST_A}")
    assert citizen not in after.text
    assert 'id="withdrawn-notice"' in after.text
    assert world.client.get(f"/lists/{LIST_A}/citizens/{citizen}").status_code == 404
