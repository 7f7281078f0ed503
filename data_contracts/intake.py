"""Taking one source's new deliveries: read, pseudonymise, validate, then land or quarantine each one.

Plain functions, no Prefect: ``pipelines/ingest_flow.py`` wraps ``ingest_source`` in a task and runs the
sources in ``INGEST_ORDER``. All deliveries of a source found in one run are validated in as few Great
Expectations calls as possible (context columns keep uniqueness rules per delivery), then each delivery is
decided on its own: any blocking finding quarantines the whole delivery, warnings are reported and it lands.
Validation failures are results, not exceptions, so nothing here is retried; ``OSError`` propagates for the
caller to retry (re-running is safe: the ledger makes landing exactly-once).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.conform import (
    TEXT_DTYPE,
    ReferenceData,
    TypeProblem,
    add_context_columns,
    coerce_types,
    keystore_rows,
    schema_problems,
    spread_text,
    to_warehouse_rows,
)
from data_contracts.contract import Contract
from data_contracts.data_docs import DataDocs
from data_contracts.deliveries import (
    Delivery,
    FileChunking,
    ReadResult,
    UnreadableDeliveryError,
    discover_file_deliveries,
    open_file_delivery_in_chunks,
    read_care_increments,
    read_file_delivery_with_notes,
)
from data_contracts.findings import BatchReport, Finding, write_report
from data_contracts.keystore import write_identities
from data_contracts.pseudonym import key_fingerprint
from data_contracts.validation import ContractValidator, RuleBreach
from warehouse import AlreadyIngestedError, BatchRecord, PseudonymKeyMismatchError, Warehouse

GROUP_ROWS = 2_000_000
RECENT_DELIVERIES = 6  # how many landed deliveries the "far smaller than usual" warning compares with
# Cross-table rules whose failure means "the upstream delivery is missing or was quarantined": a delivery
# quarantined only by these is held and retried once when that upstream source lands.
UPSTREAM_OF_RULE = {
    "_person_known": "cpr_population",
    "_contact_known": "lpr3_contacts",
    "_product_known": "lmdb_products",
}
# Column names that suggest personal data a contract does not allow (names, addresses, phone numbers).
PERSONAL_COLUMN_WORDS = (
    "navn",
    "name",
    "adresse",
    "address",
    "addr",
    "vej",
    "gade",
    "street",
    "postnr",
    "zip",
    "tlf",
    "telefon",
    "phone",
    "mobil",
    "email",
    "mail",
)


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
    data_docs: DataDocs | None = None  # value-free GX Data Docs of every validation (None: not built)
    # when an extract file is read in chunks rather than whole (a file larger than memory, D141)
    chunking: FileChunking = field(default_factory=FileChunking)
    # CPR -> pseudonym under ``pseudonym_key`` for this run: the same persons recur in every source and
    # group, and hashing each again was a few seconds of a 60k ingest. In memory only, never written.
    pseudonym_cache: dict[str, str] = field(default_factory=dict, repr=False, compare=False)


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


def reference_tables(contract: Contract) -> tuple[str, ...]:
    """The landed tables whose rows ``load_reference`` reads for ``contract`` (birth dates from the
    population for every other table, LPR3 contacts for diagnoses, products for prescriptions)."""
    tables = [] if contract.table == "population" else ["population"]
    if contract.table == "hospital_diagnoses":
        tables.append("hospital_contacts")
    if contract.table == "prescriptions":
        tables.append("drug_products")
    return tuple(tables)


def upstream_sources(contracts: list[Contract]) -> dict[str, list[str]]:
    """For sources taken in the given order: the earlier ones each must wait for, because they land a
    table its reference data (and so its cross-table rules and held deliveries) depend on."""
    upstream: dict[str, list[str]] = {}
    for position, contract in enumerate(contracts):
        needed = set(reference_tables(contract))
        upstream[contract.source] = [
            earlier.source for earlier in contracts[:position] if earlier.table in needed
        ]
    return upstream


def load_reference(warehouse: Warehouse, contract: Contract) -> ReferenceData:
    """Reference data from committed batches: birth dates, LPR3 contacts and DDD per product (latest).

    Reads only the partitions of the one table it needs (a full ``Warehouse.connect()`` creates a view
    per table, which costs more than the query for most sources).
    """
    import duckdb

    from warehouse.store import READ_OPTIONS

    files = warehouse.landed_files()

    def source(table: str) -> str:
        listing = ", ".join(f"'{path}'" for path in files[table])
        return f"read_parquet([{listing}], {READ_OPTIONS})"

    birth_dates = pd.Series(dtype="datetime64[us]")
    contacts = ReferenceData().contacts
    ddd = pd.Series(dtype="float64")
    connection = duckdb.connect()
    try:
        needed = reference_tables(contract)
        if "population" in needed and "population" in files:
            frame = connection.execute(
                "SELECT person_key, arg_max(birth_date, _delivered_at) AS birth_date "
                f"FROM {source('population')} GROUP BY person_key"
            ).df()
            birth_dates = frame.set_index("person_key")["birth_date"].astype("datetime64[us]")
        if "hospital_contacts" in needed and "hospital_contacts" in files:
            frame = connection.execute(
                "SELECT contact_id, arg_max(person_key, _delivered_at) AS person_key, "
                f"arg_max(contact_start, _delivered_at) AS contact_start FROM {source('hospital_contacts')} "
                "WHERE lpr_version = 'LPR3' GROUP BY contact_id"
            ).df()
            contacts = frame.set_index("contact_id")[["person_key", "contact_start"]]
        if "drug_products" in needed and "drug_products" in files:
            frame = connection.execute(
                "SELECT product_number, arg_max(ddd_per_pack, _delivered_at) AS ddd_per_pack "
                f"FROM {source('drug_products')} GROUP BY product_number"
            ).df()
            ddd = frame.set_index("product_number")["ddd_per_pack"].astype("float64")
    finally:
        connection.close()
    return ReferenceData(birth_dates=birth_dates, contacts=contacts, ddd_per_pack=ddd)


def batch_id_of(delivery: Delivery) -> str:
    suffix = "-retry" if delivery.attempt else ""
    return f"{delivery.source}-{delivery.label}-{delivery.content_sha256[:12]}{suffix}"


def verify_key(context: IngestContext) -> None:
    """Refuse, before any batch is touched, a key other than the one the warehouse was filled with;
    record the key's fingerprint on the first ingest. Raises PseudonymKeyMismatchError."""
    fingerprint = key_fingerprint(context.pseudonym_key)
    context.warehouse.verify_key(fingerprint, context.key_version)
    context.warehouse.register_key(fingerprint, context.key_version)


