"""Retention periods of what the platform keeps about people, applied by `tidlig retention`.

What is deleted once older than its period (:class:`RetentionPeriods`, each configurable):

- published lists (``screening.retention``: never a district's current list), with the review app's
  assignments on them;
- clinicians' decisions (``review_decisions``): they document care, so the default follows the journal
  rules (10 years, docs/production.md); a deployment sets its own;
- login records: login attempts (keyed username digests, client addresses; 30 days as in D42), ended or
  expired sessions, and security events.

What is never deleted here: the audit log (append-only, hash-chained, anchored outside the database; kept
at least as long as the records it documents, docs/production.md), the objection register and the run
records (append-only, no person data beyond the objectors' pseudonyms, which must stay to keep excluding
them), and the monitoring history (aggregates only).

:func:`apply_retention` counts first and, unless it is a dry run, deletes in one transaction and returns
the counts; the caller writes the audit row before the deletion (the command does).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from review.tables import assignments, decisions, login_attempts, security_events, sessions, to_utc_naive

YEAR = dt.timedelta(days=365)
JOURNAL_YEARS = 10
MIN_LIST_DAYS = 400  # a list must outlive its 12-month horizon so the monitor can evaluate it


class RetentionError(ValueError):
    """A retention period that would delete what must be kept."""


@dataclass(frozen=True)
class RetentionPeriods:
    """How long each kind of record is kept (days)."""

    lists_days: int = 3 * 365
    decisions_days: int = JOURNAL_YEARS * 365 + 3  # ten years, leap days included
    login_days: int = 30
    security_event_days: int = 365

    def check(self) -> None:
        """RetentionError when a period is shorter than the platform needs."""
        if self.lists_days < MIN_LIST_DAYS:
            raise RetentionError(
                f"Lists must be kept at least {MIN_LIST_DAYS} days (their 12-month outcomes are monitored); "
                f"got {self.lists_days}."
            )
        for name in ("decisions_days", "login_days", "security_event_days"):
            if getattr(self, name) < 1:
                raise RetentionError(f"{name} must be at least 1 day.")

    def as_record(self) -> dict[str, int]:
        return {
            "lists_days": self.lists_days,
            "decisions_days": self.decisions_days,
            "login_days": self.login_days,
            "security_event_days": self.security_event_days,
        }


@dataclass(frozen=True)
class RetentionReport:
    """Rows older than their period, per table (deleted unless ``dry_run``)."""

    counts: dict[str, int]
    dry_run: bool
    cutoffs: dict[str, str]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def apply_retention(
    engine: sa.Engine, periods: RetentionPeriods, now: dt.datetime, *, dry_run: bool
) -> RetentionReport:
    """Count, and unless ``dry_run`` delete, every row older than its period (one transaction)."""
    from screening.retention import delete_lists, expired_lists

    periods.check()
    moment = to_utc_naive(now)
    list_cutoff = moment.date() - dt.timedelta(days=periods.lists_days)
    decision_cutoff = moment - dt.timedelta(days=periods.decisions_days)
    login_cutoff = moment - dt.timedelta(days=periods.login_days)
    event_cutoff = moment - dt.timedelta(days=periods.security_event_days)
    cutoffs = {
        "lists_before": list_cutoff.isoformat(),
        "decisions_before": decision_cutoff.isoformat(timespec="seconds"),
        "login_records_before": login_cutoff.isoformat(timespec="seconds"),
        "security_events_before": event_cutoff.isoformat(timespec="seconds"),
    }
    review_rules = (
        (decisions, decisions.c.decided_at < decision_cutoff),
        (login_attempts, login_attempts.c.attempted_at < login_cutoff),
        (sessions, sessions.c.expires_at < login_cutoff),
        (security_events, security_events.c.occurred_at < event_cutoff),
    )
    with engine.begin() as connection:
        old_lists = expired_lists(connection, list_cutoff)
        counts: dict[str, int] = {}
        for table, condition in review_rules:
            counts[table.name] = int(
                connection.execute(sa.select(sa.func.count()).select_from(table).where(condition)).scalar()
            )
        counts["review_assignments"] = _count_in(connection, assignments, old_lists)
        if dry_run:
            counts.update(_list_counts(connection, old_lists))
            return RetentionReport(counts, dry_run=True, cutoffs=cutoffs)
        for table, condition in review_rules:
            connection.execute(sa.delete(table).where(condition))
        for start in range(0, len(old_lists), 500):
            chunk = old_lists[start : start + 500]
            connection.execute(sa.delete(assignments).where(assignments.c.list_id.in_(chunk)))
        counts.update(delete_lists(connection, old_lists))
    return RetentionReport(counts, dry_run=False, cutoffs=cutoffs)


def _count_in(connection: sa.Connection, table: sa.Table, list_ids: list[str]) -> int:
    total = 0
    for start in range(0, len(list_ids), 500):
        chunk = list_ids[start : start + 500]
        total += int(
            connection.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.list_id.in_(chunk))
            ).scalar()
        )
    return total


def _list_counts(connection: sa.Connection, list_ids: list[str]) -> dict[str, int]:
    from screening.store import citizen_facts, screening_list_entries, screening_lists, screening_scores

    return {
        table.name: _count_in(connection, table, list_ids)
        for table in (screening_lists, screening_list_entries, citizen_facts, screening_scores)
    }
