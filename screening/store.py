"""The operational database tables the screening layer owns, and the only code that reads or writes them.

Tables (docs/interfaces.md section 5; the review app reads them, never writes them):

- ``screening_lists``: one row per published district list. ``status`` is ``current`` for exactly one list
  per district (the newest ``as_of_date``; ties go to the list published last), ``superseded`` for the rest
  (older lists and backfilled history).
- ``screening_list_entries``: the ranked citizens of a list (pseudonymised ``person_key`` only).
- ``citizen_facts``: what the citizen page shows, as known at the list's ``as_of_date`` (JSON document).
- ``screening_scores``: every eligible citizen's risk at a list (not only the listed ones), so the next list
  can show "change since previous list" for people who were scored but not listed last time.
- ``screening_runs``: one record per scoring run that ended (published, unchanged or refused, with a reason
  free of person data); append-only: a later run never replaces an earlier record (D100).
- ``screening_objections``: the objection register (``screening.objections``), append-only (D101).

The key store (``settings.keystore_url``, table ``keystore(person_key, key_version, cpr, name)``, written by
ingest in operational deployments) is defined here for the review app, the only reader
(``review/identities.py``): nothing in the scoring run re-identifies (docs/decisions.md D95).

Publishing is one database transaction (:func:`publish_lists`): a crash leaves either the old current lists
or the new ones, never a mix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from data_contracts.keystore import KEYSTORE
from privacy.files import private_sqlite_file

metadata = sa.MetaData()

LIST_STATUSES = ("current", "superseded")
RUN_STATUSES = ("published", "refused", "unchanged")

screening_lists = sa.Table(
    "screening_lists",
    metadata,
    sa.Column("list_id", sa.String(64), primary_key=True),
    sa.Column("district", sa.String(32), nullable=False),
    sa.Column("municipality", sa.String(16), nullable=False),
    sa.Column("as_of_date", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("model_versions", sa.JSON, nullable=False),
    sa.Column("feature_set_version", sa.String(64), nullable=False),
    sa.Column("data_batches", sa.JSON, nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.CheckConstraint("status IN ('current', 'superseded')", name="ck_screening_lists_status"),
    sa.Index("ix_screening_lists_district_status", "district", "status"),
    sa.Index("ix_screening_lists_district_as_of", "district", "as_of_date"),
)

screening_list_entries = sa.Table(
    "screening_list_entries",
    metadata,
    sa.Column(
        "list_id",
        sa.String(64),
        sa.ForeignKey("screening_lists.list_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("rank", sa.Integer, primary_key=True),
    sa.Column("person_key", sa.String(64), nullable=False),
    sa.Column("risk", sa.Float, nullable=False),
    sa.Column("risk_previous", sa.Float, nullable=True),
    sa.Column("risk_change", sa.Float, nullable=True),
    sa.Column("new_on_list", sa.Boolean, nullable=False),
    sa.Column("flags", sa.JSON, nullable=False),
    sa.Column("reasons_da", sa.JSON, nullable=False),
    sa.Column("reasons_en", sa.JSON, nullable=False),
    sa.Column("suggested_action_da", sa.Text, nullable=False),
    sa.Column("suggested_action_en", sa.Text, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Index("ix_screening_list_entries_person_key", "person_key"),
)

citizen_facts = sa.Table(
    "citizen_facts",
    metadata,
    sa.Column(
        "list_id",
        sa.String(64),
        sa.ForeignKey("screening_lists.list_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("person_key", sa.String(64), primary_key=True),
    sa.Column("facts", sa.JSON, nullable=False),
)

screening_scores = sa.Table(
    "screening_scores",
    metadata,
    sa.Column(
        "list_id",
        sa.String(64),
        sa.ForeignKey("screening_lists.list_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("person_key", sa.String(64), primary_key=True),
    sa.Column("risk", sa.Float, nullable=False),
)

screening_runs = sa.Table(
    "screening_runs",
    metadata,
    # One row per scoring run that ended, in the order they ended. ``run_id`` names the run's inputs
    # (docs/decisions.md D9), so a rerun, a refusal of the same inputs or an "unchanged" run shares the
    # ``run_id`` of the run that published; each is its own record and none replaces another (D100).
    sa.Column("record_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("as_of_date", sa.Date, nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("list_ids", sa.JSON, nullable=False),
    sa.Column("model_versions", sa.JSON, nullable=False),
    sa.Column("feature_set_version", sa.String(64), nullable=True),
    sa.Column("data_batches", sa.JSON, nullable=False),
    sa.CheckConstraint("status IN ('published', 'refused', 'unchanged')", name="ck_screening_runs_status"),
    sa.Index("ix_screening_runs_run_id", "run_id", "record_id"),
)


_REFUSE_BODY = "BEGIN RAISE EXCEPTION '%% is append-only: add a row instead', TG_TABLE_NAME; END"


def _refuse_function_ddl(refuse_function: str) -> str:
    """The PostgreSQL function the append-only triggers call (``%%``: a literal ``%`` in ``sa.DDL``)."""
    return (
        f"CREATE OR REPLACE FUNCTION {refuse_function}() RETURNS trigger AS $$ {_REFUSE_BODY} $$ "
        "LANGUAGE plpgsql"
    )


def append_only_ddl(name: str, refuse_function: str) -> dict[str, list[tuple[str, str]]]:
    """The (object name, statement) pairs that make table ``name`` append-only, per dialect: SQLite
    triggers refusing UPDATE and DELETE; on PostgreSQL the refusing function ``refuse_function``, a row
    trigger refusing UPDATE and DELETE and a statement trigger refusing TRUNCATE. Changing such a table's
    history takes dropping a trigger (a schema change), not a stray statement."""
    sqlite = [
        (
            f"{name}_no_{statement.lower()}",
            f"CREATE TRIGGER {name}_no_{statement.lower()} BEFORE {statement} ON {name} "
            f"BEGIN SELECT RAISE(ABORT, '{name} is append-only: add a row instead'); END",
        )
        for statement in ("UPDATE", "DELETE")
    ]
    postgresql = [
        (refuse_function, _refuse_function_ddl(refuse_function)),
        (
            f"{name}_append_only",
            f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION {refuse_function}()",
        ),
        (
            f"{name}_no_truncate",
            f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {refuse_function}()",
        ),
    ]
    return {"sqlite": sqlite, "postgresql": postgresql}


def append_only_triggers(table: sa.Table, refuse_function: str) -> None:
    """Create :func:`append_only_ddl`'s triggers whenever ``table`` is created."""
    for dialect, statements in append_only_ddl(table.name, refuse_function).items():
        for _, ddl in statements:
            sa.event.listen(table, "after_create", sa.DDL(ddl).execute_if(dialect=dialect))


