"""`tidlig score` end to end on a small fake world: fake champion models (the RiskModelLike protocol), fake
run inputs (the screening.run.RunInputs protocol, with the real operational DB for previous lists and
decisions), and the real operational DB, key store, exports and Prefect flow. The refusal and list rules
themselves are specified in tests/screening/test_run.py."""

import datetime as dt
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from prefect import flow

from features.store import FeatureSetManifest, write_feature_set
from pipelines import score_flow as score
from pipelines.cli import cli
from pipelines.errors import PublishRefusedError
from pipelines.parameters import ScoreParameters, read_capacity_file
from pipelines.retry import retry_on_transient_io
from pipelines.settings import Settings
from screening.config import ScreeningConfig
from screening.run import CitizenHistory
from screening.store import (
    SimulatedCrashError,
    keystore,
    keystore_metadata,
    operational_engine,
    read_current_lists,
)

AS_OF = dt.date(2024, 3, 4)
NEXT_WEEK = dt.date(2024, 3, 11)
FEATURES = ["age_years", "acute_admissions_count_0_to_365d", "distinct_drugs_distinct_count_0_to_90d"]
COEFFICIENTS = np.array([0.04, 0.9, 0.12])


class FakeRiskModel:
    """A logistic model with exact linear SHAP values, shaped like models.RiskModel."""

    feature_names = FEATURES
    feature_set_version = "fs-test"

    def __init__(self, version: str = "1", shift: float = 0.0):
        self.version = version
        self.shift = shift

    def _matrix(self, features: pd.DataFrame) -> np.ndarray:
        return features[FEATURES].to_numpy(dtype=float)

    def predict_risk(self, features: pd.DataFrame) -> np.ndarray:
        logit = -8.0 + self.shift + self._matrix(features) @ COEFFICIENTS
        return 1 / (1 + np.exp(-logit))

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        centred = self._matrix(features) - np.array([80.0, 0.5, 4.0])
        return pd.DataFrame(centred * COEFFICIENTS, index=features.index, columns=FEATURES)


def population(seed: int = 0, extra_admissions: int = 0, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "person_key": [f"pk{i:03d}" for i in range(n)],
            "prediction_date": pd.Timestamp(AS_OF),
            "municipality": "101",
            "district": [f"101-0{i % 3 + 1}" for i in range(n)],
            "age_years": rng.integers(66, 95, n).astype(float),
            "sex_female": rng.integers(0, 2, n).astype(float),
            "living_alone": rng.integers(0, 2, n).astype(float),
            "acute_admissions_count_0_to_365d": rng.poisson(0.6, n).astype(float) + extra_admissions,
            "distinct_drugs_distinct_count_0_to_90d": rng.poisson(4, n).astype(float),
        }
    )


def history_from(features: pd.DataFrame, person_keys, as_of) -> CitizenHistory:
    """Warehouse rows that agree with the feature columns (one acute admission per counted admission)."""
    rows = features.set_index("person_key")
    contacts = []
    for person in person_keys:
        count = int(rows.loc[person, "acute_admissions_count_0_to_365d"])
        starts = [pd.Timestamp(as_of) - pd.Timedelta(days=20 * (k + 1)) for k in range(count)]
        contacts.append(
            pd.DataFrame(
                {
                    "person_key": person,
                    "contact_id": [f"{person}-{k}" for k in range(count)],
                    "contact_start": pd.to_datetime(starts),
                    "contact_end": pd.to_datetime([s + pd.Timedelta(days=2) for s in starts]),
                    "priority": "acute",
                    "contact_type": "physical",
                    "action_diagnosis": "DI500",
                }
            )
        )
    return CitizenHistory(
        tables={"hospital_contacts": pd.concat(contacts, ignore_index=True)}, birth_years={}
    )


class FakeInputs(score.WarehouseRunInputs):
    """The run's inputs from the test's state; previous lists and decisions from the real operational DB."""

    def __init__(self, settings, engine, state):
        super().__init__(settings, engine)
        self.state = state

    def batches(self):
        return self.state["batches"]

    def features_at(self, feature_set_version, as_of):
        return self.state["features"].assign(prediction_date=pd.Timestamp(as_of))

    def reference_features(self, feature_set_version, as_of):
        return population(seed=1, n=1000)

    def history_for(self, person_keys, as_of):
        return history_from(self.state["features"], person_keys, as_of)


