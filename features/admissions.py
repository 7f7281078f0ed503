"""The one definition of an "unplanned hospital admission", used by features and labels alike.

LPR3 (from 2019) has no inpatient flag, so an admission is defined from contact fields:
priority acute (``ATA1``), a physical contact (``ALCA00``, not virtual), lasting at least 12 hours or
crossing midnight. LPR2 history (before 2019) arrives in the same warehouse table with inpatient and
emergency-room contacts mapped to physical and ``C_INDM = 1`` mapped to acute; there an unplanned admission
is an acute physical contact that spans at least one night (emergency-room visits end the day they start,
so the same rule separates inpatient stays from them).

Contacts still open at the prediction date, or with an end after it, are cut at the prediction date
(``cut_at``) so that nothing after ``t`` leaks into a feature.

The rule has two forms that must agree: :func:`sql_is_unplanned_admission` for the feature engine and the
labels (DuckDB), and :func:`is_unplanned_admission` for frames already in memory (the citizen facts of
``screening.facts``); ``tests/features/test_admissions.py`` runs both on the same LPR2 and LPR3 rows.
"""

from __future__ import annotations

import pandas as pd

MINIMUM_ADMISSION_HOURS = 12


def sql_contact_end(end_column: str, cut_at: str | None) -> str:
    """The contact end, cut at ``cut_at`` (an SQL timestamp expression); open contacts end there."""
    if cut_at is None:
        return end_column
    return f"least(coalesce({end_column}, {cut_at}), {cut_at})"


def sql_is_unplanned_admission(  # noqa: PLR0917 (column names, all defaulted)
    start: str = "contact_start",
    end: str = "contact_end",
    contact_type: str = "contact_type",
    priority: str = "priority",
    lpr_version: str = "lpr_version",
    cut_at: str | None = None,
) -> str:
    """SQL boolean: the contact is an unplanned (acute, physical, overnight or >= 12 h) admission."""
    end_sql = sql_contact_end(end, cut_at)
    crosses_midnight = f"(CAST({end_sql} AS DATE) > CAST({start} AS DATE))"
    long_enough = f"(date_diff('minute', {start}, {end_sql}) >= {MINIMUM_ADMISSION_HOURS * 60})"
    lpr3_rule = f"({crosses_midnight} OR {long_enough})"
    return (
        f"(coalesce({priority} = 'acute', FALSE) AND coalesce({contact_type} = 'physical', FALSE) AND "
        f"coalesce(CASE WHEN {lpr_version} = 'LPR2' THEN {crosses_midnight} ELSE {lpr3_rule} END, FALSE))"
    )


def contact_end(end: pd.Series, cut_at: pd.Timestamp | None) -> pd.Series:
    """The contact end, cut at ``cut_at``; open contacts end there (pandas form of ``sql_contact_end``)."""
    end = pd.to_datetime(end)
    if cut_at is None:
        return end
    # pandas accepts a Timestamp bound for a datetime Series; pandas-stubs' clip() overloads do not
    clipped: pd.Series = end.fillna(cut_at).clip(upper=cut_at)  # type: ignore[call-overload]
    return clipped


def is_unplanned_admission(
    contacts: pd.DataFrame,
    cut_at: pd.Timestamp | None = None,
    *,
    start: str = "contact_start",
    end: str = "contact_end",
    contact_type: str = "contact_type",
    priority: str = "priority",
    lpr_version: str = "lpr_version",
) -> pd.Series:
    """Boolean per row of ``contacts`` (same index): the pandas form of :func:`sql_is_unplanned_admission`.

    Missing values never make an admission; a frame without ``lpr_version`` is judged by the LPR3 rule,
    as the SQL form judges a NULL version.
    """
    if contacts.empty:
        return pd.Series(False, index=contacts.index, dtype=bool)
    begin = pd.to_datetime(contacts[start])
    finish = contact_end(contacts[end], cut_at)
    crosses_midnight = (finish.dt.normalize() > begin.dt.normalize()).fillna(False)
    long_enough = ((finish - begin) >= pd.Timedelta(hours=MINIMUM_ADMISSION_HOURS)).fillna(False)
    lpr2 = (
        (contacts[lpr_version] == "LPR2").fillna(False).astype(bool)
        if lpr_version in contacts
        else pd.Series(False, index=contacts.index)
    )
    length_rule = crosses_midnight.where(lpr2, crosses_midnight | long_enough)
    acute = (contacts[priority] == "acute").fillna(False).astype(bool)
    physical = (contacts[contact_type] == "physical").fillna(False).astype(bool)
    unplanned: pd.Series = (acute & physical & length_rule.astype(bool)).astype(bool)
    return unplanned


def sql_bed_days(start: str = "contact_start", end: str = "contact_end", cut_at: str | None = None) -> str:
    """SQL for bed days of a contact: midnights spent in hospital (0 for a same-day contact)."""
    end_sql = sql_contact_end(end, cut_at)
    return f"greatest(date_diff('day', CAST({start} AS DATE), CAST({end_sql} AS DATE)), 0)"
