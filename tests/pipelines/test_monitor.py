"""`tidlig monitor`: the flow over a real world (slow), the acknowledge command, the date rule."""

import datetime as dt
import os

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from pipelines import monitor_flow
from pipelines.cli import cli
from pipelines.errors import InvalidParameterError
from pipelines.parameters import MonitorParameters
from pipelines.settings import Settings
from screening.store import operational_engine
from tests.pipelines.commands import run_step
from tests.pipelines.test_score import open_holding_item


def ledger(delivered="2024-02-20"):
    return pd.DataFrame(
        [("b-1", "lpr3_contacts", delivered, delivered, "landed")],
        columns=["batch_id", "source", "delivered_at", "ingested_at", "status"],
    )


def test_monitor_and_acknowledge_have_help():
    for arguments in (["monitor", "--help"], ["monitor", "acknowledge", "--help"]):
        result = CliRunner().invoke(cli, arguments)
        assert result.exit_code == 0, result.output
    assert "--note" in CliRunner().invoke(cli, ["monitor", "acknowledge", "--help"]).output


def test_without_as_of_the_monitor_uses_the_latest_date_the_data_support(tmp_path, monkeypatch):
    monkeypatch.setattr(monitor_flow, "read_batches", lambda settings: ledger())
    assert monitor_flow.resolve_monitor_date(None, Settings(home=tmp_path)) == dt.date(2024, 2, 20)


def test_a_monitor_date_past_the_data_is_a_usage_error_naming_the_last_delivery(tmp_path, monkeypatch):
    monkeypatch.setattr(monitor_flow, "read_batches", lambda settings: ledger())
    with pytest.raises(InvalidParameterError, match="lpr3_contacts 2024-02-20") as error:
        monitor_flow.resolve_monitor_date("2025-01-01", Settings(home=tmp_path))
    assert error.value.option == "--as-of"


def test_bad_monitor_parameters_are_usage_errors():
    with pytest.raises(InvalidParameterError, match="horizon_months"):
        MonitorParameters(horizon_months=0).monitor_config()


def test_acknowledge_releases_the_hold_and_a_second_time_says_who_did(tmp_path):
    settings = Settings(home=tmp_path)
    tmp_path.mkdir(exist_ok=True)
    engine = operational_engine(str(settings.operational_db_url))
    open_holding_item(engine)
    arguments = ["--home", str(tmp_path), "monitor", "acknowledge", "item-1", "--by", "ana", "--note", "ok"]
    first = CliRunner().invoke(cli, arguments)
    assert first.exit_code == 0, first.output
    assert "Nothing holds publication now" in first.output
    second = CliRunner().invoke(cli, arguments)
    assert second.exit_code == 1
    assert "already acknowledged by ana" in second.output
    engine.dispose()


def test_acknowledging_an_unknown_item_says_where_to_find_the_ids(tmp_path):
    arguments = ["--home", str(tmp_path), "monitor", "acknowledge", "nope", "--by", "ana", "--note", "ok"]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 1
    assert "No monitoring review item 'nope'" in result.output


def test_the_span_of_a_split_parameter_gives_the_reference_period():
    first, last = monitor_flow._span_dates("2021-02-01..2021-07-01 (6 dates)")
    assert (first, last) == (pd.Timestamp("2021-02-01"), pd.Timestamp("2021-07-01"))
    assert monitor_flow._span_dates(None) is None


# ----- the real flow on a small world --------------------------------------------------------------------