def release_held(context: IngestContext, source: str, *, force: bool = False) -> list[str]:
    """Release the held batches of ``source`` whose upstream source has landed a batch since they were
    held (all held ones with ``force``), for their one retry by the next intake; return their batch ids."""
    held = context.warehouse.held_batches(source)
    if held.empty:
        return []
    ledger = context.warehouse.batches()
    landed = ledger[ledger["status"] == "landed"]
    chosen = []
    for row in held.itertuples():
        upstreams = str(row.held_by).split(",")
        ready = all(
            ((landed["source"] == upstream) & (landed["ingested_at"] > row.ingested_at)).any()
            for upstream in upstreams
        )
        if ready or force:
            chosen.append(str(row.batch_id))
    context.warehouse.release_for_retry(chosen)
    if chosen:
        context.echo(f"  {source}: retrying {len(chosen)} delivery(ies) held because of an upstream source")
    return chosen


def personal_data_column(name: str) -> bool:
    """Whether a column name suggests names, addresses or phone numbers."""
    lowered = name.lower()
    return any(word in lowered for word in PERSONAL_COLUMN_WORDS)


def dropped_column_findings(columns: tuple[str, ...]) -> list[Finding]:
    """One warning per delivered column outside the contract (name only), stronger for personal data."""
    findings = []
    for name in columns:
        if personal_data_column(name):
            rule = (
                f"column {name} is not in the contract and was dropped before anything was stored; its name "
                "suggests personal data (name, address or phone number): ask the supplier to stop sending it"
            )
        else:
            rule = f"column {name} is not in the contract and was dropped before anything was stored"
        findings.append(Finding(name, "column outside the contract", rule, "warning", 0, (), "none"))
    return findings


