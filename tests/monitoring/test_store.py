"""The monitoring tables: one transaction per run, reruns write nothing twice, nothing is ever changed in
place, holds last until an analyst acknowledges them."""

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from monitoring.config import MonitorConfig
from monitoring.run import run_monitor
from monitoring.store import (
    AlreadyAcknowledgedError,
    UnknownReviewItemError,
    acknowledge_item,
    create_schema,
    evaluated_stages,
    monitor_review_items,
    publication_holds,
    read_drift_history,
    read_expected_vs_realised,
    read_realised,
    read_review_items,
    read_runs,
    record_report,
)
from tests.monitoring.world import World

CONFIG = MonitorConfig(simulations=20)
FINISHED = dt.datetime(2024, 2, 1, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def faulty_report():
    return run_monitor(World(home_care_stops_in="d2"), CONFIG, dt.date(2024, 2, 1))


def test_create_schema_is_idempotent(engine):
    create_schema(engine)
    assert {"monitor_runs", "monitor_drift", "monitor_review_items", "monitor_acknowledgements"} <= set(
        sa.inspect(engine).get_table_names()
    )


def test_a_run_is_recorded_once_and_a_rerun_writes_nothing(engine, faulty_report):
    assert record_report(engine, faulty_report, finished_at=FINISHED)
    assert not record_report(engine, faulty_report, finished_at=FINISHED + dt.timedelta(hours=1))
    assert len(read_runs(engine)) == 1
    assert len(read_drift_history(engine)) == len(faulty_report.drift)
    assert len(read_review_items(engine)) == len(faulty_report.items)


def test_stored_stages_are_known_to_the_next_run(engine, faulty_report):
    record_report(engine, faulty_report, finished_at=FINISHED)
    stages = evaluated_stages(engine)
    assert ("d1-2023-01-02", "mature") in stages
    assert ("d1-2023-07-03", "partial") in stages
    assert ("d1-2024-01-01", "expected") in stages


def test_expected_and_realised_sit_side_by_side_per_list(engine, faulty_report):
    record_report(engine, faulty_report, finished_at=FINISHED)
    table = read_expected_vs_realised(engine)
    mature = table.loc[table["list_id"] == "d1-2023-01-02"].iloc[0]
    assert mature["maturity"] == "mature"
    assert 0.5 < mature["expected_auroc"] < 1
    assert 0.5 < mature["realised_auroc"] < 1
    pending = table.loc[table["list_id"] == "d1-2024-01-01"].iloc[0]
    assert pd.isna(pending["maturity"])
    assert set(read_realised(engine, "d1-2023-01-02")["dimension"]) == {
        "overall",
        "district",
        "sex",
        "age_band",
    }


def test_holds_last_until_an_analyst_acknowledges_each_item(engine, faulty_report):
    record_report(engine, faulty_report, finished_at=FINISHED)
    holds = publication_holds(engine)
    assert len(holds) == len(faulty_report.holds) == 2
    item_ids = set(read_review_items(engine, open_only=True)["item_id"])
    assert {reason.split(":")[0] for reason in holds} == {f"item {item_id}" for item_id in item_ids}
    assert all("\n" not in reason and "Publication is held" not in reason for reason in holds)
    for item_id in read_review_items(engine, open_only=True)["item_id"]:
        acknowledge_item(engine, item_id, analyst="ana", note="d2's home-care export is fixed", at=FINISHED)
    assert publication_holds(engine) == []
    acknowledged = read_review_items(engine)
    assert set(acknowledged["acknowledged_by"]) == {"ana"}


def test_an_acknowledgement_needs_a_name_a_note_and_a_known_open_item(engine, faulty_report):
    record_report(engine, faulty_report, finished_at=FINISHED)
    item_id = faulty_report.items[0].item_id
    with pytest.raises(ValueError, match="note"):
        acknowledge_item(engine, item_id, analyst="ana", note=" ", at=FINISHED)
    with pytest.raises(ValueError, match="name"):
        acknowledge_item(engine, item_id, analyst="", note="checked", at=FINISHED)
    with pytest.raises(UnknownReviewItemError, match="No monitoring review item"):
        acknowledge_item(engine, "nope", analyst="ana", note="checked", at=FINISHED)
    acknowledge_item(engine, item_id, analyst="ana", note="checked", at=FINISHED)
    with pytest.raises(AlreadyAcknowledgedError, match="ana"):
        acknowledge_item(engine, item_id, analyst="bo", note="again", at=FINISHED)


def test_the_same_breach_found_again_does_not_open_a_second_item(engine):
    world = World(home_care_stops_in="d2")
    record_report(engine, run_monitor(world, CONFIG, dt.date(2024, 2, 1)), finished_at=FINISHED)
    later = run_monitor(world, MonitorConfig(simulations=21), dt.date(2024, 2, 1))
    record_report(engine, later, finished_at=FINISHED)
    assert len(read_runs(engine)) == 2
    assert len(read_review_items(engine)) == 2


def test_a_breach_at_a_new_date_opens_a_new_item_even_after_an_acknowledgement(engine):
    world = World(home_care_stops_in="d2")
    record_report(engine, run_monitor(world, CONFIG, dt.date(2024, 2, 1)), finished_at=FINISHED)
    for item_id in read_review_items(engine)["item_id"]:
        acknowledge_item(engine, item_id, analyst="ana", note="known", at=FINISHED)
    record_report(engine, run_monitor(world, CONFIG, dt.date(2024, 2, 8)), finished_at=FINISHED)
    assert len(publication_holds(engine)) == 2


@pytest.mark.parametrize("statement", ["UPDATE {t} SET metric = 'x'", "DELETE FROM {t}"])
def test_monitoring_history_cannot_be_changed_in_place(engine, faulty_report, statement):
    record_report(engine, faulty_report, finished_at=FINISHED)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text(statement.format(t=monitor_review_items.name)))
    assert len(read_review_items(engine)) == len(faulty_report.items)


