"""Data quality per source and month: deliveries landed, quarantined, held, with warnings, missing, rows
(small counts withheld), and the reports to open; recorded append-only with the monitor run."""

import datetime as dt
import json

import pandas as pd
import pytest
import sqlalchemy as sa

from monitoring.config import MonitorConfig
from monitoring.data_quality import data_quality_rows
from monitoring.run import run_monitor
from monitoring.store import create_schema, monitor_data_quality, read_data_quality, record_report
from tests.monitoring.world import World

MONTHLY = {"gp_contacts": "monthly", "home_care": "continuous"}


def batch(source, day, status="landed", rows=1000, report=None, held_by=None, number=[0]):  # noqa: B006, PLR0917
    number[0] += 1
    return {
        "batch_id": f"{source}-{day}-{number[0]}", "source": source, "delivery": day,
        "delivered_at": pd.Timestamp(day), "ingested_at": pd.Timestamp("2024-03-01") + pd.Timedelta(
            seconds=number[0]), "status": status, "rows": rows,
        "report": None if report is None else json.dumps(report), "held_by": held_by,
        "sequence": None, "previous_delivery": None,
    }  # fmt: skip


@pytest.fixture
def ledger(tmp_path):
    folder = tmp_path / "quarantine" / "gp_contacts" / "2024-02-01" / "b"
    return pd.DataFrame(
        [
            batch("gp_contacts", "2023-12-01"),
            # January never delivered; February quarantined once, then landed with a warning and 3 rows
            # left out by a row-level rule
            batch("gp_contacts", "2024-02-01", "quarantined", 1200, {"report": str(folder / "report.md")}),
            batch("gp_contacts", "2024-02-01", rows=1197, report={"warnings": [{}], "rows_quarantined": 3}),
            batch("gp_contacts", "2024-03-01"),
            batch("home_care", "2024-02-10", "quarantined", 40, held_by="cpr_population"),
            batch("home_care", "2024-02-11", rows=2),
            batch("gp_contacts", "2024-05-01"),  # after the monitor date: not yet known
        ]
    ), tmp_path / "quarantine"


def test_each_source_month_counts_its_deliveries_and_what_became_of_them(ledger):
    batches, quarantine = ledger
    rows = data_quality_rows(batches, dt.date(2024, 3, 15), quarantine_dir=quarantine, cadences=MONTHLY)
    table = rows.set_index(["source", "month"])
    february = table.loc[("gp_contacts", "2024-02")]
    assert (february["deliveries"], february["landed"], february["quarantined"]) == (2, 1, 1)
    assert february["warnings"] == 1
    assert february["missing"] == 0
    assert february["rows_landed"] == 1197
    assert february["rows_refused"] == 1200 + 3
    assert february["reports"] == ["gp_contacts/2024-02-01/b"]
    january = table.loc[("gp_contacts", "2024-01")]
    assert (january["deliveries"], january["missing"]) == (0, 1)
    assert ("gp_contacts", "2024-05") not in table.index


def test_a_held_delivery_is_counted_and_small_row_counts_are_withheld(ledger):
    batches, quarantine = ledger
    rows = data_quality_rows(batches, dt.date(2024, 3, 15), quarantine_dir=quarantine, cadences=MONTHLY)
    home_care = rows.set_index(["source", "month"]).loc[("home_care", "2024-02")]
    assert home_care["held"] == 1
    assert home_care["quarantined"] == 1
    assert pd.isna(home_care["rows_landed"])  # 2 rows: could single out citizens
    assert home_care["rows_refused"] == 40
    assert home_care["suppressed"]
    assert home_care["missing"] == 0  # care records arrive continuously: no month is expected


def test_a_report_outside_the_quarantine_folder_is_not_linked(ledger, tmp_path):
    batches, _ = ledger
    rows = data_quality_rows(batches, dt.date(2024, 3, 15), quarantine_dir=tmp_path / "elsewhere")
    assert all(not reports for reports in rows["reports"])


def test_an_empty_ledger_gives_no_rows():
    assert data_quality_rows(pd.DataFrame(), dt.date(2024, 1, 1)).empty


def test_recorded_with_the_run_append_only_and_read_back_for_the_latest_run(tmp_path, ledger):
    batches, quarantine = ledger
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    create_schema(engine)
    config = MonitorConfig(simulations=10)
    world = World(persons=600, districts=("d1",), seed=3)
    report = run_monitor(world, config, dt.date(2024, 3, 15), batches=batches, quarantine_dir=quarantine)
    assert "Data quality: 6 deliveries" in report.summary()
    assert record_report(engine, report, finished_at=dt.datetime(2024, 3, 15, 6, tzinfo=dt.UTC))
    stored = read_data_quality(engine)
    assert len(stored) == len(report.data_quality)
    assert set(stored["as_of_date"]) == {dt.date(2024, 3, 15)}
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.update(monitor_data_quality).values(landed=0))
    engine.dispose()


def test_a_table_from_before_a_new_column_gets_it_added(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    create_schema(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TRIGGER monitor_drift_no_update"))
        connection.execute(sa.text("ALTER TABLE monitor_drift DROP COLUMN bins"))
    create_schema(engine)
    assert "bins" in {column["name"] for column in sa.inspect(engine).get_columns("monitor_drift")}
    engine.dispose()


def test_a_rerun_after_new_deliveries_records_their_data_quality_and_an_identical_rerun_nothing(
    tmp_path, ledger
):
    batches, quarantine = ledger
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    create_schema(engine)
    config = MonitorConfig(simulations=10)
    world = World(persons=600, districts=("d1",), seed=3)
    day, finished = dt.date(2024, 3, 15), dt.datetime(2024, 3, 15, 6, tzinfo=dt.UTC)
    first = run_monitor(world, config, day, batches=batches, quarantine_dir=quarantine)
    assert record_report(engine, first, finished_at=finished)
    same = run_monitor(world, config, day, batches=batches.copy(), quarantine_dir=quarantine)
    assert same.run_id == first.run_id
    assert not record_report(engine, same, finished_at=finished)
    # the home-care delivery held by the population register lands on its retry, after the first run
    retried = pd.concat([batches, pd.DataFrame([batch("home_care", "2024-02-10", rows=40)])])
    later = run_monitor(world, config, day, batches=retried, quarantine_dir=quarantine)
    assert later.run_id != first.run_id
    assert record_report(engine, later, finished_at=finished + dt.timedelta(hours=1))
    latest = read_data_quality(engine).set_index(["source", "month"])
    assert latest.loc[("home_care", "2024-02"), "landed"] == 2
    engine.dispose()


def test_a_delivery_dated_after_the_monitor_date_does_not_change_the_run():
    early = pd.DataFrame([batch("gp_contacts", "2024-02-01")])
    later = pd.concat([early, pd.DataFrame([batch("gp_contacts", "2024-05-01")])])
    world = World(persons=600, districts=("d1",), seed=3)
    config = MonitorConfig(simulations=10)
    day = dt.date(2024, 3, 15)
    assert run_monitor(world, config, day, batches=early).run_id == (
        run_monitor(world, config, day, batches=later).run_id
    )
