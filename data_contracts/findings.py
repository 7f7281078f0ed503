"""Findings and batch reports: what failed, where, how often and in which rows, never which values.

A report names source, delivery, file (or care table), column, expectation, the rule in plain words, its
severity, the number of failing rows and their row numbers (1-based data rows; in a CSV the line number is
the row number + 1 because of the header; for care tables the record ``id`` is given instead).
"""

from __future__ import annotations

import html
import json
import re
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
    severity: Literal["blocking", "rows", "warning"]
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
    normalised: dict[str, int] = field(default_factory=dict)  # what reading normalised: kind -> count
    counted: dict[str, int] = field(default_factory=dict)  # accepted but counted (e.g. CPR failing mod-11)
    held_by: str | None = None  # quarantined only because of this upstream source: retried once it lands

    @property
    def blocking(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == "blocking"]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == "warning"]

    @property
    def quarantined_rows(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == "rows"]

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
        if self.held_by:
            lines += [
                f"Held because of the upstream source **{self.held_by}**: this delivery is retried once, "
                f"automatically, by the first `tidlig ingest` after a delivery of {self.held_by} lands "
                "(or now with `tidlig contracts retry-held`).",
                "",
            ]
        if self.normalised:
            lines += ["## Normalised while reading", "", "| convention | values |", "|---|---|"]
            lines += [f"| {kind} | {count} |" for kind, count in self.normalised.items()]
            lines.append("")
        if self.counted:
            lines += ["## Accepted and counted", "", "| what | rows |", "|---|---|"]
            lines += [f"| {kind} | {count} |" for kind, count in self.counted.items()]
            lines.append("")
        if self.findings:
            lines += [
                "## Findings",
                "",
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

    def to_html(self) -> str:
        """The Markdown report as a self-contained HTML page (no scripts, no external resources)."""
        return markdown_page_to_html(self.to_markdown(), f"{self.source} {self.delivery}")


def _inline(text: str) -> str:
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


def markdown_page_to_html(markdown: str, title: str) -> str:
    """The small Markdown subset the reports use (headings, bullet lists, tables, paragraphs) as HTML."""
    body: list[str] = []
    table: list[list[str]] = []
    in_list = False

    def flush_table() -> None:
        if not table:
            return
        head, *rows = table
        body.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead>")
        body.append("<tbody>")
        for row in rows:
            body.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>")
        body.append("</tbody></table>")
        table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            if not line.startswith("|---"):
                table.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
            continue
        flush_table()
        if line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{_inline(line[2:])}</li>")
            continue
        if in_list:
            body.append("</ul>")
            in_list = False
        if line.startswith("## "):
            body.append(f"<h2>{_inline(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{_inline(line[2:])}</h1>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    flush_table()
    if in_list:
        body.append("</ul>")
    style = (
        "body{font-family:sans-serif;max-width:70rem;margin:2rem auto;line-height:1.4;padding:0 1rem}"
        "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #bbb;padding:.25rem .5rem;"
        "text-align:left;vertical-align:top}code{background:#f3f3f3;padding:0 .2rem}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_report(report: BatchReport, folder: Path) -> Path:
    """Write ``report.json``, ``report.md`` and ``report.html`` into ``folder`` (created); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    (folder / "report.md").write_text(report.to_markdown(), encoding="utf-8")
    (folder / "report.html").write_text(report.to_html(), encoding="utf-8")
    return folder
