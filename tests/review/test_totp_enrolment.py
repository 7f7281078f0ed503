"""TOTP for local accounts: secrets are sealed at rest with a key outside the database, and a user sets up
the authenticator app on their own page, confirmed by a code before it counts."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
import sqlalchemy as sa

from review.accounts import find_account, set_totp_secret, update_account
from review.database import alembic_config, create_operational_engine, upgrade_database
from review.tables import audit_log, users
from review.totp import SealedSecretError, open_secret, seal_secret
from tests.review.world import PASSWORD, csrf_from, login, sqlite_url

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
KEY = bytes(range(32, 64))


def login_with_code(client, username: str, code: str):
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "otp": code, "csrf_token": token},
        follow_redirects=False,
    )


def stored(engine, username: str, column: str = "totp_secret"):
    with engine.connect() as connection:
        return connection.execute(sa.select(users.c[column]).where(users.c.username == username)).scalar()


def test_a_sealed_secret_opens_only_for_its_own_account_slot_and_key():
    sealed = seal_secret(KEY, 7, SECRET)
    assert SECRET not in sealed
    assert open_secret(KEY, 7, sealed) == SECRET
    for wrong in (
        lambda: open_secret(KEY, 8, sealed),  # copied onto another account
        lambda: open_secret(bytes(32), 7, sealed),  # another installation's key
        lambda: open_secret(KEY, 7, sealed, "pending"),  # a pending secret moved into the active slot
        lambda: open_secret(KEY, 7, SECRET),  # clear text
        lambda: open_secret(KEY, 7, sealed[:-4] + "AAAA"),  # altered
    ):
        with pytest.raises(SealedSecretError):
            wrong()


def test_the_database_never_holds_the_secret_in_clear(world):
    set_totp_secret(world.engine, "nurse_a", world.config.totp_key, SECRET)
    value = stored(world.engine, "nurse_a")
    assert value.startswith("v1:")
    assert SECRET not in value
    assert login_with_code(world.client, "nurse_a", pyotp.TOTP(SECRET).at(world.clock())).status_code == 303


def test_a_secret_planted_in_clear_by_someone_with_database_access_does_not_let_them_in(world):
    update_account(world.engine, "nurse_a", end_sessions=True, totp_secret=SECRET)
    assert login_with_code(world.client, "nurse_a", pyotp.TOTP(SECRET).at(world.clock())).status_code == 401
    assert login(world.new_client(), "nurse_a").status_code == 401  # nor does leaving the code out


def test_a_sealed_secret_copied_from_another_account_does_not_open(world):
    set_totp_secret(world.engine, "nurse_b", world.config.totp_key, SECRET)
    update_account(world.engine, "nurse_a", end_sessions=True, totp_secret=stored(world.engine, "nurse_b"))
    assert login_with_code(world.client, "nurse_a", pyotp.TOTP(SECRET).at(world.clock())).status_code == 401


def manual_key(html: str) -> str:
    match = re.search(r'<code id="manual-key">([A-Z2-7 ]+)</code>', html)
    assert match, "the page shows no key"
    return match.group(1).replace(" ", "")


def test_a_user_sets_up_the_app_on_their_page_and_it_counts_only_after_a_code(world):
    assert login(world.client, "nurse_a").status_code == 303
    page = world.client.get("/account/totp")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    secret = manual_key(page.text)
    assert f"otpauth://totp/Tidlig:nurse_a?secret={secret}" in page.text
    assert find_account(world.engine, username="nurse_a").has_totp is False  # pending only
    pending = stored(world.engine, "nurse_a", "totp_pending_secret")
    assert pending.startswith("v1:")
    assert secret not in pending

    token = csrf_from(page.text)
    wrong = world.client.post(
        "/account/totp", data={"csrf_token": token, "otp": "000000"}, follow_redirects=False
    )
    assert wrong.headers["location"] == "/account/totp?state=wrong_code"
    assert find_account(world.engine, username="nurse_a").has_totp is False
    again = world.client.get("/account/totp?state=wrong_code")
    assert manual_key(again.text) != secret  # shown once: a retry gets a new key
    secret = manual_key(again.text)

    confirmed = world.client.post(
        "/account/totp",
        data={"csrf_token": token, "otp": pyotp.TOTP(secret).at(world.clock())},
        follow_redirects=False,
    )
    assert confirmed.headers["location"] == "/account/totp?state=enrolled"
    assert find_account(world.engine, username="nurse_a").has_totp is True
    assert stored(world.engine, "nurse_a", "totp_pending_secret") is None
    after = world.client.get("/account/totp?state=enrolled")
    assert "manual-key" not in after.text  # the active secret is never shown again
    with world.engine.connect() as connection:
        row = connection.execute(
            sa.select(audit_log.c.username, audit_log.c.action).order_by(audit_log.c.seq.desc()).limit(5)
        ).all()
    assert ("nurse_a", "account_totp_enrolled") in [tuple(r) for r in row]

    assert login(world.new_client(), "nurse_a").status_code == 401  # the password alone no longer does
    world.clock.advance(dt.timedelta(seconds=30))
    code = pyotp.TOTP(secret).at(world.clock())
    assert login_with_code(world.new_client(), "nurse_a", code).status_code == 303


def test_the_page_needs_a_signed_in_user_and_its_form_a_csrf_token(world):
    assert world.client.get("/account/totp", follow_redirects=False).status_code in (303, 307)
    login(world.client, "nurse_a")
    world.client.get("/account/totp")
    refused = world.client.post("/account/totp", data={"otp": "123456"}, follow_redirects=False)
    assert refused.status_code == 403


def test_migration_0003_seals_secrets_stored_in_clear_and_refuses_without_the_key(tmp_path):
    from alembic import command

    engine = create_operational_engine(sqlite_url(tmp_path / "operational.sqlite"))
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.execute(
            sa.text(
                "INSERT INTO review_users (username, role, districts, auth_provider, active, created_at, "
                "approval_pending, totp_secret) VALUES ('old', 'nurse', '[]', 'local', 1, "
                "'2024-01-01 00:00:00', 0, :secret)"
            ),
            {"secret": SECRET},
        )
    with pytest.raises(RuntimeError, match="stored in clear"):
        upgrade_database(engine)
    assert stored(engine, "old") == SECRET  # refused as a whole: nothing half-migrated
    upgrade_database(engine, totp_key=KEY)
    value = stored(engine, "old")
    assert value.startswith("v1:")
    account = find_account(engine, username="old")
    assert open_secret(KEY, account.user_id, value) == SECRET
    engine.dispose()