class HomeCareStopsIn(monitor_flow.WarehouseMonitorInputs):
    """The real inputs, with one district's home-care source stopped: its citizens' home-care features
    read as if no home care had been delivered (what a stopped export looks like to the features)."""

    district = ""

    def current_features(self, as_of):
        rows = super().current_features(as_of)
        stopped = rows["district"] == self.district
        for column in [name for name in rows.columns if name.startswith("home_care")]:
            rows.loc[stopped, column] = 0
        return rows


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Overriding the parameters from Reference Dataset:UserWarning")
def test_a_stopped_home_care_source_is_flagged_within_two_monitor_runs(tmp_path):
    from monitoring.config import MonitorConfig
    from monitoring.store import read_review_items

    home = tmp_path / "home"
    saved = dict(os.environ)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
    try:
        run_step(home, "synth", "--citizens", "2000", "--years", "5", "--seed", "7", "--history-years", "5")
        run_step(home, "ingest")
        run_step(home, "features", "--every", "quarter")
        run_step(home, "train", "--outcome", "admission", "--trials", "2", "--budget-seconds", "60")
        run_step(home, "score", "--as-of", "2023-10-01", "--capacity", "25")
        clean = run_step(home, "monitor", "--as-of", "2023-10-01", "--simulations", "20")
        assert "Monitor at 2023-10-01" in clean
        settings = Settings(home=home, demo=True)
        engine = operational_engine(str(settings.operational_db_url))
        before = set(read_review_items(engine)["item_id"])
        district = pd.read_sql(sa.text("SELECT district FROM screening_lists LIMIT 1"), engine)["district"][0]
        config = MonitorConfig(simulations=20)
        champion = monitor_flow.load_champion_for_monitor(settings, "admission", 12)
        HomeCareStopsIn.district = district
        flagged = []
        for day in (dt.date(2023, 11, 1), dt.date(2023, 12, 1)):  # within two runs
            inputs = HomeCareStopsIn(settings, engine, champion, config)
            monitor_flow.run_monitoring(settings, day, config, champion=champion, inputs=inputs)
            items = read_review_items(engine, open_only=True)
            new = items.loc[~items["item_id"].isin(before)]
            flagged = new.loc[
                new["message"].str.contains("home_care") & new["message"].str.contains(district)
            ]
            if not flagged.empty:
                break
        assert not flagged.empty
        assert flagged["holds_publication"].astype(bool).all()

        class NoWork(HomeCareStopsIn):
            def reference_features(self):
                raise AssertionError("an identical rerun computed the drift again")

        again = monitor_flow.run_monitoring(
            settings, day, config, champion=champion, inputs=NoWork(settings, engine, champion, config)
        )
        assert not again.recorded  # found recorded before any of the work
        assert again.holds  # and still says what holds publication
        engine.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_outcomes_of_a_date_are_built_once_for_all_its_district_lists(tmp_path, monkeypatch):
    """Every district's list of one date is judged on the same cohort's outcomes; building them per list
    made the demo's last monitor read the warehouse 46 times for two dates."""
    from monitoring.config import MonitorConfig

    built = []

    def fake_read_outcomes(settings, list_date, observed_until, config):
        built.append((list_date, observed_until))
        return pd.DataFrame({"person_key": ["a"], "event": [True], "event_date": [pd.Timestamp(list_date)]})

    class Lists(monitor_flow.WarehouseMonitorInputs):
        def published_lists(self):
            return pd.DataFrame(
                {
                    "list_id": ["l1", "l2", "l3"],
                    "as_of_date": [dt.date(2023, 1, 2), dt.date(2023, 1, 2), dt.date(2023, 1, 9)],
                }
            )

    monkeypatch.setattr(monitor_flow, "read_outcomes", fake_read_outcomes)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    inputs = Lists(Settings(home=tmp_path), engine, champion=None, config=MonitorConfig())
    end = dt.date(2024, 1, 9)
    frames = [inputs.outcomes(list_id, end) for list_id in ("l1", "l2", "l3", "l1")]
    assert built == [(dt.date(2023, 1, 2), end), (dt.date(2023, 1, 9), end)]
    assert frames[0] is frames[1]
    pd.testing.assert_frame_equal(frames[2], fake_read_outcomes(None, dt.date(2023, 1, 9), end, None))
    engine.dispose()
