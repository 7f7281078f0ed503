"""Taking one delivery file larger than memory: read in chunks, judged as a whole, landed as one batch.

A CSV file above ``FileChunking.above_bytes`` is opened by ``open_file_delivery_in_chunks`` (the checks on
the whole file first: checksum, encoding, every line parseable, row count against the control totals, the
date order), then each chunk of ``FileChunking.rows`` rows is type-converted, pseudonymised and validated
like a small delivery, and its warehouse rows are staged in the batch's temporary folder. Rules that hold
over the whole file stay whole-file: record-key uniqueness (``expect_compound_columns_to_be_unique``) is
decided over the rows of every chunk from 128-bit row hashes, a record key delivered twice keeps its last
row over the whole file, and volume warnings use the file's row count. Only when every chunk has been
judged is the delivery landed (one partition, one ledger row, one catalog transaction) or quarantined with
one report naming every finding by file row number; nothing is visible in the warehouse or ledger before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts import intake
from data_contracts.conform import (
    ReferenceData,
    TypeProblem,
    add_context_columns,
    coerce_types,
    keystore_rows,
    to_warehouse_rows,
)
from data_contracts.contract import Contract
from data_contracts.deliveries import ChunkedRead, Delivery
from data_contracts.findings import Finding
from data_contracts.intake import IngestContext, SourceOutcome
from data_contracts.keystore import write_identities
from data_contracts.validation import RuleBreach, _column_label
from warehouse import AlreadyIngestedError, BatchRecord

UNIQUE_EXPECTATION = "expect_compound_columns_to_be_unique"
# Two independent 64-bit row hashes: 128 bits make a false "duplicate" among 10^9 rows about 10^-20 likely.
_HASH_KEYS = ("tidlig-unique-00", "tidlig-unique-01")


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One 128-bit hash per row of ``frame`` (shape ``(rows, 2)``), equal for rows with equal values
    (missing equals missing, as in ``DataFrame.duplicated``)."""
    return np.column_stack(
        [pd.util.hash_pandas_object(frame, index=False, hash_key=key).to_numpy() for key in _HASH_KEYS]
    )


def duplicated_rows(hashes: np.ndarray, keep: str | bool) -> np.ndarray:
    """``DataFrame.duplicated(keep=...)`` over rows given by their hashes (``keep``: "last" or False)."""
    if len(hashes) == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((hashes[:, 1], hashes[:, 0]))
    ordered = hashes[order]
    same_as_next = np.r_[(ordered[1:] == ordered[:-1]).all(axis=1), False]
    same_as_previous = np.r_[False, same_as_next[:-1]]
    # keep the last: within a run of equal hashes the stable sort keeps file order
    flagged = same_as_next | same_as_previous if keep is False else same_as_next
    out = np.zeros(len(hashes), dtype=bool)
    out[order] = flagged
    return out


@dataclass
class _FileJudgement:
    """What the chunks of one file said, in file positions (0-based over the whole file)."""

    breaches: dict[tuple[object, ...], RuleBreach] = field(default_factory=dict)
    type_problems: dict[str, list[np.ndarray]] = field(default_factory=dict)
    unique_hashes: dict[tuple[str, ...], list[np.ndarray]] = field(default_factory=dict)
    record_key_hashes: list[np.ndarray] = field(default_factory=list)
    mod11_fails: int = 0
    keystore: list[pd.DataFrame] = field(default_factory=list)

    def add_breach(self, breach: RuleBreach, offset: int) -> None:
        key = (breach.column, breach.expectation, breach.rule, breach.severity, breach.could_not_evaluate)
        moved = replace(breach, positions=breach.positions + offset)
        if key in self.breaches:
            before = self.breaches[key]
            moved = replace(
                before,
                positions=np.concatenate([before.positions, moved.positions]),
                failing_rows=before.failing_rows + moved.failing_rows,
            )
        self.breaches[key] = moved


def _unique_rules(suite_expectations: list[object]) -> list[tuple[tuple[str, ...], str, str]]:
    """(columns, rule, severity) of every compound-uniqueness expectation of a suite, in suite order."""
    rules = []
    for expectation in suite_expectations:
        config = expectation.configuration if hasattr(expectation, "configuration") else expectation
        if config.type != UNIQUE_EXPECTATION:  # type: ignore[attr-defined]
            continue
        meta = config.meta or {}  # type: ignore[attr-defined]
        columns = tuple(config.kwargs["column_list"])  # type: ignore[attr-defined]
        rules.append((columns, meta.get("rule", config.type), meta.get("severity", "blocking")))  # type: ignore[attr-defined]
    return rules


