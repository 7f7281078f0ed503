"""The generator's own description of what it delivers: one place for every source's columns.

These shapes are the contract in ``docs/interfaces.md`` section 1; the writers, the fault injector and
the tests all read them from here. Column types are the logical types of the interface:
``str``, ``int``, ``float``, ``date``, ``datetime``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["str", "int", "float", "date", "datetime"]
FileFormat = Literal["csv", "parquet"]


@dataclass(frozen=True)
class RegistrySource:
    """A registry extract delivered as one file per extract date under ``landing/<name>/<date>/``."""

    name: str
    file_format: FileFormat
    columns: tuple[tuple[str, ColumnType], ...]
    record_key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def file_name(self) -> str:
        return f"{self.name}.{self.file_format}"


@dataclass(frozen=True)
class CareTable:
    """A table of the municipal care-record database; ``id``, ``cpr``, ``registered_at`` come first."""

    name: str
    columns: tuple[tuple[str, ColumnType], ...]

    @property
    def all_columns(self) -> tuple[tuple[str, ColumnType], ...]:
        return (("id", "int"), ("cpr", "str"), *self.columns, ("registered_at", "datetime"))

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.all_columns)


REGISTRY_SOURCES: dict[str, RegistrySource] = {
    source.name: source
    for source in (
        RegistrySource(
            "cpr_population",
            "csv",
            (
                ("PNR", "str"),
                ("FOED_DAG", "date"),
                ("KOEN", "str"),
                ("NAVN", "str"),
                ("STATUS", "str"),
                ("KOM", "str"),
                ("DISTRIKT", "str"),
                ("CIVST", "str"),
                ("ANTPERSH", "int"),
                ("BOP_VFRA", "date"),
                ("BOP_VTIL", "date"),
            ),
            ("PNR", "BOP_VFRA"),
        ),
        RegistrySource(
            "deaths", "csv", (("PNR", "str"), ("DODDATO", "date"), ("DODSAARSAG", "str")), ("PNR",)
        ),
        RegistrySource(
            "lpr3_contacts",
            "parquet",
            (
                ("DW_EK_KONTAKT", "str"),
                ("PNR", "str"),
                ("KONT_STARTTIDSPUNKT", "datetime"),
                ("KONT_SLUTTIDSPUNKT", "datetime"),
                ("KONT_TYPE", "str"),
                ("PRIORITET", "str"),
                ("ADIAG", "str"),
                ("KONT_ANS", "str"),
            ),
            ("DW_EK_KONTAKT",),
        ),
        RegistrySource(
            "lpr3_diagnoses",
            "parquet",
            (
                ("DW_EK_KONTAKT", "str"),
                ("DIAG_KODE", "str"),
                ("DIAG_KODE_TYPE", "str"),
                ("SENERE_AFKRAEFTET", "int"),
            ),
            ("DW_EK_KONTAKT", "DIAG_KODE", "DIAG_KODE_TYPE"),
        ),
        RegistrySource(
            "lpr2_admissions",
            "csv",
            (
                ("RECNUM", "str"),
                ("PNR", "str"),
                ("D_INDDTO", "date"),
                ("D_UDDTO", "date"),
                ("C_PATTYPE", "str"),
                ("C_INDM", "str"),
                ("C_ADIAG", "str"),
            ),
            ("RECNUM",),
        ),
        RegistrySource(
            "lmdb_prescriptions",
            "csv",
            (
                ("PNR", "str"),
                ("EKSD", "date"),
                ("ATC", "str"),
                ("VNR", "str"),
                ("APK", "float"),
                ("PACKSIZE", "float"),
                ("STRNUM", "float"),
                ("STRUNIT", "str"),
                ("INDO", "str"),
            ),
            ("PNR", "EKSD", "VNR"),
        ),
        RegistrySource(
            "lmdb_products",
            "csv",
            (
                ("VNR", "str"),
                ("ATC", "str"),
                ("PRODUCT_NAME", "str"),
                ("PACKSIZE", "float"),
                ("DDD_PER_PACK", "float"),
            ),
            ("VNR",),
        ),
        RegistrySource(
            "sssy_services",
            "csv",
            (
                ("PNR", "str"),
                ("SPECIALE", "str"),
                ("HONUGE", "str"),
                ("BEHANDLINGSDATO", "date"),
                ("YDLANT", "int"),
                ("YDLTID", "str"),
            ),
            ("PNR", "SPECIALE", "HONUGE", "BEHANDLINGSDATO", "YDLTID"),
        ),
    )
}

CARE_TABLES: dict[str, CareTable] = {
    table.name: table
    for table in (
        CareTable(
            "fsiii_functional_ability",
            (("assessed_date", "date"), ("code", "str"), ("score", "int"), ("expected_score", "int")),
        ),
        CareTable("fsiii_health_conditions", (("recorded_date", "date"), ("code", "str"), ("status", "str"))),
        CareTable(
            "home_care",
            (
                ("month", "date"),
                ("perpl_vis", "int"),
                ("perpl_lev", "int"),
                ("prahj_vis", "int"),
                ("prahj_lev", "int"),
                ("provider_type", "str"),
            ),
        ),
        CareTable("home_nursing_visits", (("visit_date", "date"),)),
        CareTable("nursing_home_stays", (("month", "date"),)),
        CareTable("falls", (("fall_date", "date"), ("injury", "int"))),
        CareTable("weights", (("measured_date", "date"), ("weight_kg", "float"))),
        CareTable("preventive_visits", (("visit_date", "date"), ("outcome", "str"))),
        CareTable(
            "early_detection_observations",
            (("observed_at", "datetime"), ("tool", "str"), ("triage_colour", "str")),
        ),
    )
}

# Columns that must never be empty in a delivery (the fault `missing_required` empties one of them).
REQUIRED_REGISTRY_COLUMNS: dict[str, tuple[str, ...]] = {
    "cpr_population": ("PNR", "FOED_DAG", "KOEN", "STATUS", "KOM", "BOP_VFRA"),
    "deaths": ("PNR", "DODDATO"),
    "lpr3_contacts": ("DW_EK_KONTAKT", "PNR", "KONT_STARTTIDSPUNKT", "PRIORITET", "ADIAG"),
    "lpr3_diagnoses": ("DW_EK_KONTAKT", "DIAG_KODE", "DIAG_KODE_TYPE"),
    "lpr2_admissions": ("RECNUM", "PNR", "D_INDDTO", "C_PATTYPE", "C_INDM", "C_ADIAG"),
    "lmdb_prescriptions": ("PNR", "EKSD", "ATC", "VNR", "APK"),
    "lmdb_products": ("VNR", "ATC", "PACKSIZE", "DDD_PER_PACK"),
    "sssy_services": ("PNR", "SPECIALE", "HONUGE", "YDLANT"),
}

# First date with LPR3 shape; hospital contacts before it are delivered in LPR2 shape.
LPR3_FROM = "2019-01-01"
# First date SSSY carries BEHANDLINGSDATO; before it only the fee week is known.
SSSY_TREATMENT_DATE_FROM = "2021-01-01"
