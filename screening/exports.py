"""Files for people: per-district CSV and printable HTML lists, and suppressed aggregate tables.

Rendering is pure (text in, text out, no clock: the same list gives the same bytes). :func:`write_atomic`
is the only writer: it writes a temporary file beside the target and renames it into place, so a reader
(or a crash) sees the old file or the new one, never half of one.

Identities (CPR, name) appear only when the caller passes them, which it does only in an operational
deployment; a research deployment exports :func:`aggregates_csv` and nothing per person.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from privacy import protect_attrition, withhold
from screening.eligibility import TARGET_GROUPS

OUTCOME_WORDS = {
    "admission": ("akut indlæggelse", "an acute admission"),
    "death": ("død", "death"),
    "frailty": ("øget skrøbelighed (mere hjælp, faldskade, plejebolig eller død)", "frailty progression"),
}


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


SPREADSHEET_FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+([.,]\d+)?")  # a decimal point or a Danish decimal comma


def spreadsheet_safe(value: object) -> str:
    """``value`` as CSV cell text that a spreadsheet will not run as a formula.

    Text starting with ``= + - @``, a tab or a carriage return gets a leading ``'`` (OWASP's advice for
    CSV injection); a plain number such as ``+5.0``, ``-0.0123`` or ``-5,0`` is left alone (it cannot be a
    formula).
    """
    text = "" if value is None else str(value)
    if text.startswith(SPREADSHEET_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def list_csv_text(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The one list-CSV writer (published exports and the review app's download): the csv module's
    default dialect with ``\n`` line ends, a header row, and every cell through :func:`spreadsheet_safe`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([spreadsheet_safe(column) for column in columns])
    for row in rows:
        writer.writerow([spreadsheet_safe(value) for value in row])
    return buffer.getvalue()


def _format_cpr(cpr: str) -> str:
    digits = str(cpr).replace("-", "")
    return f"{digits[:6]}-{digits[6:]}" if len(digits) == 10 else str(cpr)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}"


def _change(value: float | None) -> str:
    return "" if value is None else f"{100 * value:+.1f}"


def list_csv(
    header: Mapping[str, Any],
    entries: Sequence[Mapping[str, Any]],
    identities: Mapping[str, tuple[str, str]] | None,
) -> str:
    """The list as CSV (one row per entry, ranks ascending); ``identities`` maps person_key to (CPR, name)."""
    identity_columns = ["cpr", "name"] if identities is not None else []
    columns = [
        "list_id",
        "district",
        "as_of_date",
        "rank",
        *identity_columns,
        "person_key",
        "risk_percent",
        "risk_change_points",
        "new_on_list",
        "target_groups",
        "reasons_da",
        "suggested_action_da",
        "reasons_en",
        "suggested_action_en",
        "model",
    ]
    rows = []
    for entry in sorted(entries, key=lambda e: e["rank"]):
        identity: list[str] = []
        if identities is not None:
            cpr, name = identities.get(entry["person_key"], ("", ""))
            identity = [_format_cpr(cpr) if cpr else "", name]
        rows.append(
            [
                header["list_id"],
                header["district"],
                str(header["as_of_date"]),
                entry["rank"],
                *identity,
                entry["person_key"],
                _percent(entry["risk"]),
                _change(entry["risk_change"]),
                "yes" if entry["new_on_list"] else "no",
                "; ".join(entry["flags"]),
                " | ".join(entry["reasons_da"]),
                entry["suggested_action_da"],
                " | ".join(entry["reasons_en"]),
                entry["suggested_action_en"],
                f"{entry['outcome']} v{header['model_versions'].get(entry['outcome'], '?')}",
            ]
        )
    return list_csv_text(columns, rows)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #111; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
.meta { color: #444; font-size: .8rem; margin-bottom: 1rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { border: 1px solid #999; padding: .35rem; vertical-align: top; text-align: left; }
th { background: #eee; }
.en { color: #555; font-size: .78rem; }
.new { font-weight: bold; }
ul { margin: 0; padding-left: 1rem; }
@media print { body { margin: 0; } tr { page-break-inside: avoid; } }
"""


