"""The operational DB: one current list per district, idempotent publishing, all-or-nothing transactions."""

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from screening import store as store_module
from screening.store import (
    ListToPublish,
    SimulatedCrashError,
    current_list_runs,
    newer_current_lists,
    operational_engine,
    publish_lists,
    publishing_record,
    read_current_lists,
    read_list_entries,
    read_previous_list,
    read_review_decisions,
    read_runs,
    read_scores,
    record_run,
    screening_runs,
)

CREATED = dt.datetime(2024, 3, 4, 5, 0, tzinfo=dt.UTC)


def a_list(list_id: str, district: str = "d1", as_of: dt.date = dt.date(2024, 3, 4), people=("p1", "p2")):
    header = {
        "list_id": list_id,
        "district": district,
        "municipality": "101",
        "as_of_date": as_of,
        "model_versions": {"admission": "1"},
        "feature_set_version": "fs",
        "data_batches": ["b1"],
        "run_id": "run-1",
        "capacity": 2,
    }
    entries = [
        {
            "rank": rank,
            "person_key": person,
            "risk": 0.5 - rank / 10,
            "risk_previous": None,
            "risk_change": None,
            "new_on_list": True,
            "flags": ["age_80"],
            "reasons_da": ["x"],
            "reasons_en": ["x"],
            "suggested_action_da": "a",
            "suggested_action_en": "a",
            "outcome": "admission",
        }
        for rank, person in enumerate(people, start=1)
    ]
    facts = [{"person_key": person, "facts": {"admissions_count_12m": 1}} for person in people]
    scores = [{"person_key": person, "risk": 0.3} for person in (*people, "p9")]
    return ListToPublish(header, entries, facts, scores)


@pytest.fixture
def engine(tmp_path):
    engine = operational_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    yield engine
    engine.dispose()


def test_create_schema_is_idempotent(engine):
    operational_engine(str(engine.url)).dispose()
    assert {
        "screening_lists",
        "screening_list_entries",
        "citizen_facts",
        "screening_scores",
        "screening_runs",
    } <= set(sa.inspect(engine).get_table_names())


def test_a_new_list_supersedes_the_current_list_of_its_district_only(engine):
    publish_lists(engine, [a_list("old-d1"), a_list("old-d2", district="d2")], created_at=CREATED)
    publish_lists(engine, [a_list("new-d1", as_of=dt.date(2024, 3, 11))], created_at=CREATED)
    current = read_current_lists(engine)
    assert sorted(current["list_id"]) == ["new-d1", "old-d2"]


def test_publishing_the_same_list_again_changes_nothing(engine):
    publish_lists(engine, [a_list("same")], created_at=CREATED)
    publish_lists(engine, [a_list("same")], created_at=CREATED + dt.timedelta(days=1))
    current = read_current_lists(engine)
    assert list(current["list_id"]) == ["same"]
    assert len(read_list_entries(engine, "same")) == 2


def test_a_crash_while_publishing_leaves_the_previous_lists_current_and_no_partial_rows(engine):
    publish_lists(engine, [a_list("old-d1"), a_list("old-d2", district="d2")], created_at=CREATED)
    new = [
        a_list("new-d1", as_of=dt.date(2024, 3, 11)),
        a_list("new-d2", district="d2", as_of=dt.date(2024, 3, 11)),
    ]
    with pytest.raises(SimulatedCrashError):
        publish_lists(engine, new, created_at=CREATED, fail_after_rows=6)
    assert sorted(read_current_lists(engine)["list_id"]) == ["old-d1", "old-d2"]
    assert read_list_entries(engine, "new-d1").empty
    assert read_scores(engine, ["new-d1"]).empty


def test_previous_list_is_the_latest_strictly_before_the_date(engine):
    publish_lists(engine, [a_list("w1", as_of=dt.date(2024, 3, 4))], created_at=CREATED)
    publish_lists(engine, [a_list("w2", as_of=dt.date(2024, 3, 11))], created_at=CREATED)
    assert read_previous_list(engine, "d1", dt.date(2024, 3, 11))["list_id"] == "w1"
    assert read_previous_list(engine, "d1", dt.date(2024, 3, 4)) is None
    assert sorted(read_scores(engine, ["w1"])["person_key"]) == ["p1", "p2", "p9"]


