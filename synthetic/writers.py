"""Writing deliveries deterministically: registry files per extract date, the care database, the truth.

Blocks of citizens arrive one at a time; rows are staged per delivery in block order and joined at the
end, so a world is byte-identical however its blocks were processed. Parquet files carry no timestamps
and CSV is written by pyarrow with a fixed layout.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlalchemy as sa

from synthetic.deliveries import EXTRACT
from synthetic.sources import CARE_TABLES, REGISTRY_SOURCES, ColumnType

CSV_OPTIONS = {"quoting_style": "needed"}
# The control totals shipped beside each extract file, the way registry extracts come with a control
# file: running number and previous extract (so a missing extract shows), rows and SHA-256 per file.
CONTROL_FILE = "control.json"


def write_control_totals(
    folder: Path, source: str, *, sequence: int, previous_extract: str | None, data_file: Path, rows: int
) -> None:
    """Write ``folder/control.json`` for one delivery of one data file."""
    digest = hashlib.sha256(data_file.read_bytes()).hexdigest()
    document = {
        "source": source,
        "extract_date": folder.name,
        "sequence": sequence,
        "previous_extract": previous_extract,
        "files": [{"name": data_file.name, "rows": rows, "sha256": digest}],
    }
    (folder / CONTROL_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def refresh_control_totals(data_file: Path, rows: int) -> None:
    """Rewrite a delivery's control totals after its file changed at the supplier (a supplier-side defect
    or export variant: the supplier's control file describes what it sent)."""
    control = data_file.parent / CONTROL_FILE
    document = json.loads(control.read_text(encoding="utf-8"))
    write_control_totals(
        data_file.parent,
        document["source"],
        sequence=document["sequence"],
        previous_extract=document["previous_extract"],
        data_file=data_file,
        rows=rows,
    )


def write_csv(table: pa.Table, path: Path, include_header: bool = True, append: bool = False) -> None:
    """UTF-8 CSV with a header, ISO dates, empty fields for missing values."""
    with path.open("ab" if append else "wb") as handle:
        pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=include_header, **CSV_OPTIONS))


def write_parquet(table: pa.Table, path: Path) -> None:
    """Parquet without pandas metadata or timestamps, so equal tables give equal bytes."""
    pq.write_table(table.replace_schema_metadata(None), path, compression="zstd", write_statistics=True)


class DeliveryWriter:
    """Collects registry rows block by block and lays them out as ``landing/<source>/<date>/<file>``."""

    def __init__(self, landing_dir: Path, staging_dir: Path) -> None:
        self.landing_dir = landing_dir
        self.staging_dir = staging_dir
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self._staged: dict[tuple[str, str], int] = {}
        self._parquet_parts: dict[tuple[str, str], list[pa.Table]] = {}

    def append(self, source: str, table: pa.Table) -> None:
        """Stage one block's rows of a source (with the ``_extract`` column) under each extract date."""
        if table.num_rows == 0:
            return
        extract = table[EXTRACT].to_numpy(zero_copy_only=False).astype("datetime64[D]")
        order = np.argsort(extract, kind="stable")
        table = table.drop_columns([EXTRACT]).take(pa.array(order))
        extract = extract[order]
        boundaries = np.flatnonzero(np.r_[True, extract[1:] != extract[:-1], True])
        spec = REGISTRY_SOURCES[source]
        for begin, end in itertools.pairwise(boundaries):
            delivery = str(extract[begin])
            part = table.slice(begin, end - begin)
            key = (source, delivery)
            if spec.file_format == "csv":
                staged = self.staging_dir / f"{source}__{delivery}.csv"
                write_csv(part, staged, include_header=key not in self._staged, append=True)
            else:  # hospital data is small enough to keep in memory until the end
                self._parquet_parts.setdefault(key, []).append(part)
            self._staged[key] = self._staged.get(key, 0) + part.num_rows

    def finalize(self) -> dict[str, dict[str, int]]:
        """Move staged deliveries into the landing layout; returns rows per source and delivery."""
        counts: dict[str, dict[str, int]] = {}
        previous: dict[str, str] = {}
        for source, delivery in sorted(self._staged):
            spec = REGISTRY_SOURCES[source]
            target = self.landing_dir / source / delivery
            target.mkdir(parents=True, exist_ok=True)
            if spec.file_format == "csv":
                shutil.move(self.staging_dir / f"{source}__{delivery}.csv", target / spec.file_name())
            else:
                parts = self._parquet_parts.pop((source, delivery))
                write_parquet(pa.concat_tables(parts), target / spec.file_name())
            counts.setdefault(source, {})[delivery] = self._staged[(source, delivery)]
            write_control_totals(
                target,
                source,
                sequence=len(counts[source]),
                previous_extract=previous.get(source),
                data_file=target / spec.file_name(),
                rows=self._staged[(source, delivery)],
            )
            previous[source] = delivery
        shutil.rmtree(self.staging_dir)
        return counts


def _sql_type(column_type: ColumnType) -> sa.types.TypeEngine:
    return {
        "str": sa.String(),
        "int": sa.BigInteger(),
        "float": sa.Float(),
        "date": sa.Date(),
        "datetime": sa.DateTime(),
    }[column_type]


def care_metadata() -> sa.MetaData:
    """SQLAlchemy tables of the care-record database (``id`` primary key, columns from sources.py)."""
    metadata = sa.MetaData()
    for spec in CARE_TABLES.values():
        columns = [
            sa.Column(name, _sql_type(column_type), primary_key=name == "id", autoincrement=False)
            for name, column_type in spec.all_columns
        ]
        sa.Table(spec.name, metadata, *columns)
    return metadata


def _as_sql_values(column: pa.ChunkedArray) -> list[object]:
    """Python values for a DB-API insert: dates and datetimes as ISO text both SQLite and PostgreSQL read."""
    if pa.types.is_date32(column.type):
        return pc.cast(column, pa.string()).to_pylist()
    if pa.types.is_timestamp(column.type):
        return pc.cast(pc.cast(column, pa.timestamp("s")), pa.string()).to_pylist()
    return column.to_pylist()


class CareDatabase:
    """The municipal care-record database (SQLite file by default, PostgreSQL by URL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url)
        self.metadata = care_metadata()
        self.rows: dict[str, int] = dict.fromkeys(CARE_TABLES, 0)

    def recreate(self) -> None:
        """Drop and create the care tables (only ours; other tables in the database are left alone)."""
        self.metadata.drop_all(self.engine)
        self.metadata.create_all(self.engine)

    def insert(self, tables: dict[str, pa.Table]) -> None:
        """Insert rows in the given order (ids ascending within a block, blocks ascending)."""
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if self.engine.dialect.name == "sqlite":
                cursor.execute("PRAGMA synchronous=OFF")
            marker = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
            for name, table in tables.items():
                if table.num_rows == 0:
                    continue
                columns = CARE_TABLES[name].column_names
                rows = list(zip(*(_as_sql_values(table[c]) for c in columns), strict=True))
                statement = (
                    f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"
                )
                cursor.executemany(statement, rows)
                self.rows[name] += table.num_rows
            raw.commit()
        finally:
            raw.close()

    def dispose(self) -> None:
        self.engine.dispose()


def safe_url(url: str) -> str:
    """The URL without a password, for the manifest."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)
