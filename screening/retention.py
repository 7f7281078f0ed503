"""Retention of published lists: lists older than the period are deleted, never a district's current list.

A list's entries, facts and stored scores go with it (same transaction). Run records and the objection
register are append-only and carry no list content (run records hold list IDs, counts and reasons; the
register holds the objectors, who must stay excluded), so they are kept.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from screening.store import citizen_facts, screening_list_entries, screening_lists, screening_scores


def expired_lists(connection: sa.Connection, before: dt.date) -> list[str]:
    """IDs of lists dated before ``before`` that are not current (oldest first)."""
    query = (
        sa.select(screening_lists.c.list_id)
        .where(screening_lists.c.as_of_date < before)
        .where(screening_lists.c.status != "current")
        .order_by(screening_lists.c.as_of_date, screening_lists.c.list_id)
    )
    return [str(row[0]) for row in connection.execute(query)]


def delete_lists(connection: sa.Connection, list_ids: list[str]) -> dict[str, int]:
    """Delete the lists and their rows inside the caller's transaction; rows deleted per table."""
    counts = {"screening_lists": 0, "screening_list_entries": 0, "citizen_facts": 0, "screening_scores": 0}
    for start in range(0, len(list_ids), 500):
        chunk = list_ids[start : start + 500]
        for table in (screening_list_entries, citizen_facts, screening_scores, screening_lists):
            counts[table.name] += connection.execute(
                sa.delete(table).where(table.c.list_id.in_(chunk))
            ).rowcount
    return counts
