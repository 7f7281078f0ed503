"""Taking one source's new deliveries: read, pseudonymise, validate, then land or quarantine each one.

Plain functions, no Prefect: ``pipelines/ingest.py`` wraps ``ingest_source`` in a task and runs the sources in
``INGEST_ORDER``. All deliveries of a source found in one run are validated in as few Great Expectations
calls as possible (context columns keep uniqueness rules per delivery), then each delivery is decided on
its own: any blocking finding quarantines the whole delivery, warnings are reported and it lands.
Validation failures are results, not exceptions, so nothing here is retried; ``OSError`` propagates for the
caller to retry (re-running is safe: the ledger makes landing exactly-once).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts.conform import (
    ReferenceData,
    TypeProblem,
    add_context_columns,
    coerce_types,
    keystore_rows,
    to_warehouse_rows,
)
from data_contracts.contract import Contract
from data_contracts.deliveries import (
    Delivery,
    UnreadableDeliveryError,
    discover_file_deliveries,
    read_care_increments,
    read_file_delivery,
)
from data_contracts.findings import BatchReport, Finding, write_report
from data_contracts.keystore import write_identities
from data_contracts.validation import ContractValidator, RuleBreach
from warehouse import AlreadyIngestedError, BatchRecord, Warehouse

VALIDATION_CHUNK_ROWS = 3_000_000


@dataclass(frozen=True)
class IngestContext:
    """What every source's intake needs; built once per run at the edge."""

    warehouse: Warehouse
    validator: ContractValidator
    landing_dir: Path
    quarantine_dir: Path
    care_db_url: str
    pseudonym_key: str = field(repr=False)
    key_version: str
    ingested_at: pd.Timestamp
    write_keystore: bool
    keystore_url: str
    echo: Callable[[str], None] = print


@dataclass
class SourceOutcome:
    """Counts and reasons for one source (no person data): what landed, what was quarantined and why."""

    source: str
    landed: list[dict[str, object]] = field(default_factory=list)
    quarantined: list[dict[str, object]] = field(default_factory=list)
    skipped_reason: str | None = None

    @property
    def rows_landed(self) -> int:
        return sum(int(item["rows"]) for item in self.landed)  # type: ignore[call-overload]


def _care_db_available(url: str) -> bool:
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).is_file()
    return True


def load_reference(warehouse: Warehouse, contract: Contract) -> ReferenceData:
    """Reference data from committed batches: birth dates, LPR3 contacts and DDD per product (latest)."""
    tables = set(warehouse.tables())
    birth_dates = pd.Series(dtype="datetime64[us]")
    contacts = ReferenceData().contacts
    ddd = pd.Series(dtype="float64")
    connection = warehouse.connect()
    try:
        if contract.table != "population" and "population" in tables:
            frame = connection.execute(
                "SELECT person_key, arg_max(birth_date, _delivered_at) AS birth_date "
                "FROM population GROUP BY person_key"
            ).df()
            birth_dates = frame.set_index("person_key")["birth_date"].astype("datetime64[us]")
        if contract.table == "hospital_diagnoses" and "hospital_contacts" in tables:
            frame = connection.execute(
                "SELECT contact_id, arg_max(person_key, _delivered_at) AS person_key, "
                "arg_max(contact_start, _delivered_at) AS contact_start FROM hospital_contacts "
                "WHERE lpr_version = 'LPR3' GROUP BY contact_id"
            ).df()
            contacts = frame.set_index("contact_id")[["person_key", "contact_start"]]
        if contract.table == "prescriptions" and "drug_products" in tables:
            frame = connection.execute(
                "SELECT product_number, arg_max(ddd_per_pack, _delivered_at) AS ddd_per_pack "
                "FROM drug_products GROUP BY product_number"
            ).df()
            ddd = frame.set_index("product_number")["ddd_per_pack"].astype("float64")
    finally:
        connection.close()
    return ReferenceData(birth_dates=birth_dates, contacts=contacts, ddd_per_pack=ddd)


def _batch_id(delivery: Delivery) -> str:
    return f"{delivery.source}-{delivery.label}-{delivery.content_sha256[:12]}"


