"""Crash safety: an ingest killed between writing a partition and committing it to the catalog leaves the
warehouse as before that batch, and the next run lands the batch exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.ingest_flow import build_context, run_ingest, selected_sources
from pipelines.settings import Settings
from tests.data_contracts import tiny_world
from warehouse import Warehouse
from warehouse.store import CRASH_HOOK_VARIABLE

INGEST_SCRIPT = """
import sys
from pipelines.settings import Settings
from pipelines.ingest_flow import build_context, run_ingest, selected_sources
settings = Settings(home=sys.argv[1], demo=True, deployment="research")
run_ingest(build_context(settings), selected_sources(["cpr_population", "lpr3_contacts"]))
"""


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, subprocess.CompletedProcess]:
    settings = tiny_world.write_tiny_world(tmp_path_factory.mktemp("crash") / "home")
    environment = {**os.environ, CRASH_HOOK_VARIABLE: "lpr3_contacts"}
    completed = subprocess.run(
        [sys.executable, "-c", INGEST_SCRIPT, str(settings.home)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    return settings, completed


def test_the_process_was_killed_mid_landing(crashed) -> None:
    _, completed = crashed
    assert completed.returncode == -signal.SIGKILL


def test_the_killed_batch_is_invisible_and_earlier_batches_are_intact(crashed) -> None:
    settings, _ = crashed
    store = Warehouse(settings.warehouse_dir)
    assert "hospital_contacts" not in store.tables()
    assert set(store.batches()["source"]) == {"cpr_population"}
    written = list((store.root / "hospital_contacts").glob("batch=*/part-0.parquet"))
    assert len(written) == 1  # the partition reached the disk, but no reader sees it


def test_a_rerun_lands_the_batch_exactly_once(crashed) -> None:
    settings, _ = crashed
    context = build_context(settings, echo=lambda _: None)
    run_ingest(context, selected_sources(["cpr_population", "lpr3_contacts"]))
    run_ingest(context, selected_sources(["cpr_population", "lpr3_contacts"]))
    store = Warehouse(settings.warehouse_dir)
    contacts = store.table("hospital_contacts")
    assert len(contacts) == 3
    assert contacts["_record_key"].is_unique
    assert len(list((store.root / "hospital_contacts").glob("batch=*"))) == 1
    assert (store.batches()["source"] == "lpr3_contacts").sum() == 1