def test_no_person_key_is_stored(engine, faulty_report):
    record_report(engine, faulty_report, finished_at=FINISHED)
    with engine.connect() as connection:
        text = " ".join(
            repr(connection.execute(sa.text(f"SELECT * FROM {table}")).all())
            for table in sa.inspect(engine).get_table_names()
        )
    assert "k000" not in text


def test_publication_holds_is_empty_before_the_monitor_ever_ran(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    assert publication_holds(engine) == []
    engine.dispose()


def assert_refused(engine, *statements):
    """Each statement fails on the append-only triggers (each in a transaction of its own)."""
    for statement in statements:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(sa.text(statement))


@pytest.mark.postgres
def test_on_postgresql_runs_are_recorded_holds_released_and_history_append_only(
    postgres_engine, faulty_report
):
    create_schema(postgres_engine)
    create_schema(postgres_engine)
    assert record_report(postgres_engine, faulty_report, finished_at=FINISHED)
    assert len(publication_holds(postgres_engine)) == 2
    item_id = faulty_report.items[0].item_id
    acknowledge_item(postgres_engine, item_id, analyst="ana", note="checked", at=FINISHED)
    assert len(publication_holds(postgres_engine)) == 1
    assert_refused(
        postgres_engine,
        "UPDATE monitor_review_items SET metric = 'x'",
        "DELETE FROM monitor_acknowledgements",
    )
    assert len(read_review_items(postgres_engine)) == 2


@pytest.mark.postgres
def test_on_postgresql_truncate_is_refused_and_a_dropped_trigger_comes_back(postgres_engine, faulty_report):
    """Emptying the history in one statement, or dropping its guard and waiting, does not go unseen."""
    create_schema(postgres_engine)
    assert record_report(postgres_engine, faulty_report, finished_at=FINISHED)
    assert_refused(postgres_engine, "TRUNCATE monitor_runs CASCADE", "TRUNCATE monitor_review_items CASCADE")
    with postgres_engine.begin() as connection:
        connection.execute(sa.text("DROP TRIGGER monitor_runs_no_truncate ON monitor_runs"))
        connection.execute(sa.text("DROP TRIGGER monitor_runs_append_only ON monitor_runs"))
    create_schema(postgres_engine)  # the next monitor run
    assert_refused(postgres_engine, "TRUNCATE monitor_runs CASCADE", "DELETE FROM monitor_runs")
    assert len(read_review_items(postgres_engine)) == 2


@pytest.mark.postgres
def test_on_postgresql_a_refusing_function_made_harmless_is_put_back(postgres_engine, faulty_report):
    create_schema(postgres_engine)
    assert record_report(postgres_engine, faulty_report, finished_at=FINISHED)
    with postgres_engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE OR REPLACE FUNCTION monitor_refuse_change() RETURNS trigger AS $$ "
                "BEGIN RETURN OLD; END $$ LANGUAGE plpgsql"
            )
        )
    create_schema(postgres_engine)
    assert_refused(postgres_engine, "DELETE FROM monitor_runs")


@pytest.fixture
def restricted_role(postgres_engine):
    """A login role that may read and add rows to the monitor's tables, and change nothing else."""
    import uuid

    create_schema(postgres_engine)
    role = f"tidlig_writer_{uuid.uuid4().hex[:8]}"
    with postgres_engine.begin() as connection:
        connection.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(sa.text(f'GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO "{role}"'))
    engine = sa.create_engine(postgres_engine.url.set(username=role))
    yield engine
    engine.dispose()
    with postgres_engine.begin() as connection:
        connection.execute(sa.text(f'DROP OWNED BY "{role}"'))
        connection.execute(sa.text(f'DROP ROLE "{role}"'))


@pytest.mark.postgres
def test_on_postgresql_a_role_that_may_not_change_the_schema_runs_while_the_protections_stand(
    postgres_engine, restricted_role, faulty_report
):
    create_schema(restricted_role)  # all in place: nothing to create, no privilege needed
    assert record_report(restricted_role, faulty_report, finished_at=FINISHED)
    with postgres_engine.begin() as connection:
        connection.execute(sa.text("DROP TRIGGER monitor_runs_no_truncate ON monitor_runs"))
    with pytest.raises(RuntimeError, match="monitor_runs_no_truncate of table monitor_runs is missing"):
        create_schema(restricted_role)