def _suite_order(suite_expectations: list[object]) -> dict[tuple[str, str], int]:
    """Each (expectation type, rule) at its place in the suite, so merged findings keep GX's order."""
    order: dict[tuple[str, str], int] = {}
    for position, expectation in enumerate(suite_expectations):
        config = expectation.configuration if hasattr(expectation, "configuration") else expectation
        meta = config.meta or {}  # type: ignore[attr-defined]
        order.setdefault((config.type, meta.get("rule", config.type)), position)  # type: ignore[attr-defined]
    return order


def ingest_file_in_chunks(
    context: IngestContext,
    contract: Contract,
    *,
    delivery: Delivery,
    opened: ChunkedRead,
    reference: ReferenceData,
    history: list[int],
    outcome: SourceOutcome,
) -> None:
    """Judge and stage every chunk of ``opened``, then land the file as one batch or quarantine it whole.

    Findings name file row numbers (CSV line = row + 1), as for a file read whole. Staged rows are
    deleted when the file is quarantined or anything fails, so nothing half-written is left behind.
    """
    suite = list(context.validator.suite(contract).expectations)
    unique_rules = _unique_rules(suite)
    judged = _FileJudgement()
    record = intake.landing_stub(context, contract, delivery)
    parts: list[Path] = []
    try:
        for number, (offset, raw) in enumerate(opened.chunks()):
            rows = _judge_chunk(
                context,
                contract,
                delivery,
                offset=offset,
                raw=raw,
                reference=reference,
                unique_rules=unique_rules,
                judged=judged,
            )
            parts.append(context.warehouse.stage_part(record, number, rows))
            judged.record_key_hashes.append(row_hashes(rows[["_record_key"]]))
            del rows
        total = opened.rows
        breaches = _merged_breaches(judged, unique_rules, _suite_order(suite))
        type_problems = [
            TypeProblem(spec.source, spec.type, np.concatenate(judged.type_problems[spec.source]))
            for spec in contract.columns
            if spec.source in judged.type_problems
        ]
        row_rules = [breach for breach in breaches if breach.severity == "rows"]
        breaches, type_problems = intake.without_rows_quarantined(breaches, type_problems, row_rules, total)
        findings = intake.findings_for_delivery(
            0,
            total,
            breaches=breaches,
            type_problems=type_problems,
            row_ids=np.arange(1, total + 1),
            row_reference="row_number",
        )
        findings += intake.delivery_level_findings(contract, opened.dropped_columns, total, history)
        left_out = np.zeros(total, dtype=bool)
        for breach in row_rules:
            left_out[breach.positions] = True
        counted = {intake.MOD11_COUNTED: judged.mod11_fails} if judged.mod11_fails else {}
        notes = intake.decide_delivery(
            context,
            contract,
            delivery=delivery,
            findings=findings,
            rows=total,
            kept_rows=total - int(left_out.sum()),
            normalised=opened.normalised,
            dropped_columns=opened.dropped_columns,
            counted=counted,
            outcome=outcome,
        )
        if notes is None:
            context.warehouse.discard_staged(record)
            return
        history.append(total - int(notes["rows_quarantined"]))  # type: ignore[call-overload]
        _land_staged(
            context,
            contract,
            delivery,
            record=record,
            parts=parts,
            judged=judged,
            findings=findings,
            notes=notes,
            outcome=outcome,
        )
    except BaseException:
        context.warehouse.discard_staged(record)
        raise


