"""Finding 2: the audit trail survives write access to the database.

Each attack below is what someone with the database's credentials can do after dropping the append-only
triggers; before the anchors, `tidlig audit verify` called every one of them "intact".
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from pipelines.cli import cli
from review.anchors import AnchorFile
from review.audit import GENESIS_HASH, AuditEvent, AuditLog, chain_hash
from review.tables import audit_log
from tests.review.world import ANCHOR_KEY


def event(number: int) -> AuditEvent:
    return AuditEvent(
        "nurse_a", "nurse", "101-01", "citizen_view", "care_follow_up", f"list-{number}", [f"pk-{number}"]
    )


@pytest.fixture
def anchored(world, tmp_path) -> AuditLog:
    log = AuditLog(world.engine, world.clock, AnchorFile(tmp_path / "anchors" / "a.jsonl", ANCHOR_KEY))
    for number in range(1, 6):
        log.append(event(number))
    return log


def drop_guards(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(sa.text("DROP TRIGGER review_audit_log_no_update"))
            connection.execute(sa.text("DROP TRIGGER review_audit_log_no_delete"))
        else:
            connection.execute(sa.text("DROP TRIGGER review_audit_log_no_change ON review_audit_log"))
            connection.execute(sa.text("DROP TRIGGER review_audit_log_no_truncate ON review_audit_log"))


def restore_guards(engine: sa.Engine) -> None:
    """What a careful attacker does afterwards, so that only the anchors can tell."""
    first, second = migration("0001_initial"), migration("0002_security")
    if engine.dialect.name == "sqlite":
        statements = first._SQLITE_APPEND_ONLY
    else:
        statements = (first._POSTGRES_APPEND_ONLY[1], second._POSTGRES_NO_TRUNCATE)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))


def migration(name: str):
    import importlib.util

    from review.database import MIGRATIONS_DIR

    spec = importlib.util.spec_from_file_location(name, MIGRATIONS_DIR / "versions" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(engine: sa.Engine) -> list[dict]:
    with engine.connect() as connection:
        return [
            dict(row) for row in connection.execute(sa.select(audit_log).order_by(audit_log.c.seq)).mappings()
        ]


def rewrite_chain(engine: sa.Engine, change) -> None:
    """Change rows and recompute every hash so the chain is consistent again."""
    content = rows(engine)
    for row in content:
        change(row)
    with engine.begin() as connection:
        connection.execute(sa.delete(audit_log))
        prev = GENESIS_HASH
        for row in content:
            row["prev_hash"], row["row_hash"] = prev, chain_hash(prev, row)
            prev = row["row_hash"]
            connection.execute(sa.insert(audit_log).values(**row))


def test_an_untouched_anchored_log_verifies(anchored):
    report = anchored.verify()
    assert report.ok, report.problem
    assert (report.rows, report.anchors, report.missing_protections) == (5, 5, ())


def test_a_consistently_rewritten_chain_is_detected(anchored, world):
    drop_guards(world.engine)
    rewrite_chain(world.engine, lambda row: row.update(username="someone_else") if row["seq"] == 2 else None)
    restore_guards(world.engine)
    report = anchored.verify()
    assert not report.ok
    assert "row 2 differs from its anchor" in report.problem


def test_a_forged_row_at_the_end_is_detected(anchored, world):
    last = rows(world.engine)[-1]
    forged = {**last, "seq": 6, "username": "nobody", "prev_hash": last["row_hash"]}
    forged["row_hash"] = chain_hash(forged["prev_hash"], forged)
    with world.engine.begin() as connection:  # INSERT is allowed: no trigger stops it
        connection.execute(sa.insert(audit_log).values(**forged))
    report = anchored.verify()
    assert not report.ok
    assert "rows 6 to 6 were never anchored" in report.problem


def test_a_cut_tail_is_detected(anchored, world):
    drop_guards(world.engine)
    with world.engine.begin() as connection:
        connection.execute(sa.delete(audit_log).where(audit_log.c.seq >= 4))
    restore_guards(world.engine)
    report = anchored.verify()
    assert not report.ok
    assert "anchored row 4 is missing" in report.problem


def test_an_emptied_table_is_detected(anchored, world):
    drop_guards(world.engine)
    with world.engine.begin() as connection:
        connection.execute(sa.delete(audit_log))
    restore_guards(world.engine)
    report = anchored.verify()
    assert not report.ok
    assert report.rows == 0
    assert "emptied" in report.problem


def test_dropped_triggers_alone_are_detected(anchored, world):
    drop_guards(world.engine)
    report = anchored.verify()
    assert not report.ok
    assert report.missing_protections
    assert "protections missing" in report.problem


def test_a_replaced_trigger_function_or_disabled_trigger_is_detected_on_postgresql(anchored, world):
    if world.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL triggers can be disabled or their function replaced")
    with world.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE review_audit_log DISABLE TRIGGER review_audit_log_no_change"))
    assert "review_audit_log_no_change is disabled" in anchored.verify().problem
    with world.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE review_audit_log ENABLE TRIGGER review_audit_log_no_change"))
        connection.execute(
            sa.text(
                "CREATE OR REPLACE FUNCTION review_audit_log_append_only() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$"
            )
        )
    assert "no longer refuses changes" in anchored.verify().problem


def test_truncate_is_refused_on_postgresql(anchored, world):
    if world.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    with pytest.raises(sa.exc.DBAPIError), world.engine.begin() as connection:
        connection.execute(sa.text("TRUNCATE review_audit_log"))


def test_a_line_added_to_the_anchor_file_without_the_key_is_detected(anchored, tmp_path):
    path = tmp_path / "anchors" / "a.jsonl"
    with path.open("a", encoding="ascii") as handle:
        handle.write(
            json.dumps({"seq": 9, "row_hash": "0" * 64, "anchored_at": "x", "signature": "0" * 64}) + "\n"
        )
    report = anchored.verify()
    assert not report.ok
    assert "line 6 has no valid signature" in report.problem


def test_a_deleted_anchor_file_is_detected(anchored, tmp_path):
    (tmp_path / "anchors" / "a.jsonl").unlink()
    report = anchored.verify()
    assert not report.ok
    assert "never anchored" in report.problem


def test_the_anchor_file_is_private(anchored, tmp_path):
    path = tmp_path / "anchors" / "a.jsonl"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert ANCHOR_KEY.hex() not in path.read_text()


def test_tidlig_audit_verify_reports_an_emptied_table_and_exits_1(tmp_path):
    def tidlig(*arguments: str, stdin: str | None = None):
        return CliRunner().invoke(cli, ["--home", str(tmp_path), *arguments], input=stdin)

    for name in ("admin_one", "admin_two"):
        added = tidlig(
            "users",
            "add",
            "--username",
            name,
            "--role",
            "admin",
            "--password-stdin",
            stdin="violet tractor harbour lamp\n",
        )
        assert added.exit_code == 0, added.output
    intact = tidlig("audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert "2 rows, matching 2 signed anchors" in intact.output
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    drop_guards(engine)
    with engine.begin() as connection:
        connection.execute(sa.delete(audit_log))
    restore_guards(engine)
    engine.dispose()
    broken = tidlig("audit", "verify")
    assert broken.exit_code == 1
    assert "BROKEN" in broken.output
    assert "the table has 0 rows" in broken.output
