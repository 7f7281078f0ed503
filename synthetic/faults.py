"""Realistic defects and export variants injected into chosen deliveries, each recorded in the manifest.

Defects (``FAULT_KINDS``) must be refused by a correct ingest; export variants (``EXPORT_VARIANTS``) are
how Danish systems really write files (semicolons and decimal commas from Excel, Windows-1252, BOM and
CRLF, day-first dates, CPR with a dash, columns outside the contract) and must be accepted and normalised.

Every fault kind touches one registry delivery (a file) and, where it makes sense, one care table; no two
file faults or variants share a file, and the first extract (which carries the history) is never touched.
A manifest entry says exactly where: ``{"kind", "source", "delivery", "file" | "table", "column", "rows"}``,
where ``rows`` are 0-based data-row positions in the file (header excluded) or ``id`` values in the table;
``missing_extract`` names the removed delivery with ``"missing"`` instead of a file. A supplier-side change
rewrites the delivery's control totals (``control.json``); transfer defects (``truncated_file``,
``truncated_at_line``) leave them as the supplier wrote them, so the control totals reveal the loss.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from synthetic.config import WorldConfig
from synthetic.sources import REGISTRY_SOURCES
from synthetic.writers import CareDatabase, refresh_control_totals, write_parquet

FAULT_KINDS: tuple[str, ...] = (
    "duplicate_rows",
    "invalid_codes",
    "malformed_cpr",
    "future_dates",
    "dates_before_birth",
    "negative_minutes",
    "missing_required",
    "missing_column",
    "wrong_type",
    "empty_delivery",
    "truncated_file",
    "truncated_at_line",
    "missing_extract",
)
# Export variants a correct ingest accepts and normalises (recorded under ``export_variants``).
EXPORT_VARIANTS: tuple[str, ...] = (
    "windows_1252_export",
    "semicolon_decimal_comma",
    "utf8_bom_crlf",
    "day_first_dates",
    "cpr_with_dash",
    "extra_columns",
    "danish_excel_export",
)
# Where each variant goes: (source, what it does).
VARIANT_PLACES: dict[str, str] = {
    "windows_1252_export": "cpr_population",
    "semicolon_decimal_comma": "lmdb_prescriptions",
    "utf8_bom_crlf": "lmdb_prescriptions",
    "day_first_dates": "cpr_population",
    "cpr_with_dash": "deaths",
    "extra_columns": "cpr_population",
    "danish_excel_export": "lmdb_prescriptions",
}
TRANSFER_DEFECTS = ("truncated_file", "truncated_at_line")
ROWS_PER_FAULT = 3
CsvRows = list[str]
CsvFault = tuple[list[str], list[int], str]

# Care-database faults that are one UPDATE of the chosen rows: (SET clause, description).
CARE_UPDATES: dict[str, tuple[str, str]] = {
    "negative_minutes": ("{column} = -{column} - 15", "delivered personal-care minutes made negative"),
    "malformed_cpr": ("cpr = substr(cpr, 1, 9)", "CPR cut to 9 digits"),
    "invalid_codes": ("{column} = 'J9.9'", "unknown FSIII code J9.9"),
    "missing_required": ("{column} = NULL", "required value left NULL"),
    "wrong_type": ("{column} = 'tres'", "text in an integer column (SQLite only)"),
}


@dataclass(frozen=True)
class FileFault:
    """Where a file fault goes: a source, a column, and what to do to the chosen rows."""

    kind: str
    source: str
    column: str | None


FILE_FAULTS: tuple[FileFault, ...] = (
    FileFault("duplicate_rows", "lmdb_prescriptions", None),
    FileFault("invalid_codes", "lpr3_diagnoses", "DIAG_KODE"),
    FileFault("invalid_codes", "cpr_population", "KOM"),
    FileFault("invalid_codes", "lmdb_prescriptions", "ATC"),
    FileFault("malformed_cpr", "sssy_services", "PNR"),
    FileFault("future_dates", "lmdb_prescriptions", "EKSD"),
    FileFault("dates_before_birth", "lpr2_admissions", "D_INDDTO"),
    FileFault("missing_required", "lmdb_prescriptions", "ATC"),
    FileFault("missing_column", "sssy_services", "YDLTID"),
    FileFault("wrong_type", "lmdb_prescriptions", "APK"),
    FileFault("wrong_type", "lpr3_contacts", "KONT_STARTTIDSPUNKT"),
    FileFault("empty_delivery", "deaths", None),
    FileFault("truncated_file", "lmdb_prescriptions", None),
    FileFault("truncated_at_line", "deaths", None),
)


def _csv_lines(path: Path) -> tuple[str, list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0], lines[1:]


def _write_lines(path: Path, header: str, rows: list[str], encoding: str = "utf-8") -> None:
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))


def _set_field(line: str, position: int, value: str) -> str:
    """Replace one field of a CSV line (fields hold no commas in these sources)."""
    fields = line.split(",")
    fields[position] = value
    return ",".join(fields)


def _field(line: str, position: int) -> str:
    return line.split(",")[position].strip('"')


def _birth_from_cpr(cpr: str) -> date:
    from synthetic.cpr import parse_cpr

    return date.fromisoformat(parse_cpr(cpr)[0])


class FaultInjector:
    """Applies faults to a finished world; keeps the list of what it did."""

    def __init__(self, config: WorldConfig, landing_dir: Path, counts: dict[str, dict[str, int]]) -> None:
        self.config = config
        self.landing_dir = landing_dir
        self.counts = counts
        self.rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(999_999,)))
        self.used: set[tuple[str, str]] = set()
        self.records: list[dict[str, object]] = []
        self.variants: list[dict[str, object]] = []
        self.not_injected: list[str] = []

    def _pick_delivery(
        self, source: str, min_rows: int = 10, accept: Callable[[str], bool] | None = None
    ) -> str | None:
        first = str(self.config.extract_dates[0])
        candidates = [
            d
            for d, rows in sorted(self.counts.get(source, {}).items())
            if d != first
            and rows >= min_rows
            and (source, d) not in self.used
            and (accept is None or accept(d))
        ]
        if not candidates:
            return None
        delivery = candidates[int(self.rng.integers(0, len(candidates)))]
        self.used.add((source, delivery))
        return delivery

    def _rows(self, count: int, k: int = ROWS_PER_FAULT) -> list[int]:
        return sorted(int(r) for r in self.rng.choice(count, size=min(k, count), replace=False))

    def _record(self, fault: FileFault, delivery: str, rows: list[int], description: str) -> None:
        file = Path(fault.source) / delivery / REGISTRY_SOURCES[fault.source].file_name()
        self.records.append(
            {
                "kind": fault.kind,
                "source": fault.source,
                "delivery": delivery,
                "file": file.as_posix(),
                "column": fault.column,
                "rows": rows,
                "description": description,
            }
        )

    def apply_file_fault(self, fault: FileFault) -> None:
        delivery = self._pick_delivery(
            fault.source, 1 if fault.kind == "empty_delivery" else ROWS_PER_FAULT + 1
        )
        if delivery is None:
            self.not_injected.append(f"{fault.kind} in {fault.source} (no delivery large enough)")
            return
        spec = REGISTRY_SOURCES[fault.source]
        path = self.landing_dir / fault.source / delivery / spec.file_name()
        if spec.file_format == "parquet":
            self._parquet_fault(fault, delivery, path)
            return
        header, lines = _csv_lines(path)
        position = spec.column_names.index(fault.column) if fault.column else -1
        rows = self._rows(len(lines))
        self.current = fault
        handler: Callable[[CsvRows, list[int], int, str], CsvFault] = getattr(self, f"_csv_{fault.kind}")
        lines, rows, description = handler(lines, rows, position, delivery)
        encoding = "utf-8"
        if fault.kind == "missing_column":
            header = ",".join(f for i, f in enumerate(header.split(",")) if i != position)
        if fault.kind == "truncated_file":
            text = ("\n".join([header, *lines]) + "\n").encode()
            path.write_bytes(text[: int(len(text) * 0.6)])
            kept = text[: int(len(text) * 0.6)].count(b"\n") - 1
            rows = [kept]
            description = f"file cut at 60% of its bytes, inside data row {kept}; rows from there on are lost"
        elif fault.kind == "truncated_at_line":
            kept = max(1, int(len(lines) * 0.6))
            _write_lines(path, header, lines[:kept])
            rows = [kept]
            description = (
                f"file cut at a line boundary after data row {kept} of {len(lines)}; it ends with a line "
                "break, only the control totals show the loss"
            )
        elif fault.kind == "empty_delivery":
            _write_lines(path, header, [])
            self.counts[fault.source][delivery] = 0
        else:
            _write_lines(path, header, lines, encoding)
            self.counts[fault.source][delivery] = len(lines)
        if fault.kind not in TRANSFER_DEFECTS:
            refresh_control_totals(path, self.counts[fault.source][delivery])
        self._record(fault, delivery, rows, description)

    # CSV faults: each takes (lines, rows, column position, delivery) and returns (lines, rows, text)
    def _csv_duplicate_rows(self, lines: CsvRows, rows: list[int], position: int, delivery: str) -> CsvFault:
        duplicated = [lines[r] for r in rows]
        new_rows = list(range(len(lines), len(lines) + len(duplicated)))
        return [*lines, *duplicated], new_rows, f"rows {rows} repeated verbatim at the end of the file"

    def _csv_invalid_codes(self, lines: CsvRows, rows: list[int], position: int, delivery: str) -> CsvFault:
        bad = {"KOM": '"999"', "ATC": '"N5BA001"'}[str(self.current.column)]
        for r in rows:
            lines[r] = _set_field(lines[r], position, bad)
        return lines, rows, f"unknown code {bad.strip(chr(34))} in the column"

    def _csv_malformed_cpr(self, lines: CsvRows, rows: list[int], position: int, delivery: str) -> CsvFault:
        for i, r in enumerate(rows):
            cpr = _field(lines[r], position)
            broken = [cpr[:9], cpr[:2] + "13" + cpr[4:], cpr[:5] + "X" + cpr[6:]][i % 3]
            lines[r] = _set_field(lines[r], position, f'"{broken}"')
        return lines, rows, "CPR numbers with 9 digits, an impossible date (month 13), or a letter"

    def _csv_future_dates(self, lines: CsvRows, rows: list[int], position: int, delivery: str) -> CsvFault:
        future = (date.fromisoformat(delivery) + timedelta(days=400)).isoformat()
        for r in rows:
            lines[r] = _set_field(lines[r], position, future)
        return lines, rows, f"date {future}, after the extract date {delivery}"

    def _csv_dates_before_birth(
        self, lines: CsvRows, rows: list[int], position: int, delivery: str
    ) -> CsvFault:
        pnr = REGISTRY_SOURCES["lpr2_admissions"].column_names.index("PNR")
        for r in rows:
            before = _birth_from_cpr(_field(lines[r], pnr)) - timedelta(days=365 * 3)
            lines[r] = _set_field(lines[r], position, before.isoformat())
        return lines, rows, "date three years before the birth date the CPR number gives"

    def _csv_missing_required(
        self, lines: CsvRows, rows: list[int], position: int, delivery: str
    ) -> CsvFault:
        for r in rows:
            lines[r] = _set_field(lines[r], position, "")
        return lines, rows, "required value left empty"

    def _csv_missing_column(self, lines: CsvRows, rows: list[int], position: int, delivery: str) -> CsvFault:
        trimmed = [",".join(f for i, f in enumerate(line.split(",")) if i != position) for line in lines]
        return trimmed, [], "column absent from header and rows of this delivery"

    def _csv_wrong_type(self, lines: CsvRows, rows: list[int], position: int, delivery: str) -> CsvFault:
        for r in rows:
            lines[r] = _set_field(lines[r], position, '"to"')
        return lines, rows, "text where a number belongs"

    def _csv_empty_delivery(self, lines: CsvRows, rows: list[int], position: int, delivery: str) -> CsvFault:
        return [], [], "delivery with a header and no rows"

    def _csv_truncated_file(self, lines: CsvRows, rows: list[int], position: int, delivery: str) -> CsvFault:
        return lines, [], ""

    def _csv_truncated_at_line(
        self, lines: CsvRows, rows: list[int], position: int, delivery: str
    ) -> CsvFault:
        return lines, [], ""

    def remove_extract(self, source: str) -> None:
        """Remove one delivery from the middle of a source's sequence (never shipped by the supplier)."""
        deliveries = sorted(self.counts.get(source, {}))
        last = deliveries[-1] if deliveries else None
        delivery = self._pick_delivery(source, 1, accept=lambda d: d != last)
        if delivery is None:
            self.not_injected.append(f"missing_extract in {source} (too few deliveries)")
            return
        shutil.rmtree(self.landing_dir / source / delivery)
        del self.counts[source][delivery]
        self.records.append(
            {
                "kind": "missing_extract",
                "source": source,
                "delivery": delivery,
                "missing": (Path(source) / delivery).as_posix(),
                "column": None,
                "rows": [],
                "description": "the extract of this date was never delivered; the next one's control totals "
                "name it as the previous extract",
            }
        )

    # ----- export variants (accepted by a correct ingest) ---------------------------------------------
    def apply_variant(self, kind: str) -> None:
        source = VARIANT_PLACES[kind]
        spec = REGISTRY_SOURCES[source]
        accept = None
        if kind in ("day_first_dates", "danish_excel_export"):
            accept = functools.partial(self._has_day_above_12, source)
        elif kind == "windows_1252_export":  # a file without æøå is the same bytes in both encodings
            accept = functools.partial(self._has_non_ascii, source)
        delivery = self._pick_delivery(source, ROWS_PER_FAULT + 1, accept=accept)
        if delivery is None:
            self.not_injected.append(f"{kind} in {source} (no delivery large enough)")
            return
        path = self.landing_dir / source / delivery / spec.file_name()
        with path.open(newline="", encoding="utf-8") as handle:
            header, *rows = list(csv.reader(handle))
        types = dict(spec.columns)
        options = _VARIANT_OPTIONS[kind]
        if kind == "extra_columns":
            name = header.index("NAVN")
            header = [*header, "FULDT_NAVN", "BEMAERKNING"]
            rows = [[*row, row[name], ""] for row in rows]
        for row in rows:
            for index, column in enumerate(header[: len(row)]):
                value = row[index]
                if not value:
                    continue
                kind_of = types.get(column)
                if options.get("dates") and kind_of in ("date", "datetime"):
                    row[index] = _day_first(value, options["dates"])
                elif options.get("decimal_comma") and kind_of == "float":
                    row[index] = value.replace(".", ",")
                elif options.get("dashed_cpr") and column == "PNR" and len(value) == 10:
                    row[index] = value[:6] + "-" + value[6:]
        buffer = io.StringIO()
        writer = csv.writer(
            buffer, delimiter=options.get("delimiter", ","), lineterminator=options.get("newline", "\n")
        )
        writer.writerows([header, *rows])
        data = buffer.getvalue().encode(options.get("encoding", "utf-8"))
        path.write_bytes((codecs.BOM_UTF8 if options.get("bom") else b"") + data)
        refresh_control_totals(path, len(rows))
        self.variants.append(
            {
                "kind": kind,
                "source": source,
                "delivery": delivery,
                "file": (Path(source) / delivery / spec.file_name()).as_posix(),
                "rows": len(rows),
                "description": options["description"],
            }
        )

    def _has_non_ascii(self, source: str, delivery: str) -> bool:
        path = self.landing_dir / source / delivery / REGISTRY_SOURCES[source].file_name()
        return not path.read_bytes().isascii()

    def _has_day_above_12(self, source: str, delivery: str) -> bool:
        spec = REGISTRY_SOURCES[source]
        path = self.landing_dir / source / delivery / spec.file_name()
        text = path.read_text(encoding="utf-8")
        return re.search(r"\d{4}-\d{2}-(1[3-9]|2\d|3[01])", text) is not None

    def _parquet_fault(self, fault: FileFault, delivery: str, path: Path) -> None:
        table = pq.read_table(path)
        rows = self._rows(table.num_rows)
        column = str(fault.column)
        index = table.schema.get_field_index(column)
        if fault.kind == "invalid_codes":
            values = table[column].to_pylist()
            for r in rows:
                values[r] = "D1234"
            table = table.set_column(index, column, pa.array(values, pa.string()))
            description = "unknown SKS code D1234 (a digit where the ICD-10 chapter letter belongs)"
        elif fault.kind == "wrong_type":
            text = pa.compute.cast(table[column], pa.string())
            table = table.set_column(index, column, text)
            rows = list(range(table.num_rows))
            description = "timestamp column delivered as text in this delivery (every row)"
        else:
            raise ValueError(f"no parquet variant of fault {fault.kind}")
        write_parquet(table, path)
        refresh_control_totals(path, table.num_rows)
        self._record(fault, delivery, rows, description)

    def apply_care_faults(self, database: CareDatabase, kinds: set[str]) -> None:
        """Faults inside the care-record database, by UPDATE/INSERT on chosen ids."""
        engine = database.engine
        postgres = engine.dialect.name == "postgresql"
        plan = [
            ("duplicate_rows", "weights", None),
            ("negative_minutes", "home_care", "perpl_lev"),
            ("malformed_cpr", "early_detection_observations", "cpr"),
            ("invalid_codes", "fsiii_functional_ability", "code"),
            ("missing_required", "falls", "fall_date"),
            ("future_dates", "home_nursing_visits", "visit_date"),
            ("dates_before_birth", "preventive_visits", "visit_date"),
        ]
        if not postgres:  # PostgreSQL cannot hold text in an integer column
            plan.append(("wrong_type", "home_care", "perpl_vis"))
        with engine.begin() as connection:
            for kind, table, column in plan:
                if kind not in kinds:
                    continue
                ids = [r[0] for r in connection.execute(sa.text(f"SELECT id FROM {table} ORDER BY id"))]
                if len(ids) < ROWS_PER_FAULT:
                    self.not_injected.append(f"{kind} in {table} (too few rows)")
                    continue
                chosen = [ids[i] for i in self._rows(len(ids))]
                rows, description = self._care_fault(connection, kind, table, column, chosen, max(ids))
                self.records.append(
                    {
                        "kind": kind,
                        "source": "care_db",
                        "delivery": None,
                        "table": table,
                        "column": column,
                        "rows": rows,
                        "description": description,
                    }
                )
                if kind == "duplicate_rows":
                    database.rows[table] += len(rows)

    def _care_fault(  # noqa: PLR0917
        self,
        connection: sa.Connection,
        kind: str,
        table: str,
        column: str | None,
        ids: list[int],
        max_id: int,
    ) -> tuple[list[int], str]:
        if kind in CARE_UPDATES:
            assignment, description = CARE_UPDATES[kind]
            statement = sa.text(f"UPDATE {table} SET {assignment.format(column=column)} WHERE id IN :ids")
            connection.execute(statement.bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids})
            return ids, description
        if kind == "duplicate_rows":
            new_ids = [max_id + 1 + i for i in range(len(ids))]
            columns = "cpr, measured_date, weight_kg, registered_at"
            for old, new in zip(ids, new_ids, strict=True):
                connection.execute(
                    sa.text(
                        f"INSERT INTO {table} (id, {columns}) "
                        f"SELECT :new, {columns} FROM {table} WHERE id = :old"
                    ),
                    {"new": new, "old": old},
                )
            return new_ids, f"copies of rows with ids {ids} under new ids"
        if kind == "future_dates":
            future = date.fromisoformat(str(self.config.extract_dates[-1])) + timedelta(days=400)
            values = dict.fromkeys(ids, future)
            description = f"date {future.isoformat()}, after the database snapshot"
        else:  # dates_before_birth
            values = {}
            for row_id in ids:
                statement = sa.text(f"SELECT cpr FROM {table} WHERE id = :id")
                cpr = connection.execute(statement, {"id": row_id}).scalar_one()
                values[row_id] = _birth_from_cpr(cpr) - timedelta(days=365 * 3)
            description = "date three years before the birth date the CPR number gives"
        for row_id, value in values.items():
            statement = sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id")
            connection.execute(statement, {"value": value.isoformat(), "id": row_id})
        return ids, description


