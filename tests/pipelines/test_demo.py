import datetime as dt
import itertools
import os

import click
import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.commands.demo import Timeline, demo_steps, timeline_dates, timeline_steps
from tests.pipelines.commands import run_step
from tests.pipelines.home_scan import identified_files, key_store_identities, open_to_others

STEPS = demo_steps(citizens=1000, years=5, seed=1, start_date="2019-01-01")


def test_demo_chain_runs_every_layer_in_data_flow_order():
    assert [step.arguments[0] for step in STEPS] == ["synth", "ingest", "features", "train"]


def test_time_passes_after_training_single_month_starts_then_weekly_lists_then_the_monitor():
    timeline = timeline_dates(dt.date(2023, 12, 10))
    assert timeline.single == (dt.date(2022, 11, 1), dt.date(2023, 5, 1))  # the first matures by the end
    assert all(day.day == 1 for day in timeline.single)  # month starts, like the training dates
    assert timeline.weekly[0] == dt.date(2023, 11, 1)
    assert timeline.weekly[-1] == dt.date(2023, 12, 6)  # the last week the data support
    assert {later - earlier for earlier, later in itertools.pairwise(timeline.weekly)} == {
        dt.timedelta(days=7)
    }
    steps = timeline_steps(timeline)
    assert [step.arguments[0] for step in steps] == ["score", "monitor"] * 3
    assert [step.arguments[2] for step in steps[:4:2]] == ["2022-11-01", "2023-05-01"]
    assert [step.arguments[2] for step in steps[1:4:2]] == ["2022-11-01", "2023-05-01"]
    weekly = steps[4].arguments
    assert weekly[weekly.index("--as-of") + 1] == "2023-11-01"
    assert weekly[weekly.index("--weekly-until") + 1] == "2023-12-06"
    assert steps[5].arguments[2] == "2023-12-06"  # the monitor after the weekly lists, at the last of them
    assert all(step.may_refuse for step in steps[::2])  # a refused list is reported, not a crash
    assert not any(step.may_refuse for step in steps[1::2])


def test_the_weekly_series_ends_at_the_last_week_the_data_support():
    timeline = timeline_dates(dt.date(2023, 12, 5))
    assert timeline.weekly[-1] == dt.date(2023, 11, 29)  # 6 December is past the data
    assert timeline.last == dt.date(2023, 11, 29)


TIMELINE = timeline_steps(timeline_dates(dt.date(2023, 12, 25)))


@pytest.mark.parametrize("step", TIMELINE, ids=lambda step: " ".join(step.arguments[:3]))
def test_every_timeline_step_is_a_valid_command_line(step):
    context = click.Context(cli)
    command = cli.get_command(context, step.arguments[0])
    command.make_context(step.arguments[0], list(step.arguments[1:]), parent=context)


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.arguments[0])
def test_every_demo_step_is_a_valid_command_line(step):
    """Each step's options must parse against the real command, so the demo cannot drift from the CLI."""
    context = click.Context(cli)
    command = cli.get_command(context, step.arguments[0])
    assert command is not None
    command.make_context(step.arguments[0], list(step.arguments[1:]), parent=context)


def test_demo_has_help():
    result = CliRunner().invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0
    assert "--citizens" in result.output


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    """The demo's own command lines, in order, on a small world, then a review app account; run under the
    common umask 022 (so the files' modes are Tidlig's doing, not the test runner's)."""
    home = tmp_path_factory.mktemp("demo")
    saved = dict(os.environ)  # the steps set PREFECT_HOME etc. for their flows; other tests must not see them
    previous_umask = os.umask(0o022)
    for name in [key for key in os.environ if key.startswith("TIDLIG_")]:
        del os.environ[name]  # the user's own TIDLIG_* must not reach the steps
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{home / 'mlflow.db'}"
    try:
        outputs = {
            step.arguments[0]: run_step(home, *step.arguments)
            for step in demo_steps(citizens=2000, years=5, seed=7, start_date="2019-01-01")
        }
        from pipelines.commands.demo import latest_supported_date
        from pipelines.settings import Settings

        latest = latest_supported_date(Settings(home=home, demo=True))
        # a short weekly series: a day that is not a month start (its drift reference is built at that
        # day of earlier months, D148), then the month start; the monitor after the last of them
        before = latest.replace(day=1) - dt.timedelta(days=7)
        weekly = Timeline(single=(), weekly_from=before, weekly_until=latest)
        for step in timeline_steps(weekly):
            outputs[step.arguments[0]] = run_step(home, *step.arguments)
        account = ["users", "add", "--username", "nurse", "--role", "nurse", "--district", "101-01"]
        added = CliRunner().invoke(
            cli, ["--home", str(home), *account, "--password-stdin"], input="violet tractor harbour lamp\n"
        )
        assert added.exit_code == 0, added.output
        yield home, outputs
    finally:
        os.umask(previous_umask)
        os.environ.clear()
        os.environ.update(saved)