RUN = {
    "run_id": "run-1",
    "as_of_date": dt.date(2024, 3, 4),
    "reason": None,
    "list_ids": ["l1"],
    "model_versions": {},
    "feature_set_version": None,
    "data_batches": [],
}


def count_runs(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(screening_runs)).scalar()


def test_every_run_is_its_own_record_and_unknown_statuses_are_rejected(engine):
    first = record_run(engine, status="published", finished_at=CREATED, **RUN)
    second = record_run(engine, status="unchanged", finished_at=CREATED + dt.timedelta(hours=1), **RUN)
    third = record_run(
        engine, status="refused", finished_at=CREATED + dt.timedelta(hours=2), **{**RUN, "reason": "hold"}
    )
    assert first < second < third
    assert list(read_runs(engine)["status"]) == ["refused", "unchanged", "published"]
    with pytest.raises(ValueError, match="Unknown run status"):
        record_run(engine, status="maybe", finished_at=CREATED, **RUN)


def test_a_later_refused_or_unchanged_run_never_describes_the_lists_it_did_not_publish(engine):
    publish_lists(engine, [a_list("l1")], created_at=CREATED)
    published = record_run(engine, status="published", finished_at=CREATED, **RUN)
    record_run(engine, status="unchanged", finished_at=CREATED + dt.timedelta(hours=1), **RUN)
    record_run(
        engine, status="refused", finished_at=CREATED + dt.timedelta(hours=2), **{**RUN, "reason": "hold"}
    )
    publisher = publishing_record(engine, "run-1")
    assert publisher["record_id"] == published
    assert publisher["status"] == "published"
    assert current_list_runs(engine).loc[0, "record_id"] == published


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE screening_runs SET status = 'published'",
        "DELETE FROM screening_runs",
    ],
)
def test_run_records_cannot_be_changed_or_removed_by_a_stray_statement(engine, statement):
    record_run(engine, status="refused", finished_at=CREATED, **{**RUN, "reason": "drift"})
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text(statement))
    assert count_runs(engine) == 1
    assert read_runs(engine).loc[0, "status"] == "refused"


def test_no_code_path_updates_or_deletes_run_records():
    source = Path(store_module.__file__).read_text(encoding="utf-8")
    assert "sa.update(screening_runs" not in source
    assert "sa.delete(screening_runs" not in source


def test_a_database_of_the_first_schema_keeps_its_run_rows_and_becomes_append_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = sa.create_engine(url)
    with old.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE screening_runs (run_id VARCHAR(64) PRIMARY KEY, as_of_date DATE NOT NULL, "
                "finished_at DATETIME NOT NULL, status VARCHAR(16) NOT NULL, reason TEXT, list_ids JSON "
                "NOT NULL, model_versions JSON NOT NULL, feature_set_version VARCHAR(64), data_batches JSON "
                "NOT NULL)"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO screening_runs VALUES ('run-a', '2024-03-04', '2024-03-04 05:00:00.000000', "
                "'published', NULL, '[\"l1\"]', '{\"admission\": \"7\"}', 'fs', '[\"b1\"]')"
            )
        )
    old.dispose()
    engine = operational_engine(url)
    runs = read_runs(engine)
    assert list(runs["run_id"]) == ["run-a"]
    assert runs.loc[0, "list_ids"] == ["l1"]
    assert runs.loc[0, "model_versions"] == {"admission": "7"}
    record_run(engine, status="refused", finished_at=CREATED, **{**RUN, "run_id": "run-a", "reason": "x"})
    assert count_runs(engine) == 2
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM screening_runs"))
    operational_engine(url).dispose()  # idempotent once upgraded
    assert count_runs(engine) == 2
    engine.dispose()