def landed_batches(quarantine_latest: bool = False) -> pd.DataFrame:
    rows = [
        ("b-lpr-1", "lpr3_contacts", "2024-02-20", "2024-02-21", "landed"),
        ("b-lmdb-1", "lmdb_prescriptions", "2024-02-20", "2024-02-21", "landed"),
    ]
    if quarantine_latest:
        rows.append(("b-lpr-2", "lpr3_contacts", "2024-03-01", "2024-03-02", "quarantined"))
    return pd.DataFrame(rows, columns=["batch_id", "source", "delivered_at", "ingested_at", "status"])


@pytest.fixture
def world(tmp_path):
    settings = Settings(home=tmp_path / "home")
    settings.home.mkdir(parents=True)
    state = {"features": population(), "batches": landed_batches()}
    engine = sa.create_engine(str(settings.keystore_url))
    keystore_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(keystore),
            [
                {
                    "person_key": f"pk{i:03d}",
                    "key_version": "k1",
                    "cpr": f"01014{i:05d}",
                    "name": f"Borger {i}",
                }
                for i in range(300)
            ],
        )
    engine.dispose()
    return settings, state


MODELS = {"admission": FakeRiskModel("7")}
CONFIG = ScreeningConfig(capacity=5)


def run(settings, state, as_of=AS_OF, **options):
    from screening.store import operational_engine

    engine = operational_engine(str(settings.operational_db_url))
    try:
        return score.run_scoring(
            settings,
            as_of,
            options.pop("config", CONFIG),
            models=MODELS,
            inputs=FakeInputs(settings, engine, state),
            **options,
        )
    finally:
        engine.dispose()


def table(settings, name):
    engine = sa.create_engine(str(settings.operational_db_url))
    with engine.connect() as connection:
        frame = pd.read_sql_table(name, connection)
    engine.dispose()
    return frame


def test_one_list_per_district_sized_to_capacity_with_reasons_and_actions(world):
    settings, state = world
    result = run(settings, state)
    assert result.status == "published"
    assert sorted(result.listed_per_district) == ["101-01", "101-02", "101-03"]
    entries = table(settings, "screening_list_entries")
    assert entries.groupby("list_id").size().tolist() == [5, 5, 5]
    assert all(len(reasons) >= 1 for reasons in entries["reasons_en"])
    assert entries["suggested_action_en"].str.len().min() > 0
    lists = table(settings, "screening_lists")
    assert set(lists["status"]) == {"current"}
    assert all(lists["run_id"] == result.run_id)


def test_reasons_match_the_published_facts(world):
    settings, state = world
    run(settings, state)
    entries = table(settings, "screening_list_entries")
    facts = table(settings, "citizen_facts").set_index(["list_id", "person_key"])["facts"]
    checked = 0
    for row in entries.itertuples():
        document = facts.loc[(row.list_id, row.person_key)]
        for reason in row.reasons_en:
            if "acute admission" in reason:
                assert reason.startswith(f"{document['admissions_count_12m']} acute admission")
                checked += 1
    assert checked > 0


def identities_in(folder: Path) -> list[str]:
    """Files under ``folder`` holding a CPR number (as stored or as DDMMYY-SSSS) or a name of the world's
    key store (``01014nnnnn``, ``Borger n``)."""
    import re

    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            if re.search(r"01014-?\d{5}|Borger \d", text):
                found.append(path.name)
    return found


def test_published_files_are_aggregates_and_an_index_without_any_person(world, monkeypatch):
    """Finding 3: the run leaves no identified list on disk and never opens the key store; the lists are
    made in the review app."""
    settings, state = world
    opened = []
    create_engine = sa.create_engine

    def recording(url, *args, **kwargs):
        opened.append(str(url))
        return create_engine(url, *args, **kwargs)

    monkeypatch.setattr(sa, "create_engine", recording)
    result = run(settings, state)
    assert settings.deployment == "operational"
    assert str(settings.operational_db_url) in opened
    assert str(settings.keystore_url) not in opened
    files = sorted(p.name for p in result.output_dir.iterdir())
    assert files == ["capacity_analytics.csv", "exclusions.csv", "index.html"]
    assert identities_in(Path(settings.lists_dir)) == []
    entries = table(settings, "screening_list_entries")
    for path in result.output_dir.iterdir():
        text = path.read_text()
        assert not any(key in text for key in entries["person_key"])  # no pseudonym either
    index = (result.output_dir / "index.html").read_text()
    assert "tidlig review" in index
    assert all(list_id in index for list_id in result.list_ids)


