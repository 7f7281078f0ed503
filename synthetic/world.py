"""Generate a whole synthetic world: blocks of citizens simulated and delivered one after another."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from synthetic.calibration import combine
from synthetic.care_records import care_records
from synthetic.config import WorldConfig
from synthetic.deliveries import product_table, registry_deliveries, truth_table
from synthetic.population import Demographics, draw_demographics
from synthetic.simulate import simulate_block
from synthetic.sources import CARE_TABLES, REGISTRY_SOURCES
from synthetic.writers import CareDatabase, DeliveryWriter, safe_url

Progress = Callable[[int, int], None]
GENERATOR_VERSION = "1"


def world_paths(out_dir: Path) -> dict[str, Path]:
    """Where a world's parts live inside its folder (the layout of docs/interfaces.md)."""
    return {
        "landing": out_dir / "deliveries",
        "truth": out_dir / "truth" / "truth.parquet",
        "manifest": out_dir / "manifest.json",
        "staging": out_dir / ".staging",
    }


def default_care_db_url(out_dir: Path) -> str:
    return f"sqlite:///{(out_dir / 'care.sqlite').absolute()}"


def generate_world(
    config: WorldConfig,
    out_dir: Path,
    care_db_url: str | None = None,
    progress: Progress | None = None,
    workers: int = 1,
) -> dict[str, object]:
    """Write the deliveries, care database, hidden truth and manifest of a world; return the manifest.

    A previous world in ``out_dir`` (deliveries, truth, manifest, the default SQLite care database) is
    replaced. With a PostgreSQL URL only the care tables are dropped and recreated. ``workers`` > 1
    simulates blocks in that many processes while this one writes; the output does not depend on it.
    """
    from synthetic.faults import inject_faults

    out_dir = Path(out_dir).absolute()
    paths = world_paths(out_dir)
    for name in ("landing", "staging"):
        shutil.rmtree(paths[name], ignore_errors=True)
    paths["truth"].unlink(missing_ok=True)
    paths["manifest"].unlink(missing_ok=True)
    paths["truth"].parent.mkdir(parents=True, exist_ok=True)
    url = care_db_url or default_care_db_url(out_dir)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)

    demographics = draw_demographics(config)
    writer = DeliveryWriter(paths["landing"], paths["staging"])
    database = CareDatabase(url)
    database.recreate()
    truth_writer: pq.ParquetWriter | None = None
    truth_rows = 0
    tallies = []
    try:
        for number, output in enumerate(_block_outputs(config, demographics, workers), start=1):
            tallies.append(output.calibration)
            for source, table in output.registry.items():
                writer.append(source, table)
            database.insert(output.care)
            if truth_writer is None:
                truth_writer = pq.ParquetWriter(paths["truth"], output.truth.schema, compression="zstd")
            truth_writer.write_table(output.truth)
            truth_rows += output.truth.num_rows
            if progress:
                progress(number, config.blocks)
        writer.append("lmdb_products", product_table(config))
    finally:
        if truth_writer is not None:
            truth_writer.close()
    counts = writer.finalize()
    injected = inject_faults(config, paths["landing"], database, counts)
    database.dispose()
    manifest = _manifest(
        config,
        care_db_url=url,
        counts=counts,
        care_rows=database.rows,
        truth_rows=truth_rows,
        faults=injected.faults,
        variants=injected.variants,
        not_injected=injected.not_injected,
        calibration=combine(tallies),
    )
    paths["manifest"].write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


@dataclass(frozen=True)
class BlockOutput:
    """Everything one block contributes: registry rows, care rows, truth rows, calibration counts."""

    registry: dict[str, pa.Table]
    care: dict[str, pa.Table]
    truth: pa.Table
    calibration: dict[str, list[list[int]]]


def build_block(config: WorldConfig, block: int, demographics: Demographics) -> BlockOutput:
    """Simulate one block and shape its outputs (runs in a worker process when workers > 1)."""
    history = simulate_block(config, block, demographics)
    return BlockOutput(
        registry=registry_deliveries(config, history),
        care=care_records(config, history),
        truth=truth_table(config, history),
        calibration=history.calibration,
    )


def _block_outputs(config: WorldConfig, demographics: Demographics, workers: int) -> Iterator[BlockOutput]:
    """Block outputs in block order; with several workers at most ``2 * workers`` blocks are in flight."""
    if workers <= 1 or config.blocks == 1:
        for block in range(config.blocks):
            yield build_block(config, block, demographics.block(config, block))
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future[BlockOutput]] = deque()
        for block in range(config.blocks):
            pending.append(pool.submit(build_block, config, block, demographics.block(config, block)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _manifest(
    config: WorldConfig,
    *,
    care_db_url: str,
    counts: dict[str, dict[str, int]],
    care_rows: dict[str, int],
    truth_rows: int,
    faults: list[dict[str, object]],
    variants: list[dict[str, object]],
    not_injected: list[str],
    calibration: dict[str, list[list[int]]],
) -> dict[str, object]:
    parameters = asdict(config)
    parameters["start_date"] = config.start_date.isoformat()
    parameters["municipalities"] = list(config.municipalities)
    parameters["faults"] = list(config.faults)
    return {
        "generator": f"tidlig synth {GENERATOR_VERSION}",
        "parameters": parameters,
        "seed": config.seed,
        "history_start": str(config.month_starts[0]),
        "start_date": config.start_date.isoformat(),
        "end_date": str(config.extract_dates[-1]),
        "extract_dates": [str(d) for d in config.extract_dates],
        "municipalities": list(config.municipalities),
        "sources": {
            name: {
                "format": spec.file_format,
                "columns": dict(spec.columns),
                "record_key": list(spec.record_key),
                "deliveries": counts.get(name, {}),
            }
            for name, spec in REGISTRY_SOURCES.items()
        },
        "care_database": {
            "url": safe_url(care_db_url),
            "tables": {
                name: {"columns": dict(CARE_TABLES[name].all_columns), "rows": care_rows[name]}
                for name in CARE_TABLES
            },
        },
        "truth": {"path": "truth/truth.parquet", "rows": truth_rows},
        "calibration": {"counts": calibration},
        "faults": faults,
        "export_variants": variants,
        "faults_not_injected": not_injected,
    }


def read_truth(out_dir: Path) -> pa.Table:
    """The hidden truth of a world (evaluation only)."""
    return pq.read_table(world_paths(Path(out_dir))["truth"])