def _findings_for_delivery(
    positions_of_delivery: np.ndarray,
    breaches: list[RuleBreach],
    type_problems: list[TypeProblem],
    row_ids: np.ndarray,
    row_reference: str,
) -> list[Finding]:
    """Breaches on the combined frame restricted to one delivery's positions, as row numbers or ids."""
    start, stop = int(positions_of_delivery[0]), int(positions_of_delivery[-1]) + 1
    findings: list[Finding] = []
    for problem in type_problems:
        findings.append(
            Finding(
                problem.column,
                f"values parse as {problem.expected_type}",
                f"{problem.column} holds valid {problem.expected_type} values",
                "blocking",
                len(problem.positions),
                tuple(int(row_ids[p]) for p in problem.positions),
                row_reference,  # type: ignore[arg-type]
            )
        )
    for breach in breaches:
        inside = breach.positions[(breach.positions >= start) & (breach.positions < stop)]
        if len(inside) == 0:
            continue
        findings.append(
            Finding(
                breach.column,
                breach.expectation,
                breach.rule,
                breach.severity,  # type: ignore[arg-type]
                len(inside),
                tuple(int(row_ids[p]) for p in inside),
                row_reference,  # type: ignore[arg-type]
            )
        )
    return findings


def _volume_finding(rows: int, previous: int | None, tolerance: float) -> Finding | None:
    if previous is None or previous == 0:
        return None
    low, high = previous * (1 - tolerance), previous * (1 + tolerance)
    if low <= rows <= high:
        return None
    return Finding(
        None,
        "volume vs previous delivery",
        f"row count {rows} is outside {tolerance:.0%} of the previous delivery's {previous} rows",
        "warning",
        0,
        (),
        "none",
    )


def _next_step(contract: Contract, unreadable: bool) -> str:
    if contract.origin == "care_db":
        return (
            "Correct the listed records in the care-record system; a corrected record gets a later "
            "registered_at and is taken by the next `tidlig ingest`. Rows of this increment that were "
            "correct are not re-read unless re-registered."
        )
    if unreadable:
        return (
            "Ask the supplier for a readable file in the contract's format and put it in the extract folder "
            "in place of this one (a file with new content is taken as a new delivery), then run "
            "`tidlig ingest` again."
        )
    return (
        "Check the listed rows in the delivered file (CSV line = row + 1), ask the supplier for a corrected "
        "extract, put it in place of this file and run `tidlig ingest` again. Nothing of this delivery "
        "was landed."
    )


def _quarantine(
    context: IngestContext,
    contract: Contract,
    *,
    delivery: Delivery,
    rows: int,
    reason: str,
    findings: list[Finding],
    outcome: SourceOutcome,
    unreadable: bool = False,
) -> None:
    batch_id = _batch_id(delivery)
    report = BatchReport(
        batch_id,
        contract.source,
        delivery.label,
        delivery.where,
        contract.version,
        "quarantined",
        rows,
        reason,
        tuple(findings),
        _next_step(contract, unreadable),
    )
    folder = write_report(report, context.quarantine_dir / contract.source / delivery.label / batch_id)
    try:
        context.warehouse.record_quarantined(
            BatchRecord(
                batch_id,
                contract.source,
                delivery.label,
                delivery.content_sha256,
                rows,
                contract.version,
                delivery.delivered_at,
                context.ingested_at,
                "quarantined",
                contract.table,
                context.key_version,
                None,
                json.dumps({"reason": reason, "report": str(folder / "report.md")}),
            )
        )
    except AlreadyIngestedError:
        return
    outcome.quarantined.append(
        {"delivery": delivery.label, "rows": rows, "reason": reason, "report": str(folder / "report.md")}
    )
    context.echo(f"  quarantined {contract.source} {delivery.label}: {reason}")


def _reason(findings: list[Finding]) -> str:
    blocking = [finding for finding in findings if finding.severity == "blocking"]
    parts = [f"{finding.rule} ({finding.failing_rows} rows)" for finding in blocking[:3]]
    more = f" and {len(blocking) - 3} more rule(s)" if len(blocking) > 3 else ""
    return f"{len(blocking)} blocking rule(s) broken: " + "; ".join(parts) + more


def _previous_rows(warehouse: Warehouse, source: str) -> list[int]:
    ledger = warehouse.batches()
    mine = ledger[(ledger["source"] == source) & (ledger["status"] == "landed")]
    return [int(rows) for rows in mine.sort_values("delivered_at")["rows"]]


def _discover(context: IngestContext, contract: Contract) -> list[tuple[Delivery, pd.DataFrame | None, str]]:
    """(delivery, raw frame or None, reason if unreadable) for every new delivery of the source."""
    seen = context.warehouse.seen_hashes(contract.source)
    if contract.origin == "care_db":
        watermark = context.warehouse.latest_delivered_at(contract.source)
        increments = read_care_increments(context.care_db_url, contract, watermark, seen)
        return [(delivery, frame, "") for delivery, frame in increments]
    found: list[tuple[Delivery, pd.DataFrame | None, str]] = []
    for delivery in discover_file_deliveries(context.landing_dir, contract, seen):
        try:
            found.append((delivery, read_file_delivery(delivery, contract), ""))
        except UnreadableDeliveryError as error:
            found.append((delivery, None, str(error)))
    return found


