"""Sign-in and sign-out are audited in the hash chain, before the response, without any password."""

from __future__ import annotations

import json

import sqlalchemy as sa
from click.testing import CliRunner

from pipelines.cli import cli
from review.sessions import session_reference
from review.tables import audit_log, sessions
from review.web_auth import UNKNOWN_USERNAME
from tests.review.world import ANCHOR_KEY, DISTRICT_A, PASSWORD, csrf_from, login

WRONG_PASSWORD = "wrong password!!"


def audit_rows(world) -> list[dict]:
    with world.engine.connect() as connection:
        rows = connection.execute(sa.select(audit_log).order_by(audit_log.c.seq)).mappings()
        return [dict(row) for row in rows]


def session_count(world) -> int:
    with world.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(sessions)).scalar_one()


def log_out(client) -> object:
    token = csrf_from(client.get("/lists").text)
    return client.post("/logout", data={"csrf_token": token}, follow_redirects=False)


def test_a_successful_sign_in_writes_one_row_naming_the_user_and_the_session(world):
    response = login(world.client, "nurse_a")
    assert response.status_code == 303
    [row] = audit_rows(world)
    assert (row["action"], row["purpose"]) == ("login", "authentication")
    assert (row["username"], row["role"], row["unit"]) == ("nurse_a", "nurse", DISTRICT_A)
    assert json.loads(row["person_keys"]) == []
    assert row["list_id"] is None
    detail = json.loads(row["detail"])
    assert detail["session"] == session_reference(world.client.cookies.get("tidlig_session"))
    assert detail["client_ip"] == "testclient"


def test_a_failed_sign_in_of_a_staff_account_names_the_account_but_never_the_password(world):
    assert login(world.client, "nurse_a", WRONG_PASSWORD).status_code == 401
    [row] = audit_rows(world)
    assert (row["action"], row["username"], row["role"]) == ("login_failed", "nurse_a", "nurse")
    assert json.loads(row["detail"])["reason"] == "bad_credentials"
    assert WRONG_PASSWORD not in json.dumps(row)


def test_a_failed_sign_in_with_an_unknown_username_records_it_as_unknown(world):
    typed = "correct horse battery staple"  # e.g. a password typed into the username field
    assert login(world.client, typed, WRONG_PASSWORD).status_code == 401
    [row] = audit_rows(world)
    assert (row["action"], row["username"], row["role"], row["unit"]) == (
        "login_failed",
        UNKNOWN_USERNAME,
        "unknown",
        "",
    )
    assert json.loads(row["detail"])["reason"] == "unknown_user"
    assert typed not in json.dumps(row)
    assert WRONG_PASSWORD not in json.dumps(row)


def test_a_sign_in_of_a_deactivated_account_is_audited_as_failed(world):
    from review.accounts import set_active

    set_active(world.engine, "nurse_a", False)
    assert login(world.client, "nurse_a").status_code == 401
    [row] = audit_rows(world)
    assert (row["action"], row["username"]) == ("login_failed", "nurse_a")
    assert json.loads(row["detail"])["reason"] == "inactive_account"
    assert PASSWORD not in json.dumps(row)


def test_a_throttled_attempt_is_audited_without_the_password(world):
    for _ in range(5):
        login(world.client, "nurse_a", WRONG_PASSWORD)
    assert login(world.client, "nurse_a").status_code == 429
    rows = audit_rows(world)
    assert [row["action"] for row in rows] == ["login_failed"] * 5 + ["login_throttled"]
    assert rows[-1]["username"] == "nurse_a"
    assert PASSWORD not in json.dumps(rows)


def test_sign_out_writes_a_row_naming_the_user_and_the_session(world):
    login(world.client, "gp_a")
    session = session_reference(world.client.cookies.get("tidlig_session"))
    assert log_out(world.client).status_code == 303
    row = audit_rows(world)[-1]
    assert (row["action"], row["username"], row["role"]) == ("logout", "gp_a", "gp")
    assert json.loads(row["detail"])["session"] == session
    assert session_count(world) == 0


def test_sign_in_answers_503_and_creates_no_session_when_the_audit_log_cannot_be_written(world):
    with world.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE review_audit_log"))
    response = login(world.client, "nurse_a")
    assert response.status_code == 503
    assert "tidlig_session" not in response.headers.get("set-cookie", "")
    assert world.client.cookies.get("tidlig_session") is None
    assert session_count(world) == 0


def test_sign_out_ends_the_session_even_when_the_audit_log_cannot_be_written(world):
    login(world.client, "nurse_a")
    token = csrf_from(world.client.get("/lists").text)
    with world.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE review_audit_log"))
    response = world.client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 503
    assert session_count(world) == 0


def test_the_chain_with_sign_in_rows_verifies_in_the_app_and_with_tidlig_audit_verify(world, tmp_path):
    login(world.client, "nurse_a", WRONG_PASSWORD)
    login(world.client, "no_such_user", WRONG_PASSWORD)
    login(world.client, "nurse_a")
    log_out(world.client)
    report = world.services.audit.verify()
    assert report.ok
    actions = [row["action"] for row in audit_rows(world)]
    assert actions == ["login_failed", "login_failed", "login", "logout"]
    assert report.rows == len(actions)
    result = CliRunner().invoke(
        cli,
        ["--home", str(tmp_path), "audit", "verify"],
        env={
            "TIDLIG_OPERATIONAL_DB_URL": world.config.operational_db_url,
            "TIDLIG_AUDIT_ANCHOR_KEY": ANCHOR_KEY.hex(),
        },
    )
    assert result.exit_code == 0, result.output
    assert f"{report.rows} rows" in result.output
    assert report.head_hash in result.output
