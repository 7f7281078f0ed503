"""Files a scoring run leaves on disk: suppressed aggregate tables and an index page; nothing per person.

No published file carries a CPR number, a name or a pseudonym (docs/decisions.md D95): the identified lists,
as CSV and as a printable page, are made on demand inside the review app (``review/web_lists.py``), scoped
to the user's districts, audited before they are shown and behind re-authentication. :func:`list_csv_text`
is the one list-CSV writer that download uses.

Rendering is pure (text in, text out, no clock: the same run gives the same bytes). :func:`write_atomic`
is the only writer: it writes a temporary file (0600) beside the target in a 0700 folder and renames it into
place, so a reader (or a crash) sees the old file or the new one, never half of one.
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
from privacy.files import private_directory


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file and an atomic rename; the folder is made
    0700 and the file is 0600 (``tempfile.mkstemp`` creates it so)."""
    private_directory(path.parent)
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


def list_csv_text(
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    delimiter: str = ",",
    line_end: str = "\n",
    byte_order_mark: bool = False,
) -> str:
    """The one list-CSV writer: a header row, then the rows, every cell through :func:`spreadsheet_safe`
    and quoted by the csv module where it holds the delimiter, a quote or a line break. The review app's
    identified download (``review/list_export.py``) asks for Danish Excel's form: ``;``, CRLF and a BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end, quoting=csv.QUOTE_MINIMAL)
    writer.writerow([spreadsheet_safe(column) for column in columns])
    for row in rows:
        writer.writerow([spreadsheet_safe(value) for value in row])
    return ("\ufeff" if byte_order_mark else "") + buffer.getvalue()


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #111; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
.meta { color: #444; font-size: .85rem; margin-bottom: 1rem; max-width: 48rem; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid #999; padding: .35rem .6rem; text-align: left; }
th { background: #eee; }
"""


def index_html(as_of: str, lists: Sequence[Mapping[str, Any]]) -> str:
    """The run's page on disk: per district its list ID and how many citizens are listed (as the capacity
    analytics show it: ``<5`` small, ``*`` withheld), and where the lists themselves are (the review app).

    ``lists`` items have ``district``, ``list_id`` and ``listed`` (text, already suppressed).
    """
    e = html.escape
    rows = "\n".join(
        f"<tr><td>{e(str(item['district']))}</td><td>{e(str(item['listed']))}</td>"
        f"<td><code>/lists/{e(str(item['list_id']))}</code></td></tr>"
        for item in sorted(lists, key=lambda item: str(item["district"]))
    )
    return (
        "<!doctype html>\n<html lang='da'><head><meta charset='utf-8'>"
        f"<title>Screeningslister {e(as_of)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>Screeningslister {e(as_of)}</h1>\n"
        "<p class='meta'>Listerne over borgere findes kun i review-appen (<code>tidlig review</code>): "
        "log ind, åbn distriktets liste og vælg CSV eller udskriv dér. Filerne her er kun optællinger; "
        "grupper under 5 personer er skjult. / The lists of citizens are only in the review app "
        "(<code>tidlig review</code>): sign in, open the district's list and choose CSV or print there. "
        "The files here are counts only; groups under 5 persons are withheld.</p>\n"
        "<table><thead><tr><th>Distrikt / district</th><th>Borgere på listen / listed</th>"
        "<th>I review-appen / in the review app</th></tr></thead><tbody>\n"
        f"{rows}\n</tbody></table>\n"
        "<p class='meta'><a href='capacity_analytics.csv'>capacity_analytics.csv</a> · "
        "<a href='exclusions.csv'>exclusions.csv</a></p></body></html>\n"
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