def held_by(findings: list[Finding]) -> str | None:
    """The upstream source(s) when every blocking finding is a cross-table "known in" rule."""
    blocking = [finding for finding in findings if finding.severity == "blocking"]
    if not blocking or any(finding.column not in UPSTREAM_OF_RULE for finding in blocking):
        return None
    return ",".join(sorted({UPSTREAM_OF_RULE[str(finding.column)] for finding in blocking}))


def findings_for_delivery(
    start: int,
    stop: int,
    *,
    breaches: list[RuleBreach],
    type_problems: list[TypeProblem],
    row_ids: np.ndarray,
    row_reference: str,
) -> list[Finding]:
    """Problems on the combined frame restricted to one delivery's positions ``[start, stop)``, given as
    row numbers within the delivery (files) or record ids (care tables)."""
    findings: list[Finding] = []
    located = [
        (
            problem.column,
            f"values are of type {problem.expected_type}",
            f"{problem.column} holds {problem.expected_type.split(' ')[0]} values"
            + (" (the column is stored as text)" if "text" in problem.expected_type else ""),
            "blocking",
            problem.positions,
        )
        for problem in type_problems
    ] + [
        (breach.column, breach.expectation, breach.rule, breach.severity, breach.positions)
        for breach in breaches
    ]
    for column, expectation, rule, severity, positions in located:
        inside = positions[(positions >= start) & (positions < stop)]
        if len(inside) == 0:
            continue
        findings.append(
            Finding(
                column,
                expectation,
                rule,
                severity,  # type: ignore[arg-type]
                len(inside),
                tuple(int(row_id) for row_id in row_ids[inside]),
                row_reference,  # type: ignore[arg-type]
            )
        )
    return findings


