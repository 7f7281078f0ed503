"""A delivery file larger than memory: read in chunks, judged as a whole, landed as one batch (D141).

Every test forces the tiny world's CSV files into chunks of a few rows, so one file spans several chunks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.deliveries import FileChunking
from data_contracts.file_chunks import duplicated_rows, row_hashes
from pipelines.settings import Settings
from tests.data_contracts import tiny_world
from tests.data_contracts.test_intake import ingest, reports
from tests.data_contracts.test_refusals import _population_path, _write_control
from warehouse import Warehouse

CHUNK_ROWS = 3  # the tiny world's 12-citizen population file is read in four chunks


def in_chunks(world: Settings) -> Settings:
    """The same world, every CSV file read in chunks of ``CHUNK_ROWS`` rows."""
    return world.with_overrides(ingest_chunk_above_bytes=0, ingest_chunk_rows=CHUNK_ROWS)


def _rewrite_population(world: Settings, change: callable) -> Path:  # type: ignore[valid-type]
    path = _population_path(world)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame)  # type: ignore[operator]
    frame.to_csv(path, index=False)
    return path


def _nothing_of_the_population_landed(world: Settings) -> None:
    store = Warehouse(world.warehouse_dir)
    ledger = store.batches()
    first = ledger[(ledger["source"] == "cpr_population") & (ledger["delivery"] == tiny_world.FIRST_EXTRACT)]
    assert list(first["status"]) == ["quarantined"]
    assert first["partition_path"].isna().all()
    staged = list((world.warehouse_dir).rglob(".tmp-*"))
    assert staged == [], "staged chunks of a refused file must be deleted"


def _landed_without_load_time(world: Settings) -> dict[str, pd.DataFrame]:
    store = Warehouse(world.warehouse_dir)
    return {name: store.table(name).drop(columns=["_ingested_at"]) for name in store.tables()}


def test_a_file_read_in_several_chunks_lands_the_same_rows_as_read_whole(tmp_path: Path) -> None:
    whole = tiny_world.write_tiny_world(tmp_path / "whole")
    chunked = in_chunks(tiny_world.write_tiny_world(tmp_path / "chunked"))
    ingest(whole)
    ingest(chunked)
    expected, landed = _landed_without_load_time(whole), _landed_without_load_time(chunked)
    assert sorted(landed) == sorted(expected)
    for name, rows in expected.items():
        pd.testing.assert_frame_equal(landed[name], rows, obj=name)
    ledger = Warehouse(chunked.warehouse_dir).batches()
    population = ledger[ledger["source"] == "cpr_population"]
    assert list(population["rows"]) == [tiny_world.CITIZENS, 1], "one batch per file, not one per chunk"


def test_a_bad_row_in_a_late_chunk_quarantines_the_whole_file_naming_its_line(world: Settings) -> None:
    _rewrite_population(world, lambda frame: frame.__setitem__("KOEN", ["K"] * 10 + ["X", "K"]))
    outcomes = ingest(in_chunks(world), ["cpr_population"])
    (quarantined, *_) = outcomes["cpr_population"].quarantined
    assert quarantined["delivery"] == tiny_world.FIRST_EXTRACT
    assert quarantined["rows"] == tiny_world.CITIZENS
    assert "KOEN is M (male) or K (female)" in str(quarantined["reason"])
    (report,) = [r for r in reports(world, "cpr_population") if r["delivery"] == tiny_world.FIRST_EXTRACT]
    assert report["where"].endswith("cpr_population.csv")
    (finding,) = [f for f in report["findings"] if f["column"] == "KOEN"]
    assert finding["row_numbers"] == [11]  # data row 11 of the file (CSV line 12), in the fourth chunk
    assert "CSV line = row + 1" in report["next_step"]
    _nothing_of_the_population_landed(world)


def test_a_duplicate_record_split_across_two_chunks_is_caught(tmp_path: Path) -> None:
    def duplicate_first_row_late(frame: pd.DataFrame) -> None:
        frame.iloc[10] = frame.iloc[0]

    whole = tiny_world.write_tiny_world(tmp_path / "whole")
    chunked = tiny_world.write_tiny_world(tmp_path / "chunked")
    for world in (whole, chunked):
        _rewrite_population(world, duplicate_first_row_late)
    ingest(whole, ["cpr_population"])
    outcomes = ingest(in_chunks(chunked), ["cpr_population"])
    (quarantined, *_) = outcomes["cpr_population"].quarantined
    assert "no row is delivered twice" in str(quarantined["reason"])
    first = [r for r in reports(chunked, "cpr_population") if r["delivery"] == tiny_world.FIRST_EXTRACT]
    duplicates = [
        f for f in first[0]["findings"] if f["expectation"] == "expect_compound_columns_to_be_unique"
    ]
    assert duplicates
    assert all(f["row_numbers"] == [1, 11] for f in duplicates)  # chunks one and four
    read_whole = [r for r in reports(whole, "cpr_population") if r["delivery"] == tiny_world.FIRST_EXTRACT]
    assert first[0]["findings"] == read_whole[0]["findings"], "the same report as the file read whole"
    _nothing_of_the_population_landed(chunked)


def test_control_totals_are_checked_over_the_whole_file(world: Settings) -> None:
    _write_control(_population_path(world), tiny_world.CITIZENS + 5)
    outcomes = ingest(in_chunks(world), ["cpr_population"])
    (quarantined, *_) = outcomes["cpr_population"].quarantined
    assert "declare 17" in str(quarantined["reason"])
    assert "has 12 data rows" in str(quarantined["reason"])
    _nothing_of_the_population_landed(world)


def test_a_truncated_file_is_still_caught(world: Settings) -> None:
    path = _population_path(world)
    path.write_bytes(path.read_bytes()[:-7])  # cut inside the last row
    outcomes = ingest(in_chunks(world), ["cpr_population"])
    (quarantined, *_) = outcomes["cpr_population"].quarantined
    assert "truncated" in str(quarantined["reason"])
    assert "line 13" in str(quarantined["reason"])
    _nothing_of_the_population_landed(world)


def test_the_date_order_is_decided_over_the_whole_file_not_per_chunk(tmp_path: Path) -> None:
    """Only the last chunk has a day above 12; every chunk is still read day-first."""

    def day_first(frame: pd.DataFrame) -> None:
        frame.loc[11, "FOED_DAG"] = "1949-12-25"
        frame["FOED_DAG"] = pd.to_datetime(frame["FOED_DAG"]).dt.strftime("%d-%m-%Y")

    iso = tiny_world.write_tiny_world(tmp_path / "iso")
    written = tiny_world.write_tiny_world(tmp_path / "day-first")
    _rewrite_population(
        iso, lambda frame: frame.__setitem__("FOED_DAG", [*frame["FOED_DAG"][:11], "1949-12-25"])
    )
    _rewrite_population(written, day_first)
    ingest(iso, ["cpr_population"])
    outcomes = ingest(in_chunks(written), ["cpr_population"])
    assert not outcomes["cpr_population"].quarantined
    expected = Warehouse(iso.warehouse_dir).table("population")["birth_date"]
    pd.testing.assert_series_equal(
        Warehouse(written.warehouse_dir).table("population")["birth_date"], expected
    )
    (first, *_) = outcomes["cpr_population"].landed
    assert first["normalised"]["day-first dates (DD-MM-YYYY)"] == tiny_world.CITIZENS


def test_row_hashes_find_duplicates_as_pandas_does() -> None:
    frame = pd.DataFrame({"a": ["x", "y", "x", None, None], "b": [1.0, 2.0, 1.0, np.nan, np.nan]})
    hashes = row_hashes(frame)
    assert list(duplicated_rows(hashes, keep=False)) == list(frame.duplicated(keep=False))
    assert list(duplicated_rows(hashes, keep="last")) == list(frame.duplicated(keep="last"))


def test_chunking_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="rows >= 1"):
        FileChunking(rows=0)