@dataclass(frozen=True)
class Injected:
    """What ``inject_faults`` did: defects, accepted export variants, and placements skipped."""

    faults: list[dict[str, object]]
    variants: list[dict[str, object]]
    not_injected: list[str]


def inject_faults(
    config: WorldConfig, landing_dir: Path, database: CareDatabase, counts: dict[str, dict[str, int]]
) -> Injected:
    """Inject the configured faults and export variants (``config.faults`` holds both kinds).

    Returns one manifest entry per injected fault and per variant (none if none were asked for) and the
    placements that were skipped because the world is too small for them.
    """
    kinds = set(config.faults)
    unknown = kinds - set(FAULT_KINDS) - set(EXPORT_VARIANTS)
    if unknown:
        raise ValueError(f"unknown fault kind(s): {', '.join(sorted(unknown))}")
    injector = FaultInjector(config, landing_dir, counts)
    for fault in FILE_FAULTS:
        if fault.kind in kinds:
            injector.apply_file_fault(fault)
    if "missing_extract" in kinds:
        injector.remove_extract("sssy_services")
    for variant in EXPORT_VARIANTS:
        if variant in kinds:
            injector.apply_variant(variant)
    injector.apply_care_faults(database, kinds)
    return Injected(injector.records, injector.variants, injector.not_injected)


