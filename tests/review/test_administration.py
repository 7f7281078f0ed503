"""Finding 1: an admin cannot give anyone (themselves included) clinical access without a trace.

Every account change is an audit row naming the acting admin; accounts record their creator; clinical and
admin access waits for a second admin's approval (four-eyes), unless a deployment switches that off.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from review.accounts import create_account, find_account
from review.tables import audit_log
from tests.review.world import DISTRICT_B, FAST_HASHING, LIST_B, PASSWORD, csrf_from, login

NEW_PASSWORD = "violet tractor harbour lamp"


def audit_rows(world, action: str | None = None) -> list[dict]:
    query = sa.select(audit_log).order_by(audit_log.c.seq)
    if action:
        query = query.where(audit_log.c.action == action)
    with world.engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def add_second_admin(world) -> None:
    from review.passwords import hash_password

    create_account(
        world.engine,
        username="admin2",
        role="admin",
        districts=[],
        password_hash=hash_password(PASSWORD, FAST_HASHING),
        created_at=world.clock(),
    )


def admin_post(client, url: str, **data: str):
    token = csrf_from(client.get("/admin/users").text)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def create_nurse_b(client, username: str = "new_nurse"):
    return admin_post(
        client, "/admin/users", username=username, role="nurse", districts=DISTRICT_B, password=NEW_PASSWORD
    )


def test_an_admin_creating_a_nurse_and_signing_in_as_her_sees_no_citizen(world):
    """The reproduced attack: admin creates a nurse for another district and signs in as that nurse."""
    login(world.client, "admin")
    assert create_nurse_b(world.client).status_code == 303
    attacker = world.new_client()
    assert login(attacker, "new_nurse", NEW_PASSWORD).status_code == 401
    assert attacker.get(f"/lists/{LIST_B}", follow_redirects=False).status_code == 303
    [created] = audit_rows(world, "account_created")
    assert (created["username"], created["role"]) == ("admin", "admin")
    detail = json.loads(created["detail"])
    assert detail["account"] == "new_nurse"
    assert detail["pending_approval"] is True
    assert detail["districts"] == [DISTRICT_B]
    account = find_account(world.engine, username="new_nurse")
    assert account.created_by == "admin"
    assert account.approval_pending


def test_the_requesting_admin_cannot_approve_but_a_second_admin_can(world):
    add_second_admin(world)
    login(world.client, "admin")
    create_nurse_b(world.client)
    admin_post(world.client, "/admin/users/new_nurse/approve")
    assert find_account(world.engine, username="new_nurse").approval_pending
    second = world.new_client()
    login(second, "admin2")
    assert admin_post(second, "/admin/users/new_nurse/approve").status_code == 303
    account = find_account(world.engine, username="new_nurse")
    assert (account.approval_pending, account.approved_by) == (False, "admin2")
    [approved] = audit_rows(world, "account_approved")
    assert approved["username"] == "admin2"
    assert json.loads(approved["detail"])["requested_by"] == "admin"
    assert login(world.new_client(), "new_nurse", NEW_PASSWORD).status_code == 303


def test_an_admin_cannot_create_a_second_admin_to_approve_their_own_request(world):
    login(world.client, "admin")
    admin_post(world.client, "/admin/users", username="sock_puppet", role="admin", password=NEW_PASSWORD)
    assert login(world.new_client(), "sock_puppet", NEW_PASSWORD).status_code == 401
    assert find_account(world.engine, username="sock_puppet").approval_pending


def test_deactivation_and_reactivation_are_audited_and_reactivation_needs_approval_again(world):
    login(world.client, "admin")
    admin_post(world.client, "/admin/users/nurse_a/active", active="0")
    admin_post(world.client, "/admin/users/nurse_a/active", active="1")
    actions = [
        (row["action"], row["username"]) for row in audit_rows(world) if row["action"].startswith("account_")
    ]
    assert actions == [("account_deactivated", "admin"), ("account_reactivated", "admin")]
    assert find_account(world.engine, username="nurse_a").approval_pending
    assert login(world.new_client(), "nurse_a").status_code == 401


def test_an_analyst_needs_no_second_admin(world):
    login(world.client, "admin")
    admin_post(
        world.client,
        "/admin/users",
        username="new_analyst",
        role="analyst",
        districts=DISTRICT_B,
        password=NEW_PASSWORD,
    )
    assert login(world.new_client(), "new_analyst", NEW_PASSWORD).status_code == 303


def test_with_four_eyes_switched_off_the_account_works_at_once_and_the_row_says_so(world):
    world = world.reopen(four_eyes=False)
    login(world.client, "admin")
    assert "switched off" in world.client.get("/lang/en?next=/admin/users").text
    create_nurse_b(world.client)
    assert login(world.new_client(), "new_nurse", NEW_PASSWORD).status_code == 303
    [created] = audit_rows(world, "account_created")
    assert json.loads(created["detail"])["four_eyes"] is False


def test_a_failed_audit_write_leaves_no_account(world):
    login(world.client, "admin")
    token = csrf_from(world.client.get("/admin/users").text)
    with world.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE review_audit_log"))
    response = world.client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "ghost",
            "role": "nurse",
            "districts": DISTRICT_B,
            "password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 503
    assert find_account(world.engine, username="ghost") is None


@pytest.mark.parametrize("role", ["nurse", "admin"])
def test_the_command_line_names_the_operator_and_applies_four_eyes(tmp_path, role):
    from click.testing import CliRunner

    from pipelines.cli import cli

    def users(*arguments: str, stdin: str = NEW_PASSWORD + "\n"):
        return CliRunner().invoke(cli, ["--home", str(tmp_path), "users", *arguments], input=stdin)

    first = users("add", "--username", "first_admin", "--role", "admin", "--password-stdin")
    assert first.exit_code == 0, first.output
    districts = ["--district", DISTRICT_B] if role == "nurse" else []
    added = users("add", "--username", "someone", "--role", role, *districts, "--password-stdin")
    assert added.exit_code == 0, added.output
    assert "second admin approves" in added.output
    listed = users("list").output
    assert "first_admin" in listed
    assert (
        "pending" in listed.splitlines()[[line.split()[0] for line in listed.splitlines()].index("someone")]
    )
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    with engine.connect() as connection:
        rows = connection.execute(sa.select(audit_log.c.username, audit_log.c.action)).all()
    assert [action for _user, action in rows] == ["account_created", "account_created"]
    assert all(user.startswith("cli:") for user, _action in rows)
    approved = users("approve", "someone", "--admin", "first_admin", "--password-stdin")
    assert approved.exit_code == 0, approved.output
    verified = CliRunner().invoke(cli, ["--home", str(tmp_path), "audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_a_role_or_district_change_is_audited_ends_sessions_and_waits_for_approval(tmp_path):
    from click.testing import CliRunner

    from pipelines.cli import cli

    def tidlig(*arguments: str, stdin: str = NEW_PASSWORD + "\n"):
        return CliRunner().invoke(cli, ["--home", str(tmp_path), *arguments], input=stdin)

    tidlig("users", "add", "--username", "first_admin", "--role", "admin", "--password-stdin")
    tidlig(
        "users", "add", "--username", "ana", "--role", "analyst", "--district", "101-01", "--password-stdin"
    )
    changed = tidlig("users", "change", "ana", "--role", "nurse", "--district", DISTRICT_B)
    assert changed.exit_code == 0, changed.output
    assert "awaiting approval" in changed.output
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(audit_log.c.username, audit_log.c.detail).where(
                audit_log.c.action == "account_access_changed"
            )
        ).one()
    engine.dispose()
    detail = json.loads(row.detail)
    assert row.username.startswith("cli:")
    assert (detail["role_before"], detail["role"], detail["districts"]) == ("analyst", "nurse", [DISTRICT_B])
    assert detail["pending_approval"] is True