def list_html(
    header: Mapping[str, Any],
    entries: Sequence[Mapping[str, Any]],
    identities: Mapping[str, tuple[str, str]] | None,
) -> str:
    """A printable page for the district's nurses: rank, citizen, risk, change, groups, reasons, action."""
    e = html.escape
    rows = []
    for entry in sorted(entries, key=lambda item: item["rank"]):
        if identities is not None:
            cpr, name = identities.get(entry["person_key"], ("", ""))
            who = f"{e(name)}<br>{e(_format_cpr(cpr)) if cpr else ''}"
        else:
            who = f"<code>{e(entry['person_key'][:12])}</code>"
        change = _change(entry["risk_change"])
        groups = "<br>".join(e(TARGET_GROUPS[code][0]) for code in entry["flags"] if code in TARGET_GROUPS)
        reasons = "".join(
            f"<li>{e(da)}<div class='en'>{e(en)}</div></li>"
            for da, en in zip(entry["reasons_da"], entry["reasons_en"], strict=True)
        )
        rows.append(
            "<tr>"
            f"<td>{entry['rank']}</td><td>{who}</td>"
            f"<td>{_percent(entry['risk'])} %"
            f"{'<br>' + change + ' pp' if change else ''}"
            f"{'<br><span class=new>NY</span>' if entry['new_on_list'] else ''}</td>"
            f"<td>{groups}</td><td><ul>{reasons}</ul></td>"
            f"<td>{e(entry['suggested_action_da'])}"
            f"<div class='en'>{e(entry['suggested_action_en'])}</div></td>"
            "</tr>"
        )
    versions = ", ".join(f"{k} v{v}" for k, v in sorted(header["model_versions"].items()))
    outcome = entries[0]["outcome"] if entries else "admission"
    outcome_da, outcome_en = OUTCOME_WORDS.get(outcome, (outcome, outcome))
    return (
        "<!doctype html>\n<html lang='da'><head><meta charset='utf-8'>"
        f"<title>Forebyggende besøg {e(str(header['district']))} {e(str(header['as_of_date']))}</title>"
        f"<style>{_STYLE}</style></head><body>\n"
        f"<h1>Forebyggende hjemmebesøg — distrikt {e(str(header['district']))}, uge fra "
        f"{e(str(header['as_of_date']))}</h1>\n"
        f"<div class='meta'>Liste {e(header['list_id'])} · kapacitet {header['capacity']} besøg · "
        f"modeller {e(versions)} · features {e(header['feature_set_version'])} · kørsel {e(header['run_id'])}"
        f"<br>Risiko = beregnet sandsynlighed for {e(outcome_da)} inden for 12 måneder. Listen er et "
        f"beslutningsstøtteværktøj: den faglige vurdering afgør. / Risk = estimated probability of "
        f"{e(outcome_en)} within 12 months; the list supports, never replaces, clinical judgement.</div>\n"
        "<table><thead><tr><th>#</th><th>Borger</th><th>Risiko</th><th>§79a-gruppe</th>"
        "<th>Årsager / reasons</th><th>Forslag / suggested action</th></tr></thead><tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table></body></html>\n"
    )


def index_html(as_of: str, lists: Sequence[Mapping[str, Any]]) -> str:
    """A page linking every district's printable list of the as-of date."""
    e = html.escape
    items = "\n".join(
        f"<li><a href='{e(str(item['district']))}.html'>{e(str(item['district']))}</a> "
        f"({item['listed']} borgere · <a href='{e(str(item['district']))}.csv'>CSV</a>)</li>"
        for item in sorted(lists, key=lambda item: str(item["district"]))
    )
    return (
        "<!doctype html>\n<html lang='da'><head><meta charset='utf-8'>"
        f"<title>Screeningslister {e(as_of)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>Screeningslister {e(as_of)}</h1>\n<ul>\n{items}\n</ul></body></html>\n"
    )


def aggregates_csv(frame: pd.DataFrame) -> str:
    """An aggregate table as CSV; the caller passes only tables with small cells already suppressed
    (withheld cells are empty fields)."""
    return frame.to_csv(index=False, lineterminator="\n", na_rep="")


def exclusions_for_export(attrition: pd.DataFrame, analytics: pd.DataFrame | None = None) -> pd.DataFrame:
    """The exclusions (attrition) table as it may leave the platform beside the capacity analytics.

    Small ``removed`` and ``remaining`` counts are withheld, and so is every count from which one could be
    worked out along the chain ``remaining[i-1] = removed[i] + remaining[i]``. The last ``remaining`` is
    the number of eligible citizens, the same number as the ``overall`` row of ``analytics``
    (:func:`screening.analytics.capacity_analytics`): when that row is withheld it is withheld here too, and
    when it is shown it is never chosen to protect another cell here.
    """
    frame = attrition.reset_index(drop=True)
    if frame.empty:
        return frame
    last = (frame.index[-1], "remaining")
    withheld_elsewhere: list[tuple[int, str]] = []
    known: list[tuple[int, str]] = []
    if analytics is not None and not analytics.empty:
        overall = analytics.loc[analytics["dimension"] == "overall"]
        if not overall.empty:
            if bool(overall["suppressed"].iloc[0]):
                withheld_elsewhere.append(last)
            else:
                known.append(last)
    suppression = protect_attrition(frame, also_withheld=withheld_elsewhere, known=known)
    return withhold(frame, suppression)
