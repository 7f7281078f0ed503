"""The hash-chained, append-only audit log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from review.audit import GENESIS_HASH, AuditEvent, AuditLog, chain_hash, verify_chain
from review.tables import audit_log


def event(number: int, person: str = "pk-1") -> AuditEvent:
    return AuditEvent(
        "nurse_a", "nurse", "101-01", "citizen_view", "care_follow_up", f"list-{number}", [person]
    )


@pytest.fixture
def log(world) -> AuditLog:
    audit = AuditLog(world.engine, world.clock)
    for number in range(1, 5):
        audit.append(event(number, person=f"pk-{number}"))
    return audit


def _drop_append_only_guard(engine: sa.Engine) -> None:
    """What an attacker with DDL rights must do first."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(sa.text("DROP TRIGGER review_audit_log_no_update"))
            connection.execute(sa.text("DROP TRIGGER review_audit_log_no_delete"))
        else:
            connection.execute(sa.text("DROP TRIGGER review_audit_log_no_change ON review_audit_log"))


def test_each_row_links_to_the_previous_one(log):
    rows = sorted(log.records(), key=lambda record: record.seq)
    assert rows[0].prev_hash == GENESIS_HASH
    assert [row.prev_hash for row in rows[1:]] == [row.row_hash for row in rows[:-1]]


def test_an_untouched_log_verifies(log):
    report = log.verify()
    assert report.ok
    assert report.rows == 4


def test_updates_are_refused_by_the_database(log, world):
    with pytest.raises(sa.exc.DBAPIError), world.engine.begin() as connection:
        connection.execute(sa.update(audit_log).values(username="someone_else"))


def test_deletes_are_refused_by_the_database(log, world):
    with pytest.raises(sa.exc.DBAPIError), world.engine.begin() as connection:
        connection.execute(sa.delete(audit_log).where(audit_log.c.seq == 2))


def test_a_changed_row_is_detected(log, world):
    _drop_append_only_guard(world.engine)
    with world.engine.begin() as connection:
        connection.execute(sa.update(audit_log).where(audit_log.c.seq == 2).values(username="someone_else"))
    report = log.verify()
    assert not report.ok
    assert report.first_broken_seq == 2


def test_a_deleted_row_in_the_middle_is_detected(log, world):
    _drop_append_only_guard(world.engine)
    with world.engine.begin() as connection:
        connection.execute(sa.delete(audit_log).where(audit_log.c.seq == 3))
    report = log.verify()
    assert not report.ok
    assert report.first_broken_seq == 4


def test_a_recomputed_row_hash_still_breaks_the_next_link(log, world):
    _drop_append_only_guard(world.engine)
    with world.engine.connect() as connection:
        row = dict(connection.execute(sa.select(audit_log).where(audit_log.c.seq == 2)).mappings().one())
    row["person_keys"] = "[]"
    with world.engine.begin() as connection:
        connection.execute(
            sa.update(audit_log)
            .where(audit_log.c.seq == 2)
            .values(person_keys="[]", row_hash=chain_hash(row["prev_hash"], row))
        )
    report = log.verify()
    assert not report.ok
    assert report.first_broken_seq == 3


def test_rows_can_be_found_by_person(log):
    found = log.records(person_key="pk-3")
    assert [record.list_id for record in found] == ["list-3"]


def test_verify_chain_accepts_an_empty_log():
    assert verify_chain([]).ok


def test_the_admin_page_answers_who_looked_at_a_citizen(world):
    from tests.review.world import LIST_A, login, person_key

    citizen = person_key("101-01", 0)
    login(world.client, "nurse_a")
    world.client.get(f"/lists/{LIST_A}/citizens/{citizen}")
    admin = world.new_client()
    login(admin, "admin")
    page = admin.get(f"/admin/audit?person_key={citizen}")
    assert page.status_code == 200
    assert "nurse_a" in page.text
    assert "Så borger" in page.text
    assert "Opfølgning i pleje" in page.text


def test_the_admin_can_search_by_cpr_in_an_operational_deployment(world):
    from tests.review.world import LIST_A, cpr_of, login, person_key

    citizen = person_key("101-01", 0)
    login(world.client, "gp_a")
    world.client.get(f"/lists/{LIST_A}/citizens/{citizen}")
    admin = world.new_client()
    login(admin, "admin")
    page = admin.get(f"/admin/audit?cpr={cpr_of(citizen)}")
    assert "gp_a" in page.text
