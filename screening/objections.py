"""Citizens' objections (GDPR art. 21): whoever objects is no longer scored or listed.

The register is one table in the operational database, ``screening_objections``, append-only like the run
records (triggers refuse UPDATE, DELETE and, on PostgreSQL, TRUNCATE): one row per objection, with the
citizen's pseudonym (never the CPR number, which is pseudonymised at the command's boundary), when, who
registered it, an optional case reference, and which published lists the citizen was withdrawn from.

:func:`register_objection` writes the row and, in the same transaction, withdraws the citizen from every
stored list: their entry, facts and stored score are deleted, so no page, export or later "change since
previous list" shows them again. The list keeps its ID and header; the register row is its flag
(:func:`withdrawn_counts` says how many were withdrawn from a list, never who). Scoring reads
:func:`objecting_person_keys` and drops them before the model sees them; the exclusions table counts them
in the row ``objection_registered`` (suppressed like every small count when it leaves the platform).
Messages and errors carry counts only, never the pseudonym.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from screening.store import (
    citizen_facts,
    screening_list_entries,
    screening_objections,
    screening_scores,
)

OBJECTION_RULE = "objection_registered"
# A case reference is a journal or case number, not a free-text note: letters, digits and - / . _ only,
# and never something shaped like a CPR number.
REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,63}")
CPR_SHAPE = re.compile(r"\d{6}-?\d{4}")


class ObjectionError(ValueError):
    """A refused objection request (bad reference or operator name); the message names no person."""


@dataclass(frozen=True)
class ObjectionResult:
    """What registering did: the register row's ID, whether it was new, and what it withdrew."""

    objection_id: int
    new: bool
    registered_at: dt.datetime
    lists_withdrawn: tuple[str, ...]
    entries_withdrawn: int
    scores_withdrawn: int


def _check(registered_by: str, reference: str | None) -> None:
    if not registered_by.strip() or len(registered_by) > 80:
        raise ObjectionError("Name the person registering the objection (--by, at most 80 characters).")
    if reference is not None and (not REFERENCE_PATTERN.fullmatch(reference) or CPR_SHAPE.search(reference)):
        raise ObjectionError(
            "--reference must be a case or journal number (letters, digits, - / . _; up to 64 "
            "characters) and must not contain a CPR number."
        )


def register_objection(
    engine: sa.Engine,
    person_key: str,
    *,
    registered_by: str,
    at: dt.datetime,
    reference: str | None = None,
) -> ObjectionResult:
    """Register the objection of ``person_key`` and withdraw them from every stored list, in one
    transaction. A second objection of the same citizen changes nothing and returns the first one."""
    _check(registered_by, reference)
    with engine.begin() as connection:
        existing = (
            connection.execute(
                sa.select(screening_objections).where(screening_objections.c.person_key == person_key)
            )
            .mappings()
            .first()
        )
        if existing is not None:
            return ObjectionResult(
                objection_id=int(existing["objection_id"]),
                new=False,
                registered_at=existing["registered_at"],
                lists_withdrawn=tuple(existing["lists_withdrawn"]),
                entries_withdrawn=int(existing["entries_withdrawn"]),
                scores_withdrawn=0,
            )
        lists = sorted(
            {
                str(row[0])
                for row in connection.execute(
                    sa.select(screening_list_entries.c.list_id).where(
                        screening_list_entries.c.person_key == person_key
                    )
                )
            }
        )
        entries = connection.execute(
            sa.delete(screening_list_entries).where(screening_list_entries.c.person_key == person_key)
        ).rowcount
        connection.execute(sa.delete(citizen_facts).where(citizen_facts.c.person_key == person_key))
        scores = connection.execute(
            sa.delete(screening_scores).where(screening_scores.c.person_key == person_key)
        ).rowcount
        result = connection.execute(
            sa.insert(screening_objections).values(
                person_key=person_key,
                registered_at=at,
                registered_by=registered_by.strip(),
                reference=reference,
                lists_withdrawn=lists,
                entries_withdrawn=int(entries),
            )
        )
    return ObjectionResult(
        objection_id=int(result.inserted_primary_key[0]),
        new=True,
        registered_at=at,
        lists_withdrawn=tuple(lists),
        entries_withdrawn=int(entries),
        scores_withdrawn=int(scores),
    )


def objecting_person_keys(engine: sa.Engine) -> frozenset[str]:
    """Everyone in the register (empty before the first objection)."""
    if not sa.inspect(engine).has_table(screening_objections.name):
        return frozenset()
    with engine.connect() as connection:
        return frozenset(
            str(row[0]) for row in connection.execute(sa.select(screening_objections.c.person_key))
        )


def withdrawn_counts(engine: sa.Engine, list_ids: Iterable[str]) -> dict[str, int]:
    """How many citizens were withdrawn from each of ``list_ids`` after an objection (lists with none are
    absent): the flag a list page shows, without naming anyone."""
    wanted = set(list_ids)
    counts: dict[str, int] = {}
    if not wanted or not sa.inspect(engine).has_table(screening_objections.name):
        return counts
    with engine.connect() as connection:
        for (lists,) in connection.execute(sa.select(screening_objections.c.lists_withdrawn)):
            for list_id in lists or ():
                if list_id in wanted:
                    counts[list_id] = counts.get(list_id, 0) + 1
    return counts


def count_objections(engine: sa.Engine) -> int:
    """How many objections the register holds."""
    if not sa.inspect(engine).has_table(screening_objections.name):
        return 0
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(screening_objections)).scalar())
