"""The review app's list download as a CSV file that Danish Excel opens right.

Danish Excel reads a double-clicked ``.csv`` with the list separator of the Danish locale (``;``) and only
takes it as UTF-8 when the file starts with a byte-order mark; numbers need a decimal comma. So the file is:
UTF-8 with BOM, ``;``-separated (the csv module quotes any cell holding ``;``, a quote or a line break),
CRLF line ends, headers and labels in the user's language (Danish by default) instead of codes, numbers
as ``81,2``, dates as ``YYYY-MM-DD`` (which Excel reads as a date in every locale). Written by
:func:`screening.exports.list_csv_text`, the one list-CSV writer, so no text cell can run as a formula.

:func:`worklist_csv` is the one place the content is decided; the route (scoping, re-authentication,
audit) only calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from review.formatting import number
from review.identities import Identity
from review.triage import TriageBands
from review.worklist import WorklistRow
from screening.exports import list_csv_text


def _signed(value: float | None, language: str) -> str:
    """A change in percentage points for a spreadsheet: ASCII minus, no plus sign (Excel reads both)."""
    if value is None:
        return ""
    return number(value * 100, language).replace("\u2212", "-")


def worklist_csv(
    rows: Sequence[WorklistRow],
    identities: Mapping[str, Identity] | None,
    t: Callable[..., str],
    language: str,
    triage: TriageBands,
) -> str:
    """The rows as the text of a Danish-Excel CSV file (BOM included; encode as UTF-8).

    ``identities`` is None when the user may not see CPR and name: the pseudonym column is written instead.
    """
    who = [t("csv_cpr"), t("csv_name")] if identities is not None else [t("pseudonym")]
    header = [
        t("rank"),
        t("csv_shared_place"),
        *who,
        t("csv_risk_percent"),
        t("csv_change_points"),
        t("triage"),
        t("new_on_list"),
        t("flag"),
        t("reasons"),
        t("suggested_action"),
        t("status"),
        t("visit_date"),
        t("assignee"),
    ]
    lines: list[list[object]] = []
    for row in rows:
        if identities is not None:
            identity = identities.get(row.person_key)
            person = [identity.cpr, identity.name] if identity else ["", t("identity_missing")]
        else:
            person = [row.person_key]
        shared = t("tie_shared", first=row.tie_first, last=row.tie_last) if row.tied else ""
        cells = [
            row.rank,
            shared,
            *person,
            number(row.risk * 100, language),
            _signed(row.risk_change, language),
            t(f"triage_{triage.colour(row.risk)}"),
            t("yes") if row.new_on_list else t("no"),
            ", ".join(t(f"flag_{flag}") for flag in row.flags),
            "; ".join(row.reasons),
            row.suggested_action,
            t(f"status_{row.status}"),
            row.visit_date.isoformat() if row.visit_date else "",
            row.assignee or "",
        ]
        lines.append(cells)
    return list_csv_text(header, lines, delimiter=";", line_end="\r\n", byte_order_mark=True)
