"""Ingest a cached synthetic world source by source, printing wall, CPU and peak RSS so far after each.

    python -m benchmarks.ingest_by_source /tmp/tidlig-bench-world-300000x6 [--chunk-above-bytes N]

The same plain functions as ``bench_ingest`` (one context, the sources in ingest order, a fresh temporary
home). ``--chunk-above-bytes`` sets ``Settings.ingest_chunk_above_bytes`` (D141): a huge value reads every
file whole, as before D141. Peak RSS is the process's high-water mark, so it only grows.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from pipelines.ingest_flow import build_context, run_ingest, selected_sources
from pipelines.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", type=Path)
    parser.add_argument("--chunk-above-bytes", type=int, default=None)
    parser.add_argument("--chunk-rows", type=int, default=None)
    arguments = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tidlig-ingest-by-source-"))
    settings = Settings(
        home=home,
        demo=True,
        deployment="research",
        world_dir=arguments.world,
        landing_dir=arguments.world / "deliveries",
    ).with_overrides(
        ingest_chunk_above_bytes=arguments.chunk_above_bytes, ingest_chunk_rows=arguments.chunk_rows
    )
    context = build_context(settings, echo=lambda _: None)
    started_all = time.perf_counter()
    try:
        for source in selected_sources(None):
            started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
            (outcome,) = run_ingest(context, [source])
            after = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            print(
                f"{source}: {outcome.rows_landed} rows, {len(outcome.landed)} landed, "
                f"{len(outcome.quarantined)} quarantined, {time.perf_counter() - started:.1f} s wall, "
                f"{cpu:.1f} s CPU, peak RSS so far {after.ru_maxrss / 1024:.0f} MiB",
                flush=True,
            )
        print(f"total {time.perf_counter() - started_all:.1f} s wall")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
