"""Findings and batch reports: what failed, where, how often and in which rows, never which values.

A report names source, delivery, file (or care table), column, expectation, the rule in plain words, its
severity, the number of failing rows and their row numbers (1-based data rows; in a CSV the line number is
the row number + 1 because of the header; for care tables the record ``id`` is given instead).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

MAX_ROW_NUMBERS = 1000
MARKDOWN_ROW_NUMBERS = 30


@dataclass(frozen=True)
class Finding:
    """One rule that some rows of a delivery broke."""

    column: str | None
    expectation: str
    rule: str
    severity: Literal["blocking", "warning"]
    failing_rows: int
    row_numbers: tuple[int, ...] = ()
    row_reference: Literal["row_number", "record_id", "none"] = "row_number"

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["row_numbers"] = list(self.row_numbers[:MAX_ROW_NUMBERS])
        data["row_numbers_truncated"] = len(self.row_numbers) > MAX_ROW_NUMBERS
        return data


@dataclass(frozen=True)
class BatchReport:
    """Everything a person needs to act on one delivery's outcome; counts and row numbers only."""

    batch_id: str
    source: str
    delivery: str
    where: str
    contract_version: str
    status: Literal["landed", "quarantined"]
    rows: int
    reason: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    next_step: str = ""

    @property
    def blocking(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == "blocking"]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == "warning"]

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["findings"] = [finding.to_dict() for finding in self.findings]
        return data

    def to_markdown(self) -> str:
        lines = [
            f"# {self.status.capitalize()}: {self.source} delivery {self.delivery}",
            "",
            f"- Batch: `{self.batch_id}`",
            f"- Delivered as: `{self.where}`",
            f"- Contract: {self.source} v{self.contract_version}",
            f"- Rows: {self.rows}",
            f"- Why: {self.reason}",
            "",
        ]
        if self.findings:
            lines += [
                "| severity | column | rule | expectation | failing rows | rows |",
                "|---|---|---|---|---|---|",
            ]
            for finding in self.findings:
                shown = ", ".join(str(n) for n in finding.row_numbers[:MARKDOWN_ROW_NUMBERS])
                if len(finding.row_numbers) > MARKDOWN_ROW_NUMBERS:
                    shown += ", … (all in report.json)"
                label = "ids" if finding.row_reference == "record_id" else "rows"
                lines.append(
                    f"| {finding.severity} | {finding.column or '—'} | {finding.rule} | "
                    f"`{finding.expectation}` | {finding.failing_rows} | {label}: {shown or '—'} |"
                )
            lines.append("")
        lines += ["## What to do next", "", self.next_step or "Nothing.", ""]
        return "\n".join(lines)


def write_report(report: BatchReport, folder: Path) -> Path:
    """Write ``report.json`` and ``report.md`` into ``folder`` (created); return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    (folder / "report.md").write_text(report.to_markdown(), encoding="utf-8")
    return folder