def _day_first(value: str, separator: str) -> str:
    """``2021-03-04`` -> ``04-03-2021`` (``04.03.2021``); a time part is kept after a space."""
    date_part, _, time_part = value.replace("T", " ").partition(" ")
    year, month, day = date_part.split("-")
    text = f"{day}{separator}{month}{separator}{year}"
    return f"{text} {time_part}" if time_part else text


_VARIANT_OPTIONS: dict[str, dict[str, str | bool]] = {
    "windows_1252_export": {
        "encoding": "cp1252",
        "description": "whole file in Windows-1252 (a legacy system's export); Danish letters included",
    },
    "semicolon_decimal_comma": {
        "delimiter": ";",
        "decimal_comma": True,
        "description": "semicolon-separated with decimal commas (Excel in a Danish locale)",
    },
    "utf8_bom_crlf": {
        "bom": True,
        "newline": "\r\n",
        "description": "UTF-8 with a byte-order mark and CRLF line ends (saved on Windows)",
    },
    "day_first_dates": {"dates": "-", "description": "dates written day-first, DD-MM-YYYY"},
    "cpr_with_dash": {"dashed_cpr": True, "description": "CPR numbers written DDMMYY-SSSS"},
    "extra_columns": {
        "description": "two columns outside the contract (FULDT_NAVN, a full name; BEMAERKNING)",
    },
    "danish_excel_export": {
        "delimiter": ";",
        "encoding": "cp1252",
        "newline": "\r\n",
        "dates": ".",
        "decimal_comma": True,
        "dashed_cpr": True,
        "description": "Excel in a Danish locale: semicolons, Windows-1252, CRLF, DD.MM.YYYY dates, "
        "decimal commas and CPR numbers with a dash",
    },
}
