"""Ingest one world twice, files read whole and every CSV file forced into chunks, and compare the results.

    python -m benchmarks.compare_chunked_ingest /tmp/world-2000 --chunk-rows 777

Compares every warehouse table (all columns but ``_ingested_at``), the ledger (ids, hashes, rows, status,
reports) and the batch reports under the quarantine folder; exits 1 on any difference (D141).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from pipelines.ingest_flow import build_context, run_ingest, selected_sources
from pipelines.settings import Settings
from warehouse import Warehouse

LEDGER_COLUMNS = [
    "batch_id",
    "source",
    "delivery",
    "content_sha256",
    "rows",
    "status",
    "table_name",
    "report",
    "partition_path",
    "sequence",
    "held_by",
    "attempt",
]


def _ingest(world: Path, home: Path, **chunking: int) -> Settings:
    settings = Settings(
        home=home,
        demo=True,
        deployment="research",
        world_dir=world,
        landing_dir=world / "deliveries",
        **chunking,
    )
    outcomes = run_ingest(build_context(settings, echo=lambda _: None), selected_sources(None))
    print(
        f"{home.name}: {sum(o.rows_landed for o in outcomes)} rows, "
        f"{sum(len(o.landed) for o in outcomes)} landed, "
        f"{sum(len(o.quarantined) for o in outcomes)} quarantined"
    )
    return settings


def _without_home(text: str, home: Path) -> str:
    return re.sub(re.escape(str(home)), "HOME", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", type=Path)
    parser.add_argument("--chunk-rows", type=int, default=777)
    arguments = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tidlig-compare-chunks-"))
    differences = 0
    try:
        whole = _ingest(arguments.world, root / "whole")
        chunked = _ingest(
            arguments.world,
            root / "chunked",
            ingest_chunk_above_bytes=0,
            ingest_chunk_rows=arguments.chunk_rows,
        )
        a, b = Warehouse(whole.warehouse_dir), Warehouse(chunked.warehouse_dir)
        if a.tables() != b.tables():
            differences += 1
            print("tables differ:", sorted(set(a.tables()) ^ set(b.tables())))
        for name in a.tables():
            try:
                pd.testing.assert_frame_equal(
                    a.table(name).drop(columns=["_ingested_at"]),
                    b.table(name).drop(columns=["_ingested_at"]),
                    obj=name,
                )
            except AssertionError as error:
                differences += 1
                print(f"table {name} differs: {str(error)[:300]}")
        ledgers = [
            w.batches()[LEDGER_COLUMNS]
            .sort_values("batch_id")
            .reset_index(drop=True)
            .astype("str")
            .map(lambda value, home=settings.home: _without_home(str(value), home))
            for w, settings in ((a, whole), (b, chunked))
        ]
        try:
            pd.testing.assert_frame_equal(*ledgers)
        except AssertionError as error:
            differences += 1
            print(f"ledger differs: {str(error)[:300]}")
        reports = [
            sorted(p.relative_to(s.quarantine_dir) for p in s.quarantine_dir.rglob("report.*"))
            for s in (whole, chunked)
        ]
        if reports[0] != reports[1]:
            differences += 1
            print("report files differ")
        for path in reports[0] if reports[0] == reports[1] else []:
            texts = [_without_home((s.quarantine_dir / path).read_text(), s.home) for s in (whole, chunked)]
            if texts[0] != texts[1]:
                differences += 1
                print(f"report {path} differs")
        print(
            f"{len(a.tables())} tables, {len(ledgers[0])} ledger rows, {len(reports[0])} report files; "
            f"{differences} difference(s)"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