def _size_finding(rows: int, recent: list[int], share: float) -> Finding | None:
    """A warning when a delivery is far smaller than the source's recent ones (it may be cut off)."""
    if len(recent) < 3:
        return None
    median = float(np.median(recent))
    if median <= 0 or rows >= share * median:
        return None
    return Finding(
        None,
        "volume vs recent deliveries",
        f"row count {rows} is far below the median {median:.0f} of the last {len(recent)} landed "
        f"deliveries (under {share:.0%}): the delivery may be incomplete, check it with the supplier",
        "warning",
        0,
        (),
        "none",
    )


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
    normalised: dict[str, int] | None = None,
    counted: dict[str, int] | None = None,
) -> None:
    batch_id = batch_id_of(delivery)
    upstream = None if unreadable else held_by(findings)
    next_step = _next_step(contract, unreadable)
    if upstream and delivery.attempt:
        next_step = (
            f"This delivery was already retried once after {upstream} landed and is still refused: check "
            "the listed rows against the upstream source with the supplier. " + next_step
        )
    elif upstream:
        next_step = (
            f"Nothing is wrong with this file by itself as far as the rules can tell: it refers to records "
            f"of {upstream} that have not landed. Fix {upstream} first; this delivery is then retried once, "
            "automatically, by the next `tidlig ingest` (or `tidlig contracts retry-held`)."
        )
    report = BatchReport(
        batch_id,
        contract.source,
        delivery.label,
        delivery.where,
        contract.version,
        "quarantined",
        rows,
        reason,
        tuple(sorted(findings, key=lambda finding: finding.severity != "blocking")),
        next_step,
        normalised=normalised or {},
        counted=counted or {},
        held_by=None if delivery.attempt else upstream,
    )
    folder = write_report(report, context.quarantine_dir / contract.source / delivery.label / batch_id)
    try:
        context.warehouse.record_quarantined(
            ledger_row(
                context,
                contract,
                delivery,
                rows=rows,
                status="quarantined",
                notes=json.dumps(
                    {
                        "reason": reason,
                        "report": str(folder / "report.md"),
                        "html": str(folder / "report.html"),
                        "normalised": normalised or {},
                    }
                ),
                held_by=upstream,
            )
        )
    except AlreadyIngestedError:
        return
    outcome.quarantined.append(
        {
            "delivery": delivery.label,
            "rows": rows,
            "reason": reason,
            "report": str(folder / "report.md"),
            "held_by": upstream if not delivery.attempt else None,
        }
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


Reader = Callable[[], ReadResult]


def _discover(context: IngestContext, contract: Contract) -> list[tuple[Delivery, Reader]]:
    """Every new delivery of the source with a function that reads it (files are read one at a time).

    A delivery released for its retry (held because of an upstream source) is found again, marked as
    attempt 1; care increments are re-read by their hash because the watermark has moved past them.
    """
    seen = context.warehouse.seen_hashes(contract.source)
    released = context.warehouse.released_hashes(contract.source)
    if contract.origin == "care_db":
        watermark = context.warehouse.latest_delivered_at(contract.source)
        increments = read_care_increments(context.care_db_url, contract, watermark, seen)
        if released:
            found = {delivery.content_sha256 for delivery, _ in increments}
            increments += read_care_increments(
                context.care_db_url, contract, None, seen | found, only=released
            )
        return [
            (_retry_marked(delivery, released), functools.partial(_given, frame, delivery))
            for delivery, frame in increments
        ]
    return [
        (marked, functools.partial(read_file_delivery_with_notes, marked, contract))
        for delivery in discover_file_deliveries(context.landing_dir, contract, seen)
        for marked in [_retry_marked(delivery, released)]
    ]


def _retry_marked(delivery: Delivery, released: set[str]) -> Delivery:
    if delivery.content_sha256 in released:
        return dataclasses.replace(delivery, attempt=1)
    return delivery


def _given(frame: pd.DataFrame, delivery: Delivery) -> ReadResult:
    return ReadResult(frame, {}, delivery.dropped_columns)


def ingest_source(contract: Contract, context: IngestContext) -> SourceOutcome:
    """Take every new delivery of one source exactly once: land it or quarantine it with a report.

    Deliveries are processed in groups of up to ``GROUP_ROWS`` rows: one type conversion, one
    pseudonymisation, one Great Expectations validation and one catalog transaction per group, then
    a decision per delivery. This keeps hundreds of small monthly deliveries fast and memory bounded.
    A file larger than ``context.chunking.above_bytes`` is taken alone, in chunks (D141).
    """
    outcome = SourceOutcome(contract.source)
    try:
        verify_key(context)
    except PseudonymKeyMismatchError as error:
        context.echo(f"  {contract.source}: refused: {error}")
        raise
    if contract.origin == "care_db" and not _care_db_available(context.care_db_url):
        outcome.skipped_reason = "no care database"
        return outcome
    release_held(context, contract.source)
    try:
        pending = _discover(context, contract)
    except UnreadableDeliveryError as error:
        outcome.skipped_reason = str(error)
        context.echo(f"  {contract.source}: {error}")
        return outcome
    if not pending:
        return outcome
    reference = load_reference(context.warehouse, contract)
    history = _previous_rows(context.warehouse, contract.source)
    group: list[tuple[Delivery, ReadResult]] = []
    rows_in_group = 0
    for delivery, read in pending:
        if contract.origin != "care_db" and context.chunking.applies_to(delivery, contract):
            if group:  # the groups before it land first, so deliveries keep their order
                _process_group(
                    context, contract, group=group, reference=reference, history=history, outcome=outcome
                )
                group, rows_in_group = [], 0
            _ingest_large_file(
                context, contract, delivery, reference=reference, history=history, outcome=outcome
            )
            continue
        try:
            raw = read()
        except UnreadableDeliveryError as error:
            _quarantine_unreadable(context, contract, delivery, error, outcome)
            continue
        group.append((delivery, raw))
        rows_in_group += len(raw.frame)
        if rows_in_group >= GROUP_ROWS:
            _process_group(
                context, contract, group=group, reference=reference, history=history, outcome=outcome
            )
            group, rows_in_group = [], 0
    if group:
        _process_group(context, contract, group=group, reference=reference, history=history, outcome=outcome)
    context.echo(
        f"  {contract.source}: {len(outcome.landed)} landed ({outcome.rows_landed} rows), "
        f"{len(outcome.quarantined)} quarantined"
    )
    return outcome


def _quarantine_unreadable(
    context: IngestContext,
    contract: Contract,
    delivery: Delivery,
    error: UnreadableDeliveryError,
    outcome: SourceOutcome,
) -> None:
    """Quarantine a delivery that could not be read at all, with the reader's reason."""
    _quarantine(
        context,
        contract,
        delivery=delivery,
        rows=0,
        reason=str(error),
        findings=[],
        outcome=outcome,
        unreadable=True,
    )


def _ingest_large_file(
    context: IngestContext,
    contract: Contract,
    delivery: Delivery,
    *,
    reference: ReferenceData,
    history: list[int],
    outcome: SourceOutcome,
) -> None:
    """One extract file above ``context.chunking.above_bytes``: read, judged and staged chunk by chunk
    (``data_contracts.file_chunks``), landed or quarantined as one delivery."""
    from data_contracts.file_chunks import ingest_file_in_chunks

    try:
        opened = open_file_delivery_in_chunks(delivery, contract, context.chunking)
    except UnreadableDeliveryError as error:
        _quarantine_unreadable(context, contract, delivery, error, outcome)
        return
    ingest_file_in_chunks(
        context,
        contract,
        delivery=delivery,
        opened=opened,
        reference=reference,
        history=history,
        outcome=outcome,
    )


def landing_stub(context: IngestContext, contract: Contract, delivery: Delivery) -> BatchRecord:
    """The ledger row a delivery will land under, before its row count is known (for staging its rows)."""
    return ledger_row(context, contract, delivery, rows=0, status="staged", notes=None)


def ledger_row(
    context: IngestContext,
    contract: Contract,
    delivery: Delivery,
    *,
    rows: int,
    status: str,
    notes: str | None,
    held_by: str | None = None,
) -> BatchRecord:
    """The delivery's row in the warehouse ledger (``BatchRecord``) with ``status`` and its JSON ``notes``."""
    return BatchRecord(
        batch_id_of(delivery),
        contract.source,
        delivery.label,
        delivery.content_sha256,
        rows,
        contract.version,
        delivery.delivered_at,
        context.ingested_at,
        status,
        contract.table,
        context.key_version,
        None,
        notes,
        sequence=delivery.control.sequence if delivery.control else None,
        previous_delivery=delivery.control.previous_extract if delivery.control else None,
        held_by=held_by,
        attempt=delivery.attempt,
    )


def cpr_breaches(framed: pd.DataFrame, contract: Contract) -> list[RuleBreach]:
    """A 9-digit CPR number is refused with its likely cause (a leading zero lost in a spreadsheet)."""
    if contract.person_column is None or "_cpr_nine_digits" not in framed.columns:
        return []
    positions = np.flatnonzero(framed["_cpr_nine_digits"].to_numpy())
    if len(positions) == 0:
        return []
    person = contract.person_column
    return [
        RuleBreach(
            person,
            "CPR number with 9 digits",
            f"{person} has 9 digits instead of 10: the leading zero of a CPR number born on day 01-09 was "
            "probably lost when the file was opened or saved in a spreadsheet; ask the supplier to export "
            "the column as text",
            "blocking",
            positions,
            len(positions),
        )
    ]


def without_rows_quarantined(
    breaches: list[RuleBreach], type_problems: list[TypeProblem], row_rules: list[RuleBreach], rows: int
) -> tuple[list[RuleBreach], list[TypeProblem]]:
    """Rows quarantined by a row-level rule are not judged by the other rules too (an impossible CPR is
    also unknown in the population, which would otherwise quarantine the whole delivery)."""
    if not row_rules:
        return breaches, type_problems
    out = np.zeros(rows, dtype=bool)
    for breach in row_rules:
        out[breach.positions] = True
    kept_breaches = list(row_rules)
    for breach in breaches:
        if breach.severity == "rows":
            continue
        positions = breach.positions[~out[breach.positions]]
        if len(positions) or breach.could_not_evaluate:
            kept_breaches.append(
                dataclasses.replace(breach, positions=positions, failing_rows=len(positions))
            )
    kept_problems = [
        TypeProblem(problem.column, problem.expected_type, problem.positions[~out[problem.positions]])
        for problem in type_problems
    ]
    return kept_breaches, [problem for problem in kept_problems if len(problem.positions)]


def delivery_level_findings(
    contract: Contract, dropped: tuple[str, ...], rows: int, history: list[int]
) -> list[Finding]:
    """Warnings about a delivery as a whole: dropped columns, volume against the previous and the recent
    deliveries."""
    findings = dropped_column_findings(dropped)
    previous = history[-1] if len(history) >= 2 else None
    volume = _volume_finding(rows, previous, contract.volume_tolerance)
    size = _size_finding(rows, history[-RECENT_DELIVERIES:], contract.min_volume_share)
    return findings + [finding for finding in (volume, size) if finding is not None]


MOD11_COUNTED = "CPR numbers failing the modulus-11 check (accepted: not a validity test)"


def decide_delivery(
    context: IngestContext,
    contract: Contract,
    *,
    delivery: Delivery,
    findings: list[Finding],
    rows: int,
    kept_rows: int,
    normalised: dict[str, int],
    dropped_columns: tuple[str, ...],
    counted: dict[str, int],
    outcome: SourceOutcome,
) -> dict[str, object] | None:
    """Quarantine a delivery with any blocking finding or with no row left after the row-level rules
    (returns None); otherwise return the notes it lands with."""
    if any(finding.severity == "blocking" for finding in findings):
        reason = _reason(findings)
    elif kept_rows == 0:
        reason = f"every row ({rows}) broke a row-level rule"
    else:
        return {
            "normalised": normalised,
            "counted": counted,
            "rows_quarantined": rows - kept_rows,
            "dropped_columns": list(dropped_columns),
        }
    _quarantine(
        context,
        contract,
        delivery=delivery,
        rows=rows,
        reason=reason,
        findings=findings,
        outcome=outcome,
        normalised=normalised,
        counted=counted,
    )
    return None


def _process_group(
    context: IngestContext,
    contract: Contract,
    *,
    group: list[tuple[Delivery, ReadResult]],
    reference: ReferenceData,
    history: list[int],
    outcome: SourceOutcome,
) -> None:
    sizes = [len(result.frame) for _, result in group]
    raw = pd.concat([result.frame for _, result in group], ignore_index=True)
    # one value per delivery, repeated per row: built small and repeated, not per row from Python objects
    labels = pd.Series([delivery.label for delivery, _ in group]).repeat(sizes).reset_index(drop=True)
    delivered = (
        pd.Series([delivery.delivered_at for delivery, _ in group]).repeat(sizes).reset_index(drop=True)
    )
    typed, type_problems = coerce_types(raw, contract)
    del raw
    offset = 0
    for (_, result), size in zip(group, sizes, strict=True):
        for problem in schema_problems(result.frame, contract):
            type_problems.append(
                TypeProblem(problem.column, problem.expected_type, problem.positions + offset)
            )
        offset += size
    framed = add_context_columns(
        typed,
        contract,
        delivery_labels=labels,
        delivered_at=delivered,
        key=context.pseudonym_key,
        reference=reference,
        pseudonym_cache=context.pseudonym_cache,
    )
    del typed
    labels_seen = [delivery.label for delivery, _ in group]
    breaches = context.validator.validate(
        framed,
        contract,
        docs=context.data_docs,
        deliveries=labels_seen[0] if len(labels_seen) == 1 else f"{labels_seen[0]}..{labels_seen[-1]}",
    ) + cpr_breaches(framed, contract)
    if contract.origin == "care_db":
        row_ids, reference_kind = framed["id"].fillna(-1).astype("int64").to_numpy(), "record_id"
    else:
        row_ids, reference_kind = framed["_row_number"].to_numpy(), "row_number"
    mod11_fails = framed["_cpr_mod11_fails"].to_numpy() if "_cpr_mod11_fails" in framed.columns else None
    row_rules = [breach for breach in breaches if breach.severity == "rows"]
    breaches, type_problems = without_rows_quarantined(breaches, type_problems, row_rules, len(framed))
    bounds = np.cumsum([0, *sizes])
    landing: list[tuple[Delivery, list[Finding], dict[str, object]]] = []
    keep = np.zeros(len(framed), dtype=bool)
    for index, (delivery, result) in enumerate(group):
        start, stop = int(bounds[index]), int(bounds[index + 1])
        findings = findings_for_delivery(
            start,
            stop,
            breaches=breaches,
            type_problems=type_problems,
            row_ids=row_ids,
            row_reference=reference_kind,
        )
        findings += delivery_level_findings(contract, result.dropped_columns, stop - start, history)
        counted: dict[str, int] = {}
        if mod11_fails is not None and (failing := int(mod11_fails[start:stop].sum())):
            counted[MOD11_COUNTED] = failing
        in_delivery = keep[start:stop]
        in_delivery[:] = True
        for breach in row_rules:
            inside = breach.positions[(breach.positions >= start) & (breach.positions < stop)]
            keep[inside] = False
        notes = decide_delivery(
            context,
            contract,
            delivery=delivery,
            findings=findings,
            rows=stop - start,
            kept_rows=int(in_delivery.sum()),
            normalised=result.normalised,
            dropped_columns=result.dropped_columns,
            counted=counted,
            outcome=outcome,
        )
        if notes is None:
            in_delivery[:] = False
            continue
        landing.append((delivery, findings, notes))
        history.append(stop - start - int(notes["rows_quarantined"]))  # type: ignore[call-overload]
    if landing:
        _land(context, contract, framed=framed[keep], landing=landing, reference=reference, outcome=outcome)


def batch_ids(labels: pd.Series, batch_of: dict[str, str]) -> pd.Series:
    """Each row's batch id from its delivery label (NaN for a label not in ``batch_of``), by an Arrow
    look-up: ``Series.map`` on Arrow text goes through one Python object per row."""
    arrow = pa.array(labels.astype(TEXT_DTYPE).array)
    positions = pc.fill_null(pc.index_in(arrow, value_set=pa.array(list(batch_of), arrow.type)), -1)
    ids = pd.Series(list(batch_of.values()), dtype=TEXT_DTYPE)
    return spread_text(ids, positions.to_numpy(zero_copy_only=False), labels.index)


def _land(
    context: IngestContext,
    contract: Contract,
    *,
    framed: pd.DataFrame,
    landing: list[tuple[Delivery, list[Finding], dict[str, object]]],
    reference: ReferenceData,
    outcome: SourceOutcome,
) -> None:
    """Land the accepted deliveries of a group together (all or none), one batch each.

    A landed batch with rows left out by a row-level rule, or with columns dropped, also gets a report
    under the quarantine folder (status ``landed``) saying which rows and columns, so a person can act.
    """
    batch_of = {delivery.label: batch_id_of(delivery) for delivery, _, _ in landing}
    rows = to_warehouse_rows(
        framed, contract, reference, batch_ids(framed["_delivery"], batch_of), context.ingested_at
    )
    if context.write_keystore:
        write_identities(context.keystore_url, keystore_rows(framed, contract, context.key_version))
    parts = dict(tuple(rows.groupby("_batch_id", sort=False)))
    batches: list[tuple[pd.DataFrame, BatchRecord]] = []
    for delivery, findings, notes in landing:
        part = parts[batch_of[delivery.label]].reset_index(drop=True)
        record = landed_record(context, contract, delivery, findings=findings, notes=notes, rows=len(part))
        batches.append((part, record))
    try:
        context.warehouse.land_batches(batches)
    except AlreadyIngestedError as error:
        context.echo(f"  {contract.source}: not landed again ({error})")
        return
    for (delivery, findings, notes), (part, _) in zip(landing, batches, strict=True):
        record_landed(outcome, delivery, findings, notes, len(part))


def record_landed(
    outcome: SourceOutcome, delivery: Delivery, findings: list[Finding], notes: dict[str, object], rows: int
) -> None:
    """Count a landed delivery in the source's outcome."""
    outcome.landed.append(
        {
            "delivery": delivery.label,
            "rows": rows,
            "warnings": [f"{finding.rule} ({finding.failing_rows} rows)" for finding in findings],
            "normalised": notes["normalised"],
            "rows_quarantined": notes["rows_quarantined"],
            "retry": bool(delivery.attempt),
        }
    )


def landed_record(
    context: IngestContext,
    contract: Contract,
    delivery: Delivery,
    *,
    findings: list[Finding],
    notes: dict[str, object],
    rows: int,
) -> BatchRecord:
    """The ledger row of a delivery about to land, writing its "landed with notes" report where rows
    were left out by row-level rules or columns were dropped."""
    batch_id = batch_id_of(delivery)
    warnings = [finding.to_dict() for finding in findings]
    report: dict[str, object] = {key: value for key, value in notes.items() if value}
    if warnings:
        report["warnings"] = warnings
    if notes["rows_quarantined"] or notes["dropped_columns"]:
        folder = write_report(
            BatchReport(
                batch_id,
                contract.source,
                delivery.label,
                delivery.where,
                contract.version,
                "landed",
                rows,
                f"landed; {notes['rows_quarantined']} row(s) quarantined by row-level rules, "
                f"{len(notes['dropped_columns'])} column(s) outside the contract dropped",  # type: ignore[arg-type]
                tuple(sorted(findings, key=lambda finding: finding.severity != "rows")),
                "Rows listed under severity `rows` were left out; correct them at the source and they "
                "arrive with a later delivery. Dropped columns were never stored.",
                normalised=dict(notes["normalised"]),  # type: ignore[call-overload]
                counted=dict(notes["counted"]),  # type: ignore[call-overload]
            ),
            context.quarantine_dir / contract.source / delivery.label / batch_id,
        )
        report["report"] = str(folder / "report.md")
    return ledger_row(
        context, contract, delivery, rows=rows, status="landed", notes=json.dumps(report) if report else None
    )


def retry_held(context: IngestContext, sources: list[str]) -> list[SourceOutcome]:
    """`tidlig contracts retry-held`: under the writer lock, release the held deliveries of ``sources``
    whose upstream source has landed since, and take them (with any other new delivery) at once.

    The same happens automatically at the start of every source's intake; this runs it on demand. A held
    delivery is retried exactly once: a retry that is refused again stays quarantined.
    """
    from data_contracts.contract import load_contract

    outcomes = []
    with context.warehouse.writer_lock():
        verify_key(context)
        for source in sources:
            if not release_held(context, source) and not context.warehouse.released_hashes(source):
                continue
            outcomes.append(ingest_source(load_contract(source), context))
    return outcomes