def restore_missing_triggers(
    connection: sa.Connection, tables: Iterable[sa.Table], refuse_function: str
) -> None:
    """On PostgreSQL, create any of :func:`append_only_ddl`'s triggers that ``tables`` lack (tables made by
    an earlier version, or a trigger someone dropped), and the refusing function when it is missing or no
    longer refuses as written. Nothing is executed when all is in place, so a role that may not change
    the schema passes; when something is missing and it may not, the error names what and what to do."""
    if connection.dialect.name != "postgresql":
        return
    present = {row[0] for row in connection.execute(sa.text("SELECT tgname FROM pg_trigger"))}
    bodies = [
        " ".join(row[0].split())
        for row in connection.execute(
            sa.text("SELECT prosrc FROM pg_proc WHERE proname = :name"), {"name": refuse_function}
        )
    ]
    missing: list[tuple[str, str, str]] = []  # (where, object name, statement); the function first
    if bodies != [_REFUSE_BODY.replace("%%", "%")]:
        missing.append(("the operational schema", refuse_function, _refuse_function_ddl(refuse_function)))
    for table in tables:
        for object_name, ddl in append_only_ddl(table.name, refuse_function)["postgresql"]:
            if object_name != refuse_function and object_name not in present:
                missing.append((f"table {table.name}", object_name, ddl))
    for where, object_name, ddl in missing:
        try:
            with connection.begin_nested():
                connection.execute(sa.DDL(ddl))
        except sa.exc.DBAPIError as error:
            raise RuntimeError(
                f"The append-only protection {object_name} of {where} is missing or changed, and "
                f"this database role cannot put it back ({type(error.orig).__name__}). Run the step once "
                "as the role that owns the operational schema, then check who removed it."
            ) from error


append_only_triggers(screening_runs, "screening_refuse_change")