@pytest.mark.postgres
def test_on_postgresql_run_records_refuse_truncate_and_a_dropped_trigger_comes_back(postgres_engine):
    store_module.create_schema(postgres_engine)
    record_run(postgres_engine, status="refused", finished_at=CREATED, **{**RUN, "reason": "drift"})
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), postgres_engine.begin() as connection:
        connection.execute(sa.text("TRUNCATE screening_runs"))
    with postgres_engine.begin() as connection:
        connection.execute(sa.text("DROP TRIGGER screening_runs_append_only ON screening_runs"))
    store_module.create_schema(postgres_engine)  # the next scoring run
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), postgres_engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM screening_runs"))
    assert count_runs(postgres_engine) == 1


def test_review_decisions_map_not_relevant_to_dismissed(engine):
    assert read_review_decisions(engine) is None
    with engine.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE review_decisions (person_key TEXT, decided_at TIMESTAMP, action TEXT)")
        )
        connection.execute(
            sa.text(
                "INSERT INTO review_decisions VALUES ('p1', '2024-03-01 10:00:00', 'not_relevant'),"
                " ('p2', '2024-03-02 10:00:00', 'visit_done')"
            )
        )
    decisions = read_review_decisions(engine)
    assert decisions.to_dict("records") == [
        {"person_key": "p1", "decided_on": dt.date(2024, 3, 1), "kind": "dismissed"},
        {"person_key": "p2", "decided_on": dt.date(2024, 3, 2), "kind": "reviewed"},
    ]


# ----- list history that never lies: "current" is the newest as-of date per district -------------------


def test_backfilling_an_older_date_is_stored_as_history_and_the_newer_list_stays_current(engine):
    publish_lists(engine, [a_list("jan", as_of=dt.date(2024, 1, 1))], created_at=CREATED)
    publish_lists(engine, [a_list("oct", as_of=dt.date(2023, 10, 1))], created_at=CREATED + dt.timedelta(1))
    assert list(read_current_lists(engine)["list_id"]) == ["jan"]
    assert newer_current_lists(engine, ["oct", "jan"]) == {"oct": dt.date(2024, 1, 1)}
    assert len(read_list_entries(engine, "oct")) == 2  # the history is kept in full
    assert read_previous_list(engine, "d1", dt.date(2024, 1, 1))["list_id"] == "oct"


def test_a_backfill_in_one_district_does_not_touch_another(engine):
    publish_lists(
        engine,
        [
            a_list("d1-jan", as_of=dt.date(2024, 1, 1)),
            a_list("d2-oct", district="d2", as_of=dt.date(2023, 10, 1)),
        ],
        created_at=CREATED,
    )
    publish_lists(
        engine,
        [
            a_list("d1-oct", as_of=dt.date(2023, 10, 1)),
            a_list("d2-jan", district="d2", as_of=dt.date(2024, 1, 1)),
        ],
        created_at=CREATED,
    )
    assert sorted(read_current_lists(engine)["list_id"]) == ["d1-jan", "d2-jan"]


def test_the_same_date_scored_again_with_new_inputs_replaces_the_current_list(engine):
    publish_lists(engine, [a_list("model-1", as_of=dt.date(2024, 1, 1))], created_at=CREATED)
    publish_lists(engine, [a_list("model-2", as_of=dt.date(2024, 1, 1))], created_at=CREATED)
    assert list(read_current_lists(engine)["list_id"]) == ["model-2"]
    assert newer_current_lists(engine, ["model-1"]) == {}


def test_republishing_an_old_list_does_not_make_it_current_again(engine):
    publish_lists(engine, [a_list("oct", as_of=dt.date(2023, 10, 1))], created_at=CREATED)
    publish_lists(engine, [a_list("jan", as_of=dt.date(2024, 1, 1))], created_at=CREATED)
    publish_lists(engine, [a_list("oct", as_of=dt.date(2023, 10, 1))], created_at=CREATED)
    assert list(read_current_lists(engine)["list_id"]) == ["jan"]


def test_every_district_keeps_exactly_one_current_list_whatever_the_order(engine):
    dates = [dt.date(2023, 7, 1), dt.date(2024, 1, 1), dt.date(2023, 1, 1), dt.date(2023, 10, 1)]
    for day in dates:
        publish_lists(engine, [a_list(f"l-{day}", as_of=day)], created_at=CREATED)
        current = read_current_lists(engine)
        assert len(current) == 1
    assert current["as_of_date"].iloc[0] == dt.date(2024, 1, 1)