def ingest_source(contract: Contract, context: IngestContext) -> SourceOutcome:
    """Take every new delivery of one source exactly once: land it or quarantine it with a report."""
    outcome = SourceOutcome(contract.source)
    if contract.origin == "care_db" and not _care_db_available(context.care_db_url):
        outcome.skipped_reason = "no care database"
        return outcome
    try:
        found = _discover(context, contract)
    except UnreadableDeliveryError as error:
        outcome.skipped_reason = str(error)
        context.echo(f"  {contract.source}: {error}")
        return outcome
    if not found:
        return outcome
    reference = load_reference(context.warehouse, contract)
    prepared: list[tuple[Delivery, pd.DataFrame, list[TypeProblem]]] = []
    for delivery, raw, problem in found:
        if raw is None:
            _quarantine(
                context,
                contract,
                delivery=delivery,
                rows=0,
                reason=problem,
                findings=[],
                outcome=outcome,
                unreadable=True,
            )
            continue
        typed, type_problems = coerce_types(raw, contract)
        framed = add_context_columns(
            typed,
            contract,
            delivery_label=delivery.label,
            delivered_at=delivery.delivered_at,
            key=context.pseudonym_key,
            reference=reference,
        )
        prepared.append((delivery, framed, type_problems))
    history = _previous_rows(context.warehouse, contract.source)
    for group in _chunks(prepared):
        combined = pd.concat([frame for _, frame, _ in group], ignore_index=True)
        breaches = context.validator.validate(combined, contract)
        offset = 0
        for delivery, frame, type_problems in group:
            positions = np.arange(offset, offset + len(frame))
            row_ids, reference_kind = (
                (combined["id"].fillna(-1).astype("int64").to_numpy(), "record_id")
                if contract.origin == "care_db"
                else (combined["_row_number"].to_numpy(), "row_number")
            )
            local_problems = [
                TypeProblem(p.column, p.expected_type, p.positions + offset) for p in type_problems
            ]
            findings = _findings_for_delivery(positions, breaches, local_problems, row_ids, reference_kind)
            previous = history[-1] if len(history) >= 2 else None
            volume = _volume_finding(len(frame), previous, contract.volume_tolerance)
            if volume is not None:
                findings.append(volume)
            offset += len(frame)
            if any(finding.severity == "blocking" for finding in findings):
                _quarantine(
                    context,
                    contract,
                    delivery=delivery,
                    rows=len(frame),
                    reason=_reason(findings),
                    findings=findings,
                    outcome=outcome,
                )
                continue
            _land(
                context,
                contract,
                delivery=delivery,
                frame=frame,
                findings=findings,
                reference=reference,
                outcome=outcome,
            )
            history.append(len(frame))
    return outcome


def _chunks(
    prepared: list[tuple[Delivery, pd.DataFrame, list[TypeProblem]]],
) -> list[list[tuple[Delivery, pd.DataFrame, list[TypeProblem]]]]:
    groups: list[list[tuple[Delivery, pd.DataFrame, list[TypeProblem]]]] = [[]]
    size = 0
    for item in prepared:
        if groups[-1] and size + len(item[1]) > VALIDATION_CHUNK_ROWS:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += len(item[1])
    return [group for group in groups if group]


def _land(
    context: IngestContext,
    contract: Contract,
    *,
    delivery: Delivery,
    frame: pd.DataFrame,
    findings: list[Finding],
    reference: ReferenceData,
    outcome: SourceOutcome,
) -> None:
    batch_id = _batch_id(delivery)
    rows = to_warehouse_rows(frame, contract, reference, batch_id, context.ingested_at)
    if context.write_keystore:
        write_identities(context.keystore_url, keystore_rows(frame, contract, context.key_version))
    warnings = [finding.to_dict() for finding in findings]
    record = BatchRecord(
        batch_id,
        contract.source,
        delivery.label,
        delivery.content_sha256,
        len(rows),
        contract.version,
        delivery.delivered_at,
        context.ingested_at,
        "landed",
        contract.table,
        context.key_version,
        None,
        json.dumps({"warnings": warnings}) if warnings else None,
    )
    try:
        context.warehouse.land_batch(rows, record)
    except AlreadyIngestedError:
        return
    outcome.landed.append(
        {
            "delivery": delivery.label,
            "rows": len(rows),
            "warnings": [f"{finding.rule} ({finding.failing_rows} rows)" for finding in findings],
        }
    )