# The objection register (screening.objections): one row per citizen who objected, append-only.
screening_objections = sa.Table(
    "screening_objections",
    metadata,
    sa.Column("objection_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("person_key", sa.String(64), nullable=False),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("registered_by", sa.String(80), nullable=False),
    sa.Column("reference", sa.String(64), nullable=True),
    sa.Column("lists_withdrawn", sa.JSON, nullable=False),
    sa.Column("entries_withdrawn", sa.Integer, nullable=False),
    sa.UniqueConstraint("person_key", name="uq_screening_objections_person"),
)
append_only_triggers(screening_objections, "screening_refuse_change")
APPEND_ONLY_TABLES = ("screening_runs", "screening_objections")

# The key store's table is defined once, by the ingest step that writes it.
keystore = KEYSTORE
keystore_metadata = KEYSTORE.metadata


def create_schema(engine: sa.Engine) -> None:
    """Create the screening tables in the operational database if they do not exist (idempotent), and
    bring an older ``screening_runs`` (one row per ``run_id``, overwritten) to the append-only form. On
    PostgreSQL an append-only trigger someone dropped is created again."""
    _upgrade_run_records(engine)
    metadata.create_all(engine, checkfirst=True)
    with engine.begin() as connection:
        restore_missing_triggers(
            connection, [metadata.tables[name] for name in APPEND_ONLY_TABLES], "screening_refuse_change"
        )


def _upgrade_run_records(engine: sa.Engine) -> None:
    """Rebuild a ``screening_runs`` table of the first schema (``run_id`` as its key, no ``record_id``)
    as the append-only table, keeping its rows in the order they finished; one transaction.

    The first statement is a DML statement so that SQLite's driver opens the transaction before the DDL
    that follows (it does not open one for DDL), and a crash leaves the old table as it was.
    """
    inspector = sa.inspect(engine)
    if not inspector.has_table("screening_runs"):
        return
    if "record_id" in {column["name"] for column in inspector.get_columns("screening_runs")}:
        return
    old = sa.Table("screening_runs", sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        rows = [
            dict(row) for row in connection.execute(sa.select(old).order_by(old.c.finished_at)).mappings()
        ]
        connection.execute(sa.delete(old))
        old.drop(connection)
        screening_runs.create(connection)
        if rows:
            connection.execute(sa.insert(screening_runs), rows)


def operational_engine(url: str) -> sa.Engine:
    """An engine for the operational DB with the schema in place (SQLite by default, PostgreSQL by URL);
    a SQLite file is created 0600 in a 0700 folder."""
    private_sqlite_file(url)
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        # SQLite ignores foreign keys unless asked per connection.
        sa.event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    create_schema(engine)
    return engine


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@dataclass(frozen=True)
class ListToPublish:
    """One district list, ready to be written: its header row and its per-person rows.

    ``header`` holds the ``screening_lists`` columns except ``created_at`` and ``status`` (set by
    :func:`publish_lists`). ``entries``, ``facts`` and ``scores`` are records for the other tables, without
    ``list_id`` (filled in from the header).
    """

    header: dict[str, Any]
    entries: Sequence[dict[str, Any]]
    facts: Sequence[dict[str, Any]]
    scores: Sequence[dict[str, Any]] = field(default_factory=tuple)


def publish_lists(
    engine: sa.Engine,
    lists: Sequence[ListToPublish],
    *,
    created_at: dt.datetime,
    fail_after_rows: int | None = None,
) -> list[str]:
    """Store ``lists`` in one transaction; each becomes its district's current list unless the district
    already has a list with a later ``as_of_date``; return the list IDs.

    "Current" is the newest as-of date per district, not the list published last: backfilling an older
    date stores that list as history (``superseded``) and leaves the newer list current
    (:func:`newer_current_lists` says which). A list whose ``list_id`` already exists is not written again
    (same inputs, same list): it becomes current again only if it is the newest of its district. When a
    new list becomes current, the district's previous current list becomes ``superseded``.
    ``fail_after_rows`` exists for crash-safety tests: it raises after that many rows were written, inside
    the transaction, which must then leave the database as it was.
    """
    written = 0

    def count(rows: int) -> None:
        nonlocal written
        written += rows
        if fail_after_rows is not None and written >= fail_after_rows:
            raise SimulatedCrashError("Simulated crash while publishing (test hook).")

    with engine.begin() as connection:
        for item in lists:
            list_id = item.header["list_id"]
            district = item.header["district"]
            newest = _is_newest(connection, district, list_id, item.header["as_of_date"])
            if newest:
                connection.execute(
                    sa.update(screening_lists)
                    .where(screening_lists.c.district == district)
                    .where(screening_lists.c.status == "current")
                    .where(screening_lists.c.list_id != list_id)
                    .values(status="superseded")
                )
            exists = connection.execute(
                sa.select(screening_lists.c.list_id).where(screening_lists.c.list_id == list_id)
            ).first()
            if exists is not None:
                if newest:
                    connection.execute(
                        sa.update(screening_lists)
                        .where(screening_lists.c.list_id == list_id)
                        .values(status="current")
                    )
                continue
            connection.execute(
                sa.insert(screening_lists).values(
                    **item.header, created_at=created_at, status="current" if newest else "superseded"
                )
            )
            count(1)
            for table, rows in (
                (screening_list_entries, item.entries),
                (citizen_facts, item.facts),
                (screening_scores, item.scores),
            ):
                if rows:
                    connection.execute(sa.insert(table), [{**row, "list_id": list_id} for row in rows])
                    count(len(rows))
    return [item.header["list_id"] for item in lists]


def _is_newest(connection: sa.Connection, district: str, list_id: str, as_of: dt.date) -> bool:
    """Whether a list dated ``as_of`` is at least as new as every other list of ``district`` (a tie goes
    to the list published last: the same date rescored with a new model replaces the old list)."""
    newest = connection.execute(
        sa.select(sa.func.max(screening_lists.c.as_of_date))
        .where(screening_lists.c.district == district)
        .where(screening_lists.c.list_id != list_id)
    ).scalar()
    return newest is None or as_of >= newest


def newer_current_lists(engine: sa.Engine, list_ids: Iterable[str]) -> dict[str, dt.date]:
    """For each of ``list_ids`` that is not current because its district has a newer list: that newer
    list's as-of date (so the scoring run can say "stored as history; the list of <date> stays current")."""
    ids = list(list_ids)
    if not ids:
        return {}
    current = screening_lists.alias("current_list")
    query = (
        sa.select(screening_lists.c.list_id, current.c.as_of_date)
        .join(current, (current.c.district == screening_lists.c.district) & (current.c.status == "current"))
        .where(screening_lists.c.list_id.in_(ids))
        .where(screening_lists.c.status != "current")
        .where(current.c.as_of_date > screening_lists.c.as_of_date)
    )
    with engine.connect() as connection:
        return {row[0]: row[1] for row in connection.execute(query)}


class SimulatedCrashError(RuntimeError):
    """Raised by the crash-safety test hook of :func:`publish_lists`."""


def record_run(
    engine: sa.Engine,
    *,
    run_id: str,
    as_of_date: dt.date,
    finished_at: dt.datetime,
    status: str,
    reason: str | None,
    list_ids: Sequence[str],
    model_versions: dict[str, str],
    feature_set_version: str | None,
    data_batches: Sequence[str],
) -> int:
    """Append how a scoring run ended (``published``, ``refused`` with a reason, or ``unchanged``) as a
    new record and return its ``record_id``. Nothing here updates or deletes a record: a rerun with the
    same inputs is a record of its own, and the table's triggers refuse changes (D100)."""
    if status not in RUN_STATUSES:
        raise ValueError(f"Unknown run status {status!r}; expected one of {RUN_STATUSES}.")
    with engine.begin() as connection:
        result = connection.execute(
            sa.insert(screening_runs).values(
                run_id=run_id,
                as_of_date=as_of_date,
                finished_at=finished_at,
                status=status,
                reason=reason,
                list_ids=list(list_ids),
                model_versions=dict(model_versions),
                feature_set_version=feature_set_version,
                data_batches=list(data_batches),
            )
        )
        return int(result.inserted_primary_key[0])


def read_runs(engine: sa.Engine, limit: int | None = None) -> pd.DataFrame:
    """Scoring run records, the latest first (each run that ended is one record)."""
    query = sa.select(screening_runs).order_by(
        screening_runs.c.finished_at.desc(), screening_runs.c.record_id.desc()
    )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return pd.DataFrame(rows, columns=list(screening_runs.c.keys()))


def publishing_record(engine: sa.Engine, run_id: str) -> dict[str, Any] | None:
    """The record of the run that published the lists of ``run_id``: its first ``published`` record.

    Lists carry the ``run_id`` of their inputs; later records with the same ``run_id`` (a rerun that
    found nothing new, or a refusal of the same inputs) never describe those lists. None when no run with
    that ID published (lists stored before run records existed).
    """
    query = (
        sa.select(screening_runs)
        .where(screening_runs.c.run_id == run_id)
        .where(screening_runs.c.status == "published")
        .order_by(screening_runs.c.record_id)
        .limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    return dict(row) if row is not None else None


def current_list_runs(engine: sa.Engine) -> pd.DataFrame:
    """Per district with a current list: its ``list_id``, ``as_of_date``, and the publishing record's
    ``run_id``, ``record_id`` and ``finished_at`` (what "the run behind the current list" means)."""
    current = read_current_lists(engine)
    columns = ["district", "list_id", "as_of_date", "run_id", "record_id", "finished_at"]
    rows = []
    for header in current.to_dict("records"):
        record = publishing_record(engine, str(header["run_id"]))
        rows.append(
            {
                "district": header["district"],
                "list_id": header["list_id"],
                "as_of_date": header["as_of_date"],
                "run_id": header["run_id"],
                "record_id": None if record is None else record["record_id"],
                "finished_at": None if record is None else record["finished_at"],
            }
        )
    return pd.DataFrame(rows, columns=columns)


def read_current_lists(engine: sa.Engine) -> pd.DataFrame:
    """The header rows of the current list of every district, ordered by district."""
    query = (
        sa.select(screening_lists)
        .where(screening_lists.c.status == "current")
        .order_by(screening_lists.c.district)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return pd.DataFrame(rows, columns=list(screening_lists.c.keys()))


def read_list_entries(engine: sa.Engine, list_id: str) -> pd.DataFrame:
    """The entries of one list, ordered by rank."""
    query = (
        sa.select(screening_list_entries)
        .where(screening_list_entries.c.list_id == list_id)
        .order_by(screening_list_entries.c.rank)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return pd.DataFrame(rows, columns=list(screening_list_entries.c.keys()))


def read_previous_list(engine: sa.Engine, district: str, before: dt.date) -> dict[str, Any] | None:
    """The latest list of ``district`` with ``as_of_date`` strictly before ``before`` (any status), or None.

    "Previous" is defined by date, not by status, so that re-running the same as-of date finds the same
    previous list and gives the same result.
    """
    query = (
        sa.select(screening_lists)
        .where(screening_lists.c.district == district)
        .where(screening_lists.c.as_of_date < before)
        .order_by(screening_lists.c.as_of_date.desc(), screening_lists.c.created_at.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    return dict(row) if row is not None else None


def read_scores(engine: sa.Engine, list_ids: Iterable[str]) -> pd.DataFrame:
    """``list_id``, ``person_key``, ``risk`` of everyone scored at the given lists."""
    ids = list(list_ids)
    columns = ["list_id", "person_key", "risk"]
    if not ids:
        return pd.DataFrame(columns=columns)
    query = sa.select(screening_scores).where(screening_scores.c.list_id.in_(ids))
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return pd.DataFrame(rows, columns=columns)


def read_list_members(engine: sa.Engine, list_ids: Iterable[str]) -> set[str]:
    """The person keys listed on any of the given lists."""
    ids = list(list_ids)
    if not ids:
        return set()
    query = sa.select(screening_list_entries.c.person_key).where(screening_list_entries.c.list_id.in_(ids))
    with engine.connect() as connection:
        return {row[0] for row in connection.execute(query)}


REVIEW_DECISIONS_TABLE = "review_decisions"
DISMISSING_ACTIONS = frozenset({"not_relevant"})


def read_review_decisions(engine: sa.Engine) -> pd.DataFrame | None:
    """Clinicians' decisions as ``person_key``, ``decided_on`` (date), ``kind`` (``reviewed``/``dismissed``).

    Reads the review app's ``review_decisions`` table by name (the review app owns it); ``not_relevant``
    counts as dismissed, any other decision as reviewed. None when the review app has not created its
    tables yet (then the review-based exclusions are reported as not applied).
    """
    if not sa.inspect(engine).has_table(REVIEW_DECISIONS_TABLE):
        return None
    table = sa.Table(REVIEW_DECISIONS_TABLE, sa.MetaData(), autoload_with=engine)
    query = sa.select(table.c.person_key, table.c.decided_at, table.c.action)
    with engine.connect() as connection:
        rows = pd.DataFrame(connection.execute(query).all(), columns=["person_key", "decided_at", "action"])
    return pd.DataFrame(
        {
            "person_key": rows["person_key"].astype(str),
            "decided_on": pd.to_datetime(rows["decided_at"]).dt.date,
            "kind": [
                "dismissed" if action in DISMISSING_ACTIONS else "reviewed" for action in rows["action"]
            ],
        }
    )


def existing_list_ids(engine: sa.Engine, list_ids: Iterable[str]) -> set[str]:
    """Which of ``list_ids`` are already in the database (a rerun of the same inputs finds all of them)."""
    ids = list(list_ids)
    if not ids:
        return set()
    query = sa.select(screening_lists.c.list_id).where(screening_lists.c.list_id.in_(ids))
    with engine.connect() as connection:
        return {row[0] for row in connection.execute(query)}