def test_published_files_are_private_to_the_service_account(world):
    """Deliver 8: a run's folder is 0700 and its files 0600, whatever the process umask."""
    settings, state = world
    previous = os.umask(0o022)
    try:
        result = run(settings, state)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(result.output_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(Path(settings.lists_dir).stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in result.output_dir.iterdir()} == {0o600}


def test_the_same_inputs_give_the_same_list_ids_and_byte_identical_files(world):
    settings, state = world
    first = run(settings, state)
    files = {p.name: p.read_bytes() for p in first.output_dir.iterdir()}
    second = run(settings, state)
    assert (first.status, second.status) == ("published", "unchanged")
    assert second.list_ids == first.list_ids
    assert second.run_id == first.run_id
    assert {p.name: p.read_bytes() for p in second.output_dir.iterdir()} == files
    assert len(table(settings, "screening_lists")) == 3


def test_change_since_previous_list_and_new_on_list(world):
    settings, state = world
    run(settings, state)
    run(settings, state, NEXT_WEEK)
    lists = table(settings, "screening_lists")
    assert sorted(lists["status"]) == ["current"] * 3 + ["superseded"] * 3
    newest = lists.loc[lists["as_of_date"] == pd.Timestamp(NEXT_WEEK), "list_id"]
    entries = table(settings, "screening_list_entries")
    entries = entries.loc[entries["list_id"].isin(newest)]
    assert entries["risk_previous"].notna().all()  # everyone listed was scored last week
    assert not entries["new_on_list"].any()  # same features, same people
    assert (entries["risk_change"].abs() < 1e-9).all()


def test_refuses_to_publish_when_the_latest_delivery_of_a_source_was_quarantined(world):
    settings, state = world
    run(settings, state)
    before = sorted(read_current_lists(operational_engine(str(settings.operational_db_url)))["list_id"])
    state["batches"] = landed_batches(quarantine_latest=True)
    with pytest.raises(PublishRefusedError, match="lpr3_contacts was quarantined"):
        run(settings, state, NEXT_WEEK)
    after = sorted(read_current_lists(operational_engine(str(settings.operational_db_url)))["list_id"])
    assert after == before
    runs = table(settings, "screening_runs")
    assert list(runs.sort_values("as_of_date")["status"]) == ["published", "refused"]


def test_refuses_to_publish_when_inputs_drift(world):
    settings, state = world
    run(settings, state)
    state["features"] = population(extra_admissions=3)
    with pytest.raises(
        PublishRefusedError, match=r"(?s)input drift.*- acute_admissions_count_0_to_365d: PSI"
    ):
        run(settings, state, NEXT_WEEK)
    lists = table(settings, "screening_lists")
    assert set(lists["as_of_date"]) == {pd.Timestamp(AS_OF)}


def test_a_lower_threshold_setting_makes_drift_refusal_stricter(world):
    settings, state = world
    strict = settings.with_overrides(drift_psi_threshold=0.0)
    with pytest.raises(PublishRefusedError, match="input drift"):
        run(strict, state)


def test_a_crash_during_publish_leaves_the_previous_lists_current_and_their_files(world):
    settings, state = world
    first = run(settings, state)
    old_index = (first.output_dir / "index.html").read_bytes()
    state["features"] = population().assign(
        distinct_drugs_distinct_count_0_to_90d=lambda f: f["distinct_drugs_distinct_count_0_to_90d"] + 1
    )
    with pytest.raises(SimulatedCrashError):
        run(settings, state, AS_OF, fail_after_rows=40)
    lists = table(settings, "screening_lists")
    assert sorted(lists["list_id"]) == sorted(first.list_ids)
    assert set(lists["status"]) == {"current"}
    assert (first.output_dir / "index.html").read_bytes() == old_index


def test_research_deployment_publishes_the_same_aggregates_only(world):
    settings, state = world
    research = settings.with_overrides(deployment="research")
    result = run(research, state)
    assert sorted(p.name for p in result.output_dir.iterdir()) == [
        "capacity_analytics.csv",
        "exclusions.csv",
        "index.html",
    ]
    assert identities_in(Path(research.lists_dir)) == []
    database = Path(str(research.operational_db_url).removeprefix("sqlite:///")).read_bytes()
    assert b"01014" not in database  # no CPR prefix of the key store anywhere in the lists
    assert b"Borger" not in database
    analytics = pd.read_csv(result.output_dir / "capacity_analytics.csv")
    small = analytics.loc[(analytics["listed"] > 0) & (analytics["listed"] < 5)]
    assert small.empty


def test_capacity_file_sets_capacity_per_district(world, tmp_path):
    settings, state = world
    capacity_file = tmp_path / "capacity.toml"
    capacity_file.write_text('[capacity]\n"101-01" = 2\n"101-02" = 7\n')
    config = ScoreParameters(
        capacity=4,
        capacity_by_district=read_capacity_file(capacity_file),
        exclude_full_home_care=False,
        recent_visit_days=90,
        dismissed_days=180,
        outcome="admission",
    ).screening_config()
    result = run(settings, state, config=config)
    assert result.listed_per_district == {"101-01": 2, "101-02": 7, "101-03": 4}


def test_a_bad_capacity_file_is_refused_with_the_district_named(tmp_path):
    capacity_file = tmp_path / "capacity.json"
    capacity_file.write_text('{"101-01": -3}')
    with pytest.raises(ValueError, match="101-01"):
        ScoreParameters(capacity=4, capacity_by_district=read_capacity_file(capacity_file))


def test_score_command_has_help():
    result = CliRunner().invoke(cli, ["score", "--help"])
    assert result.exit_code == 0
    assert "--as-of" in result.output
    assert "--capacity-file" in result.output


def test_score_command_runs_the_prefect_flow_and_exits_non_zero_on_refusal(world, monkeypatch):
    settings, state = world
    # The command cannot be handed fakes, so the flow's two seams are replaced: the champions and the
    # class implementing the run's inputs.
    monkeypatch.setattr(score, "load_models", lambda s, outcome, horizon: MODELS)
    monkeypatch.setattr(score, "WarehouseRunInputs", lambda s, engine, as_task: FakeInputs(s, engine, state))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(settings.mlflow_tracking_uri))  # undone after the test
    runner = CliRunner()
    published = runner.invoke(
        cli, ["--home", str(settings.home), "score", "--as-of", "2024-03-04", "--capacity", "5"]
    )
    assert published.exit_code == 0, published.output
    assert "Published 3 district lists" in published.output
    state["batches"] = landed_batches(quarantine_latest=True)
    refused = runner.invoke(
        cli, ["--home", str(settings.home), "score", "--as-of", "2024-03-11", "--capacity", "5"]
    )
    assert refused.exit_code != 0
    assert "quarantined" in refused.output
    assert "previous lists stay current" in refused.output
    assert not [name for name in os.environ if name.startswith("TIDLIG_")]  # nothing exported


