"""Readable pages for the contracts: one Markdown (and HTML) page per source, for analysts and suppliers."""

from __future__ import annotations

import html
from pathlib import Path

from data_contracts.contract import Contract

_CONTEXT_COLUMNS = {
    "_delivery": "the delivery (uniqueness holds within one delivery)",
    "_delivered_at": "the extract date, or registered_at for care records",
    "_birth_date": "the person's birth date from the population",
    "_person_known": "whether the person is in the population",
    "_contact_known": "whether the contact is in the LPR3 contacts",
    "_product_known": "whether the product is in the product table",
    "_cpr_date_valid": "whether the CPR number's date part is a real date (7th-digit century rule)",
}


def _arguments(kwargs: dict[str, object]) -> str:
    shown = {k: v for k, v in kwargs.items() if k not in ("column", "column_A", "column_B", "column_list")}
    return _cell(", ".join(f"{k}={v}" for k, v in shown.items()))


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def contract_markdown(contract: Contract) -> str:
    """The contract as a Markdown page: purpose, columns, keys, rules with severity."""
    counts = contract.severity_counts()
    lines = [
        f"# {contract.source} (contract v{contract.version})",
        "",
        contract.description,
        "",
        f"- Delivered as: {'care-record table' if contract.origin == 'care_db' else contract.format.upper()}"
        f" `{contract.source}`",
        f"- Lands in warehouse table: `{contract.table}`",
        f"- Record key: {', '.join(contract.record_key)} (a later row with the same key is a correction)",
        f"- Valid time: {contract.valid_time or 'the delivery date (reference table)'}",
        f"- Person column: {contract.person_column or '—'} (replaced by `person_key` at entry)",
        f"- Rules: {counts['blocking']} blocking, {counts['rows']} row-level, {counts['warning']} warning; "
        "volume warning when the row "
        f"count is outside {contract.volume_tolerance:.0%} of the previous delivery",
        "",
        "## Columns",
        "",
        "| delivered column | type | must be present | warehouse column | value mapping |",
        "|---|---|---|---|---|",
    ]
    for column in contract.columns:
        target = column.name or ("key store only" if column.keystore else "not landed (see person_key)")
        if column.source in ("id", "registered_at"):
            target = "_record_key" if column.source == "id" else "_delivered_at"
        mapping = ", ".join(f"{k} → {v}" for k, v in (column.values or {}).items())
        if column.boolean:
            mapping = "0/1 → false/true"
        present = "yes" if column.required else "no"
        lines.append(f"| {column.source} | {column.type} | {present} | {target} | {mapping} |")
    lines += [
        "",
        "## Rules",
        "",
        "| # | severity | rule | expectation | arguments |",
        "|---|---|---|---|---|",
    ]
    for number, expectation in enumerate(contract.expectations, start=1):
        meta = expectation["meta"]
        lines.append(
            f"| {number} | {meta['severity']} | {_cell(meta['rule'])} | `{expectation['type']}` | "
            f"{_arguments(expectation['kwargs'])} |"
        )
    used = sorted(
        {
            name
            for expectation in contract.expectations
            for name in _CONTEXT_COLUMNS
            if name in str(expectation["kwargs"])
        }
    )
    if used:
        lines += ["", "Columns starting with `_` are added by ingest for checking and are never landed:", ""]
        lines += [f"- `{name}`: {_CONTEXT_COLUMNS[name]}" for name in used]
    lines += [
        "",
        "A delivery that breaks a blocking rule is quarantined whole, with a report naming column, rule, "
        "number of failing rows and their row numbers (never values). Warnings are reported and the "
        "delivery lands.",
        "",
    ]
    return "\n".join(lines)


def _markdown_table_to_html(lines: list[str]) -> str:
    rows = [
        [cell.replace("\\|", "|") for cell in line.strip("|").split(" | ")]
        for line in lines
        if not line.startswith("|---")
    ]
    head, *body = rows
    cells = "".join(f"<th>{html.escape(c.strip())}</th>" for c in head)
    out = [f"<table><thead><tr>{cells}</tr></thead><tbody>"]
    for row in body:
        out.append("<tr>" + "".join(f"<td>{html.escape(c.strip().strip('`'))}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def contract_html(contract: Contract) -> str:
    """The same page as HTML (no scripts, no external resources)."""
    body: list[str] = []
    table: list[str] = []
    for line in [*contract_markdown(contract).splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            body.append(_markdown_table_to_html(table))
            table = []
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("- "):
            body.append(f"<p>• {html.escape(line[2:].replace('`', ''))}</p>")
        elif line:
            body.append(f"<p>{html.escape(line.replace('`', ''))}</p>")
    style = (
        "body{font-family:sans-serif;max-width:70rem;margin:2rem auto;line-height:1.4}"
        "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.25rem .5rem;text-align:left}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(contract.source)}'
        f"</title><style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_contract_docs(contracts: list[Contract], folder: Path) -> list[Path]:
    """Write ``<source>.md`` and ``<source>.html`` per contract plus ``index.md``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    index = ["# Data contracts", "", "| source | version | warehouse table | rules |", "|---|---|---|---|"]
    for contract in contracts:
        markdown_path = folder / f"{contract.source}.md"
        markdown_path.write_text(contract_markdown(contract), encoding="utf-8")
        html_path = folder / f"{contract.source}.html"
        html_path.write_text(contract_html(contract), encoding="utf-8")
        written += [markdown_path, html_path]
        index.append(
            f"| [{contract.source}]({contract.source}.md) | {contract.version} | {contract.table} | "
            f"{len(contract.expectations)} |"
        )
    index_path = folder / "index.md"
    index_path.write_text("\n".join(index) + "\n", encoding="utf-8")
    written.append(index_path)
    return written