def _judge_chunk(
    context: IngestContext,
    contract: Contract,
    delivery: Delivery,
    *,
    offset: int,
    raw: pd.DataFrame,
    reference: ReferenceData,
    unique_rules: list[tuple[tuple[str, ...], str, str]],
    judged: _FileJudgement,
) -> pd.DataFrame:
    """Convert, pseudonymise and validate one chunk (rows ``offset + 1`` on of the file); record what it
    broke in file positions and return its warehouse rows (rows left out by row-level rules dropped)."""
    size = len(raw)
    typed, problems = coerce_types(raw, contract)
    del raw
    framed = add_context_columns(
        typed,
        contract,
        delivery_labels=pd.Series([delivery.label]).repeat(size).reset_index(drop=True),
        delivered_at=pd.Series([delivery.delivered_at]).repeat(size).reset_index(drop=True),
        key=context.pseudonym_key,
        reference=reference,
        pseudonym_cache=context.pseudonym_cache,
    )
    del typed
    framed["_row_number"] = framed["_row_number"] + offset
    breaches = context.validator.validate(
        framed,
        contract,
        docs=context.data_docs,
        deliveries=f"{delivery.label} rows {offset + 1}-{offset + size}",
    ) + intake.cpr_breaches(framed, contract)
    for problem in problems:
        judged.type_problems.setdefault(problem.column, []).append(problem.positions + offset)
    for breach in breaches:
        if breach.expectation == UNIQUE_EXPECTATION and not breach.could_not_evaluate:
            continue  # decided over the whole file, from the hashes below
        judged.add_breach(breach, offset)
    for columns, _, _ in unique_rules:
        judged.unique_hashes.setdefault(columns, []).append(row_hashes(framed[list(columns)]))
    if "_cpr_mod11_fails" in framed.columns:
        judged.mod11_fails += int(framed["_cpr_mod11_fails"].sum())
    keep = np.ones(size, dtype=bool)
    for breach in breaches:
        if breach.severity == "rows":
            keep[breach.positions] = False
    kept = framed[keep]
    del framed
    batch_ids = intake.batch_ids(kept["_delivery"], {delivery.label: intake.batch_id_of(delivery)})
    if context.write_keystore:
        judged.keystore.append(keystore_rows(kept, contract, context.key_version))
    return to_warehouse_rows(kept, contract, reference, batch_ids, context.ingested_at)


def _land_staged(
    context: IngestContext,
    contract: Contract,
    delivery: Delivery,
    *,
    record: BatchRecord,
    parts: list[Path],
    judged: _FileJudgement,
    findings: list[Finding],
    notes: dict[str, object],
    outcome: SourceOutcome,
) -> None:
    """Land the staged parts as one batch: a record key delivered twice keeps its last row in the file."""
    keep_last = ~duplicated_rows(np.concatenate(judged.record_key_hashes), keep="last")
    bounds = np.cumsum([0, *[len(hashes) for hashes in judged.record_key_hashes]])
    masks = [keep_last[bounds[i] : bounds[i + 1]] for i in range(len(parts))]
    landed_rows = int(keep_last.sum())
    if context.write_keystore and judged.keystore:
        identities = pd.concat(judged.keystore, ignore_index=True)
        write_identities(
            context.keystore_url, identities.drop_duplicates("person_key", keep="last").reset_index(drop=True)
        )
    ledger_row = intake.landed_record(
        context, contract, delivery, findings=findings, notes=notes, rows=landed_rows
    )
    try:
        context.warehouse.land_staged(ledger_row, parts, masks)
    except AlreadyIngestedError as error:
        context.echo(f"  {contract.source}: not landed again ({error})")
        return
    intake.record_landed(outcome, delivery, findings, notes, landed_rows)


def _merged_breaches(
    judged: _FileJudgement,
    unique_rules: list[tuple[tuple[str, ...], str, str]],
    order: dict[tuple[str, str], int],
) -> list[RuleBreach]:
    """The chunks' breaches with the whole-file uniqueness breaches added, in the suite's order."""
    breaches = [replace(breach, positions=np.unique(breach.positions)) for breach in judged.breaches.values()]
    for columns, rule, severity in unique_rules:
        hashes = np.concatenate(judged.unique_hashes.get(columns, [np.zeros((0, 2), dtype=np.uint64)]))
        positions = np.flatnonzero(duplicated_rows(hashes, keep=False))
        if len(positions):
            column = _column_label({"column_list": list(columns)})
            breaches.append(
                RuleBreach(column, UNIQUE_EXPECTATION, rule, severity, positions, len(positions))  # type: ignore[arg-type]
            )
    last = len(order) + 1
    return sorted(
        breaches,
        key=lambda breach: (
            last
            if breach.expectation.startswith("CPR")
            else order.get((breach.expectation, breach.rule), last - 1)
        ),
    )