def test_weekly_until_scores_each_week_in_one_process_and_reports_a_refused_week_after_the_rest(
    world, monkeypatch
):
    """A backfill (and the demo's weekly lists): every 7 days from --as-of, oldest first; a week that is
    refused (here: its inputs drift) is named and the next week still scored, and the command then exits
    non-zero saying which dates were not published."""
    settings, state = world
    drifting = dt.date(2024, 3, 11)

    class WeekInputs(FakeInputs):
        def features_at(self, feature_set_version, as_of):
            rows = population(extra_admissions=3) if as_of == drifting else self.state["features"]
            return rows.assign(prediction_date=pd.Timestamp(as_of))

    monkeypatch.setattr(score, "load_models", lambda s, outcome, horizon: MODELS)
    monkeypatch.setattr(score, "WarehouseRunInputs", lambda s, engine, as_task: WeekInputs(s, engine, state))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(settings.mlflow_tracking_uri))
    arguments = ["--as-of", "2024-03-04", "--weekly-until", "2024-03-20", "--capacity", "5"]
    result = CliRunner().invoke(cli, ["--home", str(settings.home), "score", *arguments])
    assert result.exit_code == 1, result.output
    assert "[1/3] Scoring as of 2024-03-04" in result.output
    assert "[3/3] Scoring as of 2024-03-18" in result.output
    assert "Not published as of 2024-03-11: Not published: input drift" in result.output
    assert "1 of 3 dates were not published (2024-03-11)" in result.output
    lists = table(settings, "screening_lists")
    assert sorted(set(lists["as_of_date"])) == [pd.Timestamp("2024-03-04"), pd.Timestamp("2024-03-18")]
    assert set(lists.loc[lists["status"] == "current", "as_of_date"]) == {pd.Timestamp("2024-03-18")}