@pytest.mark.slow
def test_the_demo_steps_publish_lists_on_a_small_world(demo_home):
    """Every demo step succeeds and lists publish. This is what `make demo` runs (only the world is
    smaller), so a change that breaks the demo, such as a feature whose distribution trips the drift check
    between training and scoring, fails here."""
    _home, outputs = demo_home
    assert "promoted to champion" in outputs["train"]
    assert "Published" in outputs["score"]
    assert "Monitor at" in outputs["monitor"]
    assert "The lists are in the review app" in outputs["score"]


@pytest.mark.slow
def test_after_the_chain_no_file_outside_the_key_store_names_a_citizen(demo_home):
    """Finding 3: every file in the home is scanned (databases, Parquet cells, MLflow artifacts, Prefect's
    database, the published files) except the key store and the synthetic world, which stands in for the
    registries' deliveries and the care system and holds CPR numbers by nature."""
    home, _outputs = demo_home
    cprs, names = key_store_identities(home / "keystore.sqlite")
    assert len(cprs) >= 2000
    assert len(names) > 500  # distinct names (some repeat)
    keystore = home / "keystore.sqlite"
    assert identified_files(home, keystore, skip=[keystore, home / "world"]) == {}
    assert identified_files(home / "world", keystore, skip=[]) != {}  # the scan finds them where they are


@pytest.mark.slow
def test_after_the_chain_no_file_or_folder_in_the_home_is_open_to_others(demo_home):
    """Deliver 8: warehouse, key store, MLflow, feature sets, monitoring, lists, reports, Prefect, the review
    app's database and keys: all 0600 in 0700 folders although the process began with umask 022."""
    home, _outputs = demo_home
    assert {"keystore.sqlite", "operational.sqlite", "mlflow.db", "warehouse", "features", "lists"} <= {
        path.name for path in home.iterdir()
    }
    assert open_to_others(home) == {}


def test_the_summary_is_read_back_from_what_the_run_recorded(tmp_path):
    """Every published list is counted at its date, every refused run is named with its reason, and a
    scoring step that stopped without recording a run is named too: the summary cannot claim more."""
    import datetime as dt

    import sqlalchemy as sa

    from pipelines.commands.demo import timeline_summary
    from pipelines.settings import Settings
    from screening.store import operational_engine, screening_lists, screening_runs

    settings = Settings(home=tmp_path / "home", demo=True)
    settings.home.mkdir()
    engine = operational_engine(str(settings.operational_db_url))
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    run = {"finished_at": at, "list_ids": [], "model_versions": {}, "data_batches": [], "reason": None}
    with engine.begin() as connection:
        connection.execute(
            sa.insert(screening_runs),
            [
                {**run, "run_id": "r1", "as_of_date": dt.date(2023, 1, 1), "status": "published"},
                {**run, "run_id": "r2", "as_of_date": dt.date(2023, 6, 1), "status": "refused",
                 "reason": "Not published: input drift — max PSI 0.9. The previous lists stay current."},
            ],
        )  # fmt: skip
        connection.execute(
            sa.insert(screening_lists),
            [
                {"list_id": f"l{number}", "district": f"d{number}", "municipality": "101",
                 "as_of_date": dt.date(2023, 1, 1), "created_at": at, "model_versions": {},
                 "feature_set_version": "f", "data_batches": [], "run_id": "r1", "capacity": 25,
                 "status": "current"}
                for number in (1, 2)
            ],
        )  # fmt: skip
    engine.dispose()
    lines = timeline_summary(settings, refused=["2023-06-01", "2023-11-01"])
    assert lines[0].startswith("District lists published at 1 date(s): 2023-01-01 (2);")
    assert "Scoring refused at 2023-06-01: Not published: input drift — max PSI 0.9." in lines
    assert lines[-1] == "Scoring stopped without a recorded run at 2023-11-01 (its output is above)."
