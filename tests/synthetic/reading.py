"""Reading a generated world back the way a test needs it (all values as text, one frame per source)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from synthetic.sources import REGISTRY_SOURCES


def manifest(world: Path) -> dict:
    return json.loads((world / "manifest.json").read_text(encoding="utf-8"))


def delivery_files(world: Path, source: str) -> list[Path]:
    spec = REGISTRY_SOURCES[source]
    return sorted((world / "deliveries" / source).glob(f"*/{spec.file_name()}"))


def read_delivery(path: Path) -> pd.DataFrame:
    """One delivery file, every column as text ('' for missing)."""
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = pd.read_parquet(path)
    return frame.astype(str).replace({"NaT": "", "None": "", "nan": ""})


def read_source(world: Path, source: str) -> pd.DataFrame:
    """All deliveries of a source, with the extract date in a column `delivery`."""
    frames = [read_delivery(path).assign(delivery=path.parent.name) for path in delivery_files(world, source)]
    return pd.concat(frames, ignore_index=True)


def read_care_table(world: Path, table: str) -> pd.DataFrame:
    engine = sa.create_engine(f"sqlite:///{world / 'care.sqlite'}")
    try:
        with engine.connect() as connection:
            return pd.read_sql_query(sa.text(f"SELECT * FROM {table} ORDER BY id"), connection)
    finally:
        engine.dispose()