def test_weekly_until_before_the_first_date_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["--home", str(tmp_path), "--demo", "score", "--as-of", "2024-03-04", "--weekly-until", "2024-03-01"],
    )
    assert result.exit_code == 2
    assert "2024-03-01 is before the first scoring date 2024-03-04" in result.output


class _FailedState:
    def __init__(self, error):
        self.error = error

    def result(self, raise_on_failure=True):
        return self.error


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (OSError("database is locked"), True),
        (TimeoutError(), True),
        (LookupError("no champion"), False),
        (FileNotFoundError("no features"), False),
        (PublishRefusedError("drift"), False),
    ],
)
def test_steps_are_retried_only_on_transient_io(error, retried):
    assert retry_on_transient_io(None, None, _FailedState(error)) is retried


def test_as_of_latest_is_the_last_prediction_date_of_the_latest_feature_set(tmp_path):
    settings = Settings(home=tmp_path)
    dates = (dt.date(2023, 12, 1), dt.date(2024, 1, 1))
    frame = pd.DataFrame({"person_key": ["a"], "prediction_date": [pd.Timestamp("2024-01-01")]})
    manifest = FeatureSetManifest(
        version="abc",
        spec_hash="0" * 64,
        spec={"name": "test", "features": []},
        mode="as_known",
        area_municipalities=None,
        horizons=(6, 12),
        prediction_dates=dates,
        every="month",
        end_of_data=pd.Timestamp("2024-02-01"),
        data_batches=(),
        columns=("person_key", "prediction_date"),
        rows=1,
    )
    write_feature_set(settings.features_dir, manifest, features=frame, labels=frame, attrition=frame)
    assert score.resolve_as_of("latest", settings) == dt.date(2024, 1, 1)
    assert score.resolve_as_of("2024-03-04", settings) == dt.date(2024, 3, 4)
    with pytest.raises(ValueError, match="Invalid isoformat"):
        score.resolve_as_of("next monday", settings)


def test_as_of_latest_without_features_is_a_clear_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "score", "--as-of", "latest"])
    assert result.exit_code == 2
    assert "tidlig features" in result.output


def test_a_run_file_sets_the_options_and_the_command_line_overrides_them(world, monkeypatch, tmp_path):
    settings, state = world
    monkeypatch.setattr(score, "load_models", lambda s, outcome, horizon: MODELS)
    monkeypatch.setattr(score, "WarehouseRunInputs", lambda s, engine, as_task: FakeInputs(s, engine, state))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(settings.mlflow_tracking_uri))
    run_file = tmp_path / "run.toml"
    run_file.write_text('[score]\ncapacity = 2\ncapacity_by_district = { "101-01" = 3 }\n')
    arguments = ["--home", str(settings.home), "score", "--run-file", str(run_file)]
    result = CliRunner().invoke(cli, [*arguments, "--as-of", "2024-03-04", "--capacity", "4"])
    assert result.exit_code == 0, result.output
    lists = table(settings, "screening_lists").set_index("list_id")["district"]
    sizes = table(settings, "screening_list_entries").groupby("list_id").size()
    assert {lists[list_id]: size for list_id, size in sizes.items()} == {
        "101-01": 3,
        "101-02": 4,
        "101-03": 4,
    }


# ----- the scoring run's date, champions, holds and history (issue 14) ----------------------------------


