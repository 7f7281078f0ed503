"""Data contracts: one JSON file per source table, a Great Expectations suite with the contract in its meta.

A contract says which columns a delivery must have (source names and types), what they are called in the
warehouse, the record key, the valid-time column and which column holds the CPR number. The suite's
expectations are the rules; each carries ``meta.severity`` (``blocking`` quarantines the batch, ``warning``
is reported only) and ``meta.rule`` (a plain-language sentence used in reports).

Expectations may name *context columns* that ingest adds before validation and never lands:
``_delivery`` (the delivery label, so uniqueness holds per delivery), ``_delivered_at`` (extract date or
``registered_at``), ``_birth_date`` (from the population), ``_person_known``, ``_contact_known`` and
``_product_known`` (cross-table look-ups).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from data_contracts.dialect import PinnedDialect

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite

SUITES_DIR = Path(__file__).parent / "suites"

ColumnType = Literal["cpr", "string", "date", "datetime", "int", "float"]
# blocking: the whole delivery is quarantined; rows: the failing rows are quarantined (left out and counted),
# the rest lands; warning: reported, everything lands.
Severity = Literal["blocking", "rows", "warning"]
SEVERITIES: tuple[str, ...] = ("blocking", "rows", "warning")
Cadence = Literal["monthly", "once", "continuous"]

# Order matters: the population defines who is known, contacts before diagnoses, products before
# prescriptions (their DDD comes from the product table).
INGEST_ORDER: tuple[str, ...] = (
    "cpr_population",
    "deaths",
    "lpr2_admissions",
    "lpr3_contacts",
    "lpr3_diagnoses",
    "lmdb_products",
    "lmdb_prescriptions",
    "sssy_services",
    "fsiii_functional_ability",
    "fsiii_health_conditions",
    "home_care",
    "home_nursing_visits",
    "nursing_home_stays",
    "falls",
    "weights",
    "preventive_visits",
    "early_detection_observations",
)


class ContractError(RuntimeError):
    """A contract file is missing, malformed, or lost expectations when loaded into Great Expectations."""


@dataclass(frozen=True)
class ColumnSpec:
    """One delivered column: its source name, warehouse name (None: not landed), type and value mapping."""

    source: str
    name: str | None
    type: ColumnType
    required: bool = True
    values: dict[str, str] | None = None
    boolean: bool = False
    keystore: bool = False


@dataclass(frozen=True)
class Contract:
    """The contract of one source table, as stored in ``suites/<source>.json``."""

    source: str
    version: str
    origin: Literal["file", "care_db"]
    format: str
    table: str
    description: str
    columns: tuple[ColumnSpec, ...]
    record_key: tuple[str, ...]
    valid_time: str | None
    person_column: str | None
    volume_tolerance: float
    expectations: tuple[dict[str, Any], ...]
    path: Path
    dialect: PinnedDialect = field(default_factory=PinnedDialect)
    cadence: Cadence = "monthly"  # how often the supplier delivers (the expected sequence)
    min_volume_share: float = 0.5  # warn below this share of the median of the recent deliveries

    @property
    def source_columns(self) -> list[str]:
        """The delivered columns the contract keeps (all others are dropped at entry)."""
        return [column.source for column in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [column.source for column in self.columns if column.required]

    def column(self, source_name: str) -> ColumnSpec:
        for column in self.columns:
            if column.source == source_name:
                return column
        raise KeyError(f"Contract {self.source} has no column {source_name}")

    def severity_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for expectation in self.expectations:
            counts[expectation["meta"]["severity"]] += 1
        return counts


def available_sources() -> list[str]:
    """Every source with a contract file, in ingest order."""
    on_disk = {path.stem for path in SUITES_DIR.glob("*.json")}
    return [source for source in INGEST_ORDER if source in on_disk]


def _check_expectation(source: str, expectation: dict[str, Any], number: int) -> None:
    meta = expectation.get("meta") or {}
    if meta.get("severity") not in SEVERITIES:
        raise ContractError(
            f"Contract {source}: expectation #{number} ({expectation.get('type')}) has no meta.severity "
            "'blocking', 'rows' or 'warning'. Mark every expectation with one."
        )
    if not meta.get("rule"):
        raise ContractError(f"Contract {source}: expectation #{number} has no meta.rule sentence.")


@cache
def load_contract(source: str, suites_dir: Path = SUITES_DIR) -> Contract:
    """Read and check ``suites_dir/<source>.json``; raise ContractError naming the file on any problem."""
    path = suites_dir / f"{source}.json"
    if not path.is_file():
        raise ContractError(f"No contract for source '{source}': expected {path}.")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        meta = document["meta"]["contract"]
        expectations = tuple(document["expectations"])
        columns = tuple(ColumnSpec(**column) for column in meta["columns"])
        contract = Contract(
            source=meta["source"],
            version=meta["version"],
            origin=meta["origin"],
            format=meta["format"],
            table=meta["table"],
            description=meta["description"],
            columns=columns,
            record_key=tuple(meta["record_key"]),
            valid_time=meta["valid_time"],
            person_column=meta["person_column"],
            volume_tolerance=float(meta["volume_tolerance"]),
            expectations=expectations,
            path=path,
            dialect=PinnedDialect.from_meta(meta.get("dialect")),
            cadence=meta.get("cadence", "monthly" if meta["origin"] == "file" else "continuous"),
            min_volume_share=float(meta.get("min_volume_share", 0.5)),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ContractError(
            f"Contract file {path} is malformed ({type(error).__name__}: {error})."
        ) from error
    if contract.source != source:
        raise ContractError(f"Contract file {path} declares source '{contract.source}', expected '{source}'.")
    for number, expectation in enumerate(expectations, start=1):
        _check_expectation(source, expectation, number)
    return contract


def load_suite(contract: Contract) -> ExpectationSuite:
    """The contract's Great Expectations suite; fails loudly if any expectation was lost on the way.

    Great Expectations may drop or reject an expectation it does not know; a suite that comes back
    shorter than its file would silently check less, so that is an error.
    """
    from great_expectations.core import ExpectationSuite

    document = json.loads(contract.path.read_text(encoding="utf-8"))
    try:
        suite = ExpectationSuite(
            name=document["name"], expectations=document["expectations"], meta=document["meta"]
        )
    except Exception as error:
        raise ContractError(
            f"Great Expectations could not load {contract.path}: {type(error).__name__}: {error}"
        ) from error
    if len(suite.expectations) != len(document["expectations"]):
        raise ContractError(
            f"Contract {contract.path} has {len(document['expectations'])} expectations but Great "
            f"Expectations loaded {len(suite.expectations)}: check the expectation types in the file."
        )
    return suite
