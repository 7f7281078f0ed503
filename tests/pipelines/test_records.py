"""`tidlig citizens object` and `tidlig retention` as the operator runs them."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from data_contracts.pseudonym import pseudonymise_one
from pipelines.cli import cli
from pipelines.settings import DEMO_PSEUDONYM_KEY
from review.tables import audit_log
from screening.objections import objecting_person_keys
from screening.store import operational_engine, publish_lists, read_list_entries
from tests.screening.test_store import CREATED, a_list

CPR = "010150-1234"


@pytest.fixture
def home(tmp_path):
    engine = operational_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    publish_lists(engine, [a_list("old", as_of=dt.date(2019, 1, 7))], created_at=CREATED)
    publish_lists(engine, [a_list("current", people=("p1", "p2", "p3"))], created_at=CREATED)
    engine.dispose()
    return tmp_path


def tidlig(home, *arguments, stdin=None):
    return CliRunner().invoke(cli, ["--home", str(home), "--demo", *arguments], input=stdin)


def audit_actions(home) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{home / 'operational.sqlite'}")
    if not sa.inspect(engine).has_table(audit_log.name):
        return []
    with engine.connect() as connection:
        actions = [
            row[0] for row in connection.execute(sa.select(audit_log.c.action).order_by(audit_log.c.seq))
        ]
    engine.dispose()
    return actions


def test_an_objection_by_cpr_is_pseudonymised_at_the_boundary_registered_and_audited(home):
    result = tidlig(
        home, "citizens", "object", "--cpr-stdin", "--by", "kb", "--reference", "SAG-17", stdin=CPR + "\n"
    )
    assert result.exit_code == 0, result.output
    pseudonym = pseudonymise_one(CPR, DEMO_PSEUDONYM_KEY)
    engine = operational_engine(f"sqlite:///{home / 'operational.sqlite'}")
    assert objecting_person_keys(engine) == frozenset({pseudonym})
    engine.dispose()
    assert CPR not in result.output
    assert CPR.replace("-", "") not in result.output
    assert pseudonym not in result.output
    assert audit_actions(home)[-1] == "citizen_objection_registered"
    assert tidlig(home, "audit", "verify").exit_code == 0


def test_an_objection_by_pseudonym_withdraws_the_citizen_from_the_stored_lists(home):
    result = tidlig(home, "citizens", "object", "--person-key", "p1", "--by", "kb")
    assert result.exit_code == 0, result.output
    assert "withdrawn from 2 stored list(s)" in result.output
    engine = operational_engine(f"sqlite:///{home / 'operational.sqlite'}")
    assert list(read_list_entries(engine, "current")["person_key"]) == ["p2", "p3"]
    engine.dispose()
    again = tidlig(home, "citizens", "object", "--person-key", "p1", "--by", "kb")
    assert again.exit_code == 0
    assert "Already registered" in again.output


def test_a_malformed_cpr_number_is_refused_and_not_echoed(home):
    result = tidlig(home, "citizens", "object", "--cpr-stdin", "--by", "kb", stdin="12345\n")
    assert result.exit_code == 2
    assert "12345" not in result.output
    assert "citizen_objection_registered" not in audit_actions(home)


def test_retention_dry_run_then_delete_with_an_audit_row(home):
    dry = tidlig(home, "retention", "--dry-run", "--lists-days", "400")
    assert dry.exit_code == 0, dry.output
    assert "Would delete" in dry.output
    assert "Nothing was changed" in dry.output
    assert "retention_applied" not in audit_actions(home)
    done = tidlig(home, "retention", "--lists-days", "400")
    assert done.exit_code == 0, done.output
    assert "Deleted" in done.output
    assert audit_actions(home)[-1] == "retention_applied"
    engine = operational_engine(f"sqlite:///{home / 'operational.sqlite'}")
    assert read_list_entries(engine, "old").empty
    assert len(read_list_entries(engine, "current")) == 3
    engine.dispose()
    assert tidlig(home, "audit", "verify").exit_code == 0


def test_retention_refuses_a_list_period_shorter_than_monitoring_needs(home):
    result = tidlig(home, "retention", "--lists-days", "30")
    assert result.exit_code == 2
    assert "at least 400 days" in result.output


@pytest.mark.parametrize("command", [["citizens"], ["citizens", "object"], ["retention"]])
def test_every_command_has_help(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