def test_a_date_past_the_end_of_the_data_is_refused_naming_each_sources_last_delivery(world):
    from pipelines.errors import InvalidParameterError

    settings, state = world
    with pytest.raises(InvalidParameterError, match="Last delivery per source") as refused:
        run(settings, state, dt.date(2026, 1, 5))
    assert "lpr3_contacts 2024-02-20" in str(refused.value)
    assert "lmdb_prescriptions 2024-02-20" in str(refused.value)
    assert refused.value.option == "--as-of"


def test_without_as_of_the_run_scores_at_the_latest_date_the_deliveries_support(world, monkeypatch):
    settings, state = world
    monkeypatch.setattr(score, "read_batches", lambda s: state["batches"])
    assert score.resolve_as_of(None, settings) == dt.date(2024, 2, 20)


def open_holding_item(engine, item_id="item-1", message="Score PSI 0.41 in 101-02 is outside <= 0.25."):
    """One open monitoring review item that holds publication, as the monitor records it."""
    from monitoring.store import create_schema, monitor_review_items, monitor_runs

    create_schema(engine)
    at = dt.datetime(2024, 3, 5, tzinfo=dt.UTC)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(monitor_runs).values(
                run_id="monitor-1", as_of_date=dt.date(2024, 3, 5), finished_at=at, config={}, method="m",
                lists_estimated=[], lists_evaluated=[], items_opened=[item_id], summary="s",
            )
        )  # fmt: skip
        connection.execute(
            sa.insert(monitor_review_items).values(
                item_id=item_id, run_id="monitor-1", opened_at=at, metric="score_psi", value=0.41,
                band="<= 0.25", holds_publication=True, scope={"district": "101-02"}, evidence={},
                message=message,
            )
        )  # fmt: skip


def test_an_open_review_item_that_holds_publication_refuses_with_its_reason_on_the_run(world):
    from monitoring.store import acknowledge_item

    settings, state = world
    run(settings, state)
    engine = operational_engine(str(settings.operational_db_url))
    open_holding_item(engine)
    with pytest.raises(PublishRefusedError, match="hold publication") as refused:
        run(settings, state, NEXT_WEEK)
    assert "tidlig monitor acknowledge item-1" in str(refused.value)
    runs = table(settings, "screening_runs").sort_values("as_of_date")
    assert list(runs["status"]) == ["published", "refused"]
    assert "Score PSI 0.41 in 101-02" in runs["reason"].iloc[-1]
    acknowledge_item(engine, "item-1", analyst="ana", note="checked", at=dt.datetime(2024, 3, 6))
    assert run(settings, state, NEXT_WEEK).status == "published"
    engine.dispose()


def test_an_older_as_of_is_stored_as_history_and_says_which_list_stays_current(world):
    settings, state = world
    run(settings, state, NEXT_WEEK)
    older = run(settings, state, AS_OF)
    assert set(older.kept_current.values()) == {NEXT_WEEK}
    current = read_current_lists(operational_engine(str(settings.operational_db_url)))
    assert set(pd.to_datetime(current["as_of_date"]).dt.date) == {NEXT_WEEK}


def test_a_champion_moved_by_hand_refuses_the_run_and_says_how_to_restore(world, monkeypatch):
    from models import registry

    settings, _ = world

    def refuse(name, uri):
        raise registry.ChampionNotApprovedError(f"Refusing the 'champion' of {name}: To restore: move it.")

    monkeypatch.setattr(registry, "verify_champion", refuse)
    with pytest.raises(PublishRefusedError, match="To restore"):
        score.load_models(settings, "admission", 12)


def test_a_refused_rerun_of_the_same_inputs_does_not_replace_the_record_that_published_the_lists(world):
    from screening.store import current_list_runs

    settings, state = world
    published = run(settings, state)
    again = run(settings, state)
    assert again.status == "unchanged"
    assert again.run_id == published.run_id
    assert again.published_at is not None
    engine = operational_engine(str(settings.operational_db_url))
    open_holding_item(engine)
    with pytest.raises(PublishRefusedError, match="hold publication"):
        run(settings, state)
    runs = table(settings, "screening_runs").sort_values("record_id")
    assert list(runs["run_id"].unique()) == [published.run_id]
    assert list(runs["status"]) == ["published", "unchanged", "refused"]
    behind = current_list_runs(engine)
    assert set(behind["record_id"]) == {published.record_id}
    assert published.record_id == int(runs["record_id"].iloc[0])
    engine.dispose()


