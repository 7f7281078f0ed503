"""The synthetic world's export variants are accepted: a world written the way Danish systems write files
lands exactly the rows of the same world written clean, and its missing extract blocks publication."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.settings import Settings
from screening.quarantine import missing_deliveries, publication_blockers
from synthetic.config import WorldConfig
from synthetic.faults import EXPORT_VARIANTS
from synthetic.world import generate_world
from tests.data_contracts.test_intake import ingest
from warehouse import Warehouse

pytestmark = pytest.mark.slow

CONFIG = WorldConfig(citizens=1_200, years=2, seed=5, history_years=0)


def _ingested(home: Path, faults: tuple[str, ...]) -> tuple[Settings, dict, dict]:
    manifest = generate_world(WorldConfig(**{**CONFIG.__dict__, "faults": faults}), home / "world")
    settings = Settings(home=home, demo=True, deployment="research")
    return settings, manifest, ingest(settings)


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> tuple[tuple, tuple]:
    clean = _ingested(tmp_path_factory.mktemp("clean"), ())
    variants = _ingested(tmp_path_factory.mktemp("variants"), (*EXPORT_VARIANTS, "missing_extract"))
    return clean, variants


def _tables(settings: Settings) -> dict[str, pd.DataFrame]:
    store = Warehouse(settings.warehouse_dir)
    return {
        name: store.table(name)
        .drop(columns=["_ingested_at", "_batch_id"])
        .sort_values(["_record_key", "_delivered_at"])
        .reset_index(drop=True)
        for name in store.tables()
    }


def test_every_export_variant_lands_and_records_what_was_normalised(twins: tuple[tuple, tuple]) -> None:
    _, (_, manifest, outcomes) = twins
    assert {variant["kind"] for variant in manifest["export_variants"]} == set(EXPORT_VARIANTS)
    assert not any(outcome.quarantined for outcome in outcomes.values())
    for variant in manifest["export_variants"]:
        (landed,) = [i for i in outcomes[variant["source"]].landed if i["delivery"] == variant["delivery"]]
        assert landed["rows"] == variant["rows"], variant["kind"]
        if variant["kind"] == "extra_columns":
            assert any("FULDT_NAVN" in w and "personal data" in w for w in landed["warnings"])
        else:
            assert landed["normalised"], variant["kind"]


def test_a_world_written_in_danish_conventions_lands_the_rows_of_its_clean_twin(
    twins: tuple[tuple, tuple],
) -> None:
    (clean, _, _), (variants, manifest, _) = twins
    (missing,) = [f for f in manifest["faults"] if f["kind"] == "missing_extract"]
    clean_tables, variant_tables = _tables(clean), _tables(variants)
    assert set(clean_tables) == set(variant_tables)
    for name, frame in clean_tables.items():
        expected = frame
        if name == "gp_services":  # the extract that was never delivered is the only difference
            expected = frame[frame["_delivered_at"] != pd.Timestamp(missing["delivery"])]
            assert len(expected) < len(frame)
        pd.testing.assert_frame_equal(variant_tables[name], expected.reset_index(drop=True), obj=name)


def test_the_missing_extract_blocks_lists_that_need_its_source_naming_the_period(
    twins: tuple[tuple, tuple],
) -> None:
    (clean, _, _), (variants, manifest, _) = twins
    (missing,) = [f for f in manifest["faults"] if f["kind"] == "missing_extract"]
    ledger = Warehouse(variants.warehouse_dir).batches()  # type: ignore[arg-type]
    (gap,) = missing_deliveries(ledger)
    assert (gap.source, gap.period, gap.status) == ("sssy_services", missing["delivery"], "never delivered")
    assert publication_blockers(ledger, ["cpr_population", "lmdb_prescriptions"]) == []
    (reason,) = publication_blockers(ledger, ["sssy_services"])
    assert "sssy_services" in reason
    assert missing["delivery"] in reason
    assert publication_blockers(Warehouse(clean.warehouse_dir).batches()) == []  # type: ignore[arg-type]
