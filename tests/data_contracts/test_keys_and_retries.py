"""Pseudonym keys are checked against the warehouse before anything is touched, changed only by the
documented rotation; deliveries held because of an upstream delivery are retried exactly once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from data_contracts.key_rotation import rotate_pseudonym_key
from data_contracts.pseudonym import MIN_KEY_BYTES, PseudonymKeyError, check_pseudonym_key, key_fingerprint
from pipelines.ingest_flow import build_context, run_ingest, selected_sources
from pipelines.settings import DEMO_PSEUDONYM_KEY, MissingPseudonymKeyError, Settings
from tests.data_contracts import tiny_world
from tests.data_contracts.test_intake import ingest
from warehouse import PseudonymKeyMismatchError, Warehouse

OTHER_KEY = "another-secret-key-of-at-least-32-bytes-0123456789"


def test_a_key_shorter_than_32_bytes_is_refused_without_showing_it() -> None:
    with pytest.raises(PseudonymKeyError, match="at least 32 bytes") as refused:
        check_pseudonym_key("k", demo=False, demo_key=DEMO_PSEUDONYM_KEY)
    assert "'k'" not in str(refused.value)
    check_pseudonym_key("x" * MIN_KEY_BYTES, demo=False, demo_key=DEMO_PSEUDONYM_KEY)


def test_the_settings_refuse_a_short_key_and_the_demo_key_outside_demo(tmp_path: Path) -> None:
    short = Settings(home=tmp_path, pseudonym_key="k", pseudonym_key_version="v1")
    with pytest.raises(MissingPseudonymKeyError, match="32 bytes"):
        short.require_pseudonym_key()
    public = Settings(home=tmp_path, pseudonym_key=DEMO_PSEUDONYM_KEY, pseudonym_key_version="v1")
    with pytest.raises(MissingPseudonymKeyError, match="public demo key"):
        public.require_pseudonym_key()
    assert Settings(home=tmp_path, demo=True).require_pseudonym_key()[0] == DEMO_PSEUDONYM_KEY
    assert len(DEMO_PSEUDONYM_KEY.encode()) >= MIN_KEY_BYTES


def test_the_warehouse_records_a_fingerprint_of_the_key_and_never_the_key(world: Settings) -> None:
    ingest(world, ["cpr_population"])
    store = Warehouse(world.warehouse_dir)
    assert store.active_key() == (key_fingerprint(DEMO_PSEUDONYM_KEY), "demo-1")
    catalog = store.catalog_path.read_bytes()
    assert DEMO_PSEUDONYM_KEY.encode() not in catalog


def _with_key(settings: Settings, key: str, version: str) -> Settings:
    return dataclasses.replace(settings, pseudonym_key=key, pseudonym_key_version=version)


def test_ingesting_with_another_key_is_refused_before_any_batch_is_touched(world: Settings) -> None:
    ingest(world, ["cpr_population"])
    store = Warehouse(world.warehouse_dir)
    before = store.batches()
    partitions = sorted(p.name for p in Path(world.warehouse_dir).rglob("batch=*"))
    (world.landing_dir / "deaths" / "2021-03-01").mkdir(parents=True)  # type: ignore[operator]
    other = _with_key(world, OTHER_KEY, "v2")
    messages: list[str] = []
    context = build_context(other, echo=messages.append)
    with pytest.raises(PseudonymKeyMismatchError) as refused:
        run_ingest(context, selected_sources(["cpr_population", "deaths", "home_care"]))
    assert "not the key the warehouse" in str(refused.value)
    assert "rotate-key" in str(refused.value)
    assert OTHER_KEY not in str(refused.value) + " ".join(messages)
    pd.testing.assert_frame_equal(store.batches(), before)
    assert sorted(p.name for p in Path(world.warehouse_dir).rglob("batch=*")) == partitions
    # The right key restored: everything that was waiting lands.
    outcomes = {
        o.source: o for o in run_ingest(build_context(world, echo=lambda _: None), selected_sources(None))
    }
    assert not any(o.quarantined for o in outcomes.values())
    assert outcomes["deaths"].landed


def test_a_rotation_retires_the_warehouse_and_the_next_ingest_takes_everything_with_the_new_key(
    world: Settings,
) -> None:
    ingest(world, ["cpr_population"])
    assert world.warehouse_dir is not None
    old_people = set(Warehouse(world.warehouse_dir).table("population")["person_key"])
    with pytest.raises(PseudonymKeyMismatchError):
        rotate_pseudonym_key(
            world.warehouse_dir,
            current_key=OTHER_KEY,
            current_version="demo-1",
            new_key="yet-another-secret-key-of-32-bytes-or-more-xyz",
            new_version="v3",
            demo=True,
            demo_key=DEMO_PSEUDONYM_KEY,
        )
    rotation = rotate_pseudonym_key(
        world.warehouse_dir,
        current_key=DEMO_PSEUDONYM_KEY,
        current_version="demo-1",
        new_key=OTHER_KEY,
        new_version="v2",
        demo=True,
        demo_key=DEMO_PSEUDONYM_KEY,
    )
    assert rotation.retired_dir.is_dir()
    assert (rotation.retired_dir / "catalog.duckdb").is_file()
    rotated = _with_key(world, OTHER_KEY, "v2")
    ingest(rotated, ["cpr_population"])
    store = Warehouse(world.warehouse_dir)
    new_people = set(store.table("population")["person_key"])
    assert len(new_people) == len(old_people)
    assert not new_people & old_people
    assert store.active_key() == (key_fingerprint(OTHER_KEY), "v2")
    assert "rotated from key version demo-1" in store.key_history()["note"].iloc[-1]
    with pytest.raises(PseudonymKeyMismatchError):  # the old key is now the wrong one
        store.verify_key(key_fingerprint(DEMO_PSEUDONYM_KEY), "demo-1")


def test_the_rotate_key_command_needs_the_new_key_in_the_environment(world: Settings) -> None:
    from pipelines.cli import cli

    ingest(world, ["cpr_population"])
    runner = CliRunner()
    home = ["--home", str(world.home), "--demo"]
    refused = runner.invoke(cli, [*home, "contracts", "rotate-key", "--new-key-version", "v2", "--yes"])
    assert refused.exit_code != 0
    assert "TIDLIG_NEW_PSEUDONYM_KEY" in refused.output
    result = runner.invoke(
        cli,
        [*home, "contracts", "rotate-key", "--new-key-version", "v2", "--yes"],
        env={"TIDLIG_NEW_PSEUDONYM_KEY": OTHER_KEY},
    )
    assert result.exit_code == 0, result.output
    assert "Rotated" in result.output
    assert OTHER_KEY not in result.output


# ----- held deliveries ---------------------------------------------------------------------------------
NEWCOMER = 12  # a citizen who first appears in the February population extract


def _add_newcomer(world: Settings, *, broken: bool) -> None:
    """February: the population brings a new citizen (its delivery broken or not); GP services of the
    same month already refer to that citizen."""
    landing = world.landing_dir
    assert landing is not None
    population = tiny_world.population_frame(NEWCOMER + 1).iloc[[0, NEWCOMER]].copy()
    population.iloc[0] = tiny_world.population_frame().iloc[0].to_dict() | {
        "BOP_VTIL": "2021-01-20",
        "STATUS": "80",
    }
    if broken:
        population.loc[population.index[1], "KOM"] = "999"  # an unknown municipality code: blocking
    tiny_world.write_csv(landing, "cpr_population", tiny_world.SECOND_EXTRACT, population)
    path = landing / "sssy_services" / tiny_world.SECOND_EXTRACT / "sssy_services.csv"
    services = pd.read_csv(path, dtype=str, keep_default_na=False)
    services.loc[0, "PNR"] = tiny_world.cpr_number(NEWCOMER)
    services.to_csv(path, index=False)


def test_a_delivery_held_by_a_quarantined_upstream_lands_on_the_next_ingest_after_the_fix(
    world: Settings,
) -> None:
    _add_newcomer(world, broken=True)
    first = ingest(world, ["cpr_population", "sssy_services"])
    (held,) = first["sssy_services"].quarantined
    assert held["held_by"] == "cpr_population"
    _add_newcomer(world, broken=False)  # the supplier re-delivers February, fixed
    second = ingest(world, ["cpr_population", "sssy_services"])
    (retry,) = second["sssy_services"].landed
    assert retry["retry"] is True
    assert not second["sssy_services"].quarantined
    ledger = Warehouse(world.warehouse_dir).batches()
    services = ledger[ledger["source"] == "sssy_services"]
    assert sorted(services["status"]) == ["landed", "released"]
    assert ingest(world, ["sssy_services"])["sssy_services"].landed == []  # not taken a third time


def test_a_held_delivery_is_retried_exactly_once(world: Settings) -> None:
    _add_newcomer(world, broken=True)
    ingest(world, ["cpr_population", "sssy_services"])
    # An unrelated population delivery lands; the newcomer is still unknown, so the retry fails again.
    landing = world.landing_dir
    assert landing is not None
    tiny_world.write_csv(
        landing,
        "cpr_population",
        "2021-03-01",
        tiny_world.population_frame().iloc[[1]].assign(BOP_VTIL="2021-02-20", STATUS="80"),
    )
    second = ingest(world, ["cpr_population", "sssy_services"])
    (again,) = second["sssy_services"].quarantined
    assert again["held_by"] is None  # not held a second time
    _add_newcomer(world, broken=False)
    third = ingest(world, ["cpr_population", "sssy_services"])
    assert third["sssy_services"].landed == []
    assert third["sssy_services"].quarantined == []
    ledger = Warehouse(world.warehouse_dir).batches()
    statuses = sorted(ledger.loc[ledger["source"] == "sssy_services", "status"])
    assert statuses == ["quarantined", "released"]


def test_the_retry_held_command_retries_what_is_ready_and_lists_what_still_waits(world: Settings) -> None:
    from pipelines.cli import cli

    _add_newcomer(world, broken=True)
    ingest(world, ["cpr_population", "sssy_services"])
    runner = CliRunner(env={"TIDLIG_DEPLOYMENT": "research"})
    home = ["--home", str(world.home), "--demo"]
    waiting = runner.invoke(cli, [*home, "contracts", "retry-held"])
    assert waiting.exit_code == 0, waiting.output
    assert "1 still held" in waiting.output
    assert "waits for cpr_population" in waiting.output
    _add_newcomer(world, broken=False)
    ingest(world, ["cpr_population"])
    result = runner.invoke(cli, [*home, "contracts", "retry-held", "--source", "sssy_services"])
    assert result.exit_code == 0, result.output
    assert "1 delivery(ies) landed" in result.output
    assert "0 still held" in result.output