def test_after_an_objection_the_next_run_neither_scores_nor_lists_the_citizen(world):
    from screening.objections import register_objection

    settings, state = world
    first = run(settings, state)
    entries = table(settings, "screening_list_entries")
    objector = str(entries.loc[entries["rank"] == 1, "person_key"].iloc[0])
    engine = operational_engine(str(settings.operational_db_url))
    register_objection(engine, objector, registered_by="kb", at=dt.datetime(2024, 3, 5, tzinfo=dt.UTC))
    engine.dispose()
    again = run(settings, state)
    assert again.status == "published"  # the same inputs, but a different list without the objector
    assert again.run_id == first.run_id
    current = set(read_current_lists(operational_engine(str(settings.operational_db_url)))["list_id"])
    entries = table(settings, "screening_list_entries")
    scores = table(settings, "screening_scores")
    assert objector not in set(entries.loc[entries["list_id"].isin(current), "person_key"])
    assert objector not in set(scores["person_key"])
    exclusions = pd.read_csv(again.output_dir / "exclusions.csv")
    assert exclusions["rule"].iloc[0] == "objection_registered"
    assert pd.isna(exclusions["removed"].iloc[0])  # one person: withheld, never named
    assert objector not in (again.output_dir / "exclusions.csv").read_text()


class WalkCountingList(list):
    """A list that counts how often something iterates over it (Prefect's argument walk does)."""

    def __init__(self, items):
        super().__init__(items)
        self.walks = 0

    def __iter__(self):
        self.walks += 1
        return super().__iter__()


def test_the_drift_reference_keeps_its_bins_in_the_home_for_the_next_run(tmp_path):
    """D143: the flow's reference is the feature set's rows with bins kept under the home's
    drift_reference/<version>/; the second run's report is the first's, from the kept bins."""
    from features.store import FeatureColumns
    from screening.drift import comparable_drift_report

    settings = Settings(home=tmp_path)
    reference = pd.concat(
        [
            population(seed=1).assign(prediction_date=pd.Timestamp(day))
            for day in ("2023-12-01", "2024-01-01")
        ],
        ignore_index=True,
    )
    manifest = FeatureSetManifest(
        version="fs-test",
        spec_hash="0" * 64,
        spec={"name": "test", "features": list(FEATURES)},
        mode="as_known",
        area_municipalities=None,
        horizons=(6, 12),
        prediction_dates=(dt.date(2023, 12, 1), dt.date(2024, 1, 1)),
        every="month",
        end_of_data=pd.Timestamp("2024-02-01"),
        data_batches=(),
        columns=tuple(reference.columns),
        rows=len(reference),
    )
    write_feature_set(
        settings.features_dir, manifest, features=reference, labels=reference, attrition=reference
    )
    options = {"current_date": AS_OF, "history_start": dt.date(2019, 1, 1)}
    current = population(seed=2)
    plain = comparable_drift_report(
        FeatureColumns(settings.features_dir, "fs-test", before=pd.Timestamp(AS_OF)),
        current,
        FEATURES,
        0.25,
        **options,
    )
    runs = [
        comparable_drift_report(
            score.reference_features(settings, "fs-test", AS_OF), current, FEATURES, 0.25, **options
        )
        for _ in range(2)
    ]
    for report in runs:
        pd.testing.assert_series_equal(report.psi, plain.psi, check_exact=True)
    assert list((tmp_path / "drift_reference" / "fs-test").glob("*.json"))


def test_a_step_run_as_a_prefect_task_gets_its_arguments_as_given_without_prefect_walking_them():
    received = {}

    def publish(lists, *, scores):
        received.update(lists=lists, scores=scores)
        return len(lists)

    lists = WalkCountingList([{"entries": [{"rank": 1}]}, {"entries": []}])
    scores = WalkCountingList([{"person_key": "pk001", "risk": 0.2}])

    @flow
    def publishing():
        return score.as_prefect_task(publish, retried=True)(lists, scores=scores)

    assert publishing() == 2
    assert received["lists"] is lists
    assert received["scores"] is scores
    assert (lists.walks, scores.walks) == (0, 0)
