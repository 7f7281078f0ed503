"""A world is determined by its seed alone: byte-identical files, however blocks are processed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from synthetic.config import BLOCK_SIZE, WorldConfig
from synthetic.world import generate_world
from tests.synthetic.reading import manifest, read_care_table

TWO_BLOCKS = WorldConfig(citizens=BLOCK_SIZE + 400, years=1, seed=5, history_years=0)
SMALL_WORLD = WorldConfig(citizens=600, years=1, seed=5, history_years=1)


def _file_digests(world: Path) -> dict[str, str]:
    files = sorted(p for p in (world / "deliveries").rglob("*") if p.is_file())
    files.append(world / "truth" / "truth.parquet")
    digests = {str(p.relative_to(world)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    recorded = manifest(world)
    del recorded["care_database"]["url"]  # names the world's own folder
    digests["manifest.json"] = hashlib.sha256(json.dumps(recorded).encode()).hexdigest()
    return digests


def _care_digest(world: Path) -> str:
    tables = ("home_care", "fsiii_functional_ability", "early_detection_observations", "weights")
    text = "".join(read_care_table(world, table).to_csv(index=False) for table in tables)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.slow
def test_the_same_seed_gives_byte_identical_files_whatever_the_number_of_workers(tmp_path):
    generate_world(TWO_BLOCKS, tmp_path / "serial", workers=1)
    generate_world(TWO_BLOCKS, tmp_path / "parallel", workers=2)
    assert _file_digests(tmp_path / "serial") == _file_digests(tmp_path / "parallel")
    assert _care_digest(tmp_path / "serial") == _care_digest(tmp_path / "parallel")


def test_the_same_seed_gives_the_same_world_in_another_folder(tmp_path):
    generate_world(SMALL_WORLD, tmp_path / "one")
    generate_world(SMALL_WORLD, tmp_path / "two")
    assert _file_digests(tmp_path / "one") == _file_digests(tmp_path / "two")
    assert _care_digest(tmp_path / "one") == _care_digest(tmp_path / "two")


def test_another_seed_gives_another_world(tmp_path):
    generate_world(SMALL_WORLD, tmp_path / "one")
    generate_world(replace(SMALL_WORLD, seed=6), tmp_path / "other")
    digests, other_digests = _file_digests(tmp_path / "one"), _file_digests(tmp_path / "other")
    assert digests["truth/truth.parquet"] != other_digests["truth/truth.parquet"]
    assert digests.keys() & other_digests.keys()
    shared = digests.keys() & other_digests.keys() - {"manifest.json"}
    assert all(digests[name] != other_digests[name] for name in shared if "lmdb_products" not in name)
    assert _care_digest(tmp_path / "one") != _care_digest(tmp_path / "other")


def test_the_manifest_records_parameters_sources_and_row_counts(small_world):
    recorded = manifest(small_world)
    assert recorded["seed"] == 11
    assert recorded["parameters"]["citizens"] == 3_000
    assert recorded["faults"] == []
    for source in recorded["sources"].values():
        assert source["deliveries"]
        assert all(rows > 0 for rows in source["deliveries"].values())
    assert recorded["truth"]["rows"] > 0
    assert "password" not in recorded["care_database"]["url"]


def test_a_second_run_into_the_same_folder_replaces_the_first(tmp_path):
    config = WorldConfig(citizens=300, years=1, seed=1, history_years=0)
    generate_world(config, tmp_path)
    first = _file_digests(tmp_path)
    generate_world(config, tmp_path)
    assert _file_digests(tmp_path) == first


def test_unknown_municipalities_and_mid_month_starts_are_refused():
    with pytest.raises(ValueError, match="unknown municipality"):
        WorldConfig(municipalities=("999",))
    from datetime import date

    with pytest.raises(ValueError, match="first day of a month"):
        WorldConfig(start_date=date(2019, 1, 15))
