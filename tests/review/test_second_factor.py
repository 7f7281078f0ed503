"""Finding 4 (local accounts): a TOTP second factor and a password check against weak passwords."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
import sqlalchemy as sa

from review.accounts import find_account, set_totp_secret
from review.passwords import WeakPasswordError, check_password_strength
from review.tables import users
from tests.review.world import PASSWORD, csrf_from, login

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def login_with_code(client, username: str, code: str, password: str = PASSWORD):
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "otp": code, "csrf_token": token},
        follow_redirects=False,
    )


@pytest.fixture
def enrolled(world):
    set_totp_secret(world.engine, "nurse_a", world.config.totp_key, SECRET)
    return world


def test_an_enrolled_account_needs_the_current_code(enrolled):
    world = enrolled
    assert login(world.client, "nurse_a").status_code == 401  # the password alone is not enough
    assert login_with_code(world.client, "nurse_a", "000000").status_code == 401
    code = pyotp.TOTP(SECRET).at(world.clock())
    assert login_with_code(world.client, "nurse_a", code).status_code == 303


def test_a_code_cannot_be_used_twice(enrolled):
    world = enrolled
    code = pyotp.TOTP(SECRET).at(world.clock())
    assert login_with_code(world.client, "nurse_a", code).status_code == 303
    assert login_with_code(world.new_client(), "nurse_a", code).status_code == 401
    world.clock.advance(dt.timedelta(seconds=30))
    assert (
        login_with_code(world.new_client(), "nurse_a", pyotp.TOTP(SECRET).at(world.clock())).status_code
        == 303
    )


def test_a_wrong_code_with_the_right_password_counts_as_a_failure(enrolled):
    world = enrolled
    for _ in range(5):
        login_with_code(world.client, "nurse_a", "123456")
    assert login_with_code(world.client, "nurse_a", pyotp.TOTP(SECRET).at(world.clock())).status_code == 429


def test_when_required_an_account_without_a_second_factor_cannot_sign_in(world):
    world = world.reopen(require_totp=True)
    response = login(world.client, "gp_a")
    assert response.status_code == 401
    assert "tidlig users totp" in response.text


def test_tidlig_users_totp_enrols_and_prints_an_otpauth_uri(tmp_path):
    from click.testing import CliRunner

    from pipelines.cli import cli
    from review.database import create_operational_engine

    def tidlig(*arguments: str, stdin: str | None = None):
        return CliRunner().invoke(cli, ["--home", str(tmp_path), *arguments], input=stdin)

    tidlig(
        "users",
        "add",
        "--username",
        "first_admin",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    enrolled = tidlig("users", "totp", "first_admin")
    assert enrolled.exit_code == 0, enrolled.output
    assert enrolled.output.startswith("otpauth://totp/Tidlig:first_admin?secret=")
    secret = enrolled.output.split("secret=")[1].split("&")[0]
    engine = create_operational_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    assert find_account(engine, username="first_admin").has_totp
    with engine.connect() as connection:
        stored = connection.execute(sa.select(users.c.totp_secret)).scalar()
    assert stored.startswith("v1:")
    assert secret not in stored
    assert (tmp_path / "secrets" / "totp.key").stat().st_mode & 0o777 == 0o600
    engine.dispose()


@pytest.mark.parametrize(
    "password",
    ["aaaaaaaaaaaa", "password1234", "kodeord12345", "sommer2024!!", "nurse_a12345"],
)
def test_common_and_guessable_passwords_are_refused_whatever_their_length(password):
    with pytest.raises(WeakPasswordError):
        check_password_strength(password, user_inputs=("nurse_a",))


def test_a_long_passphrase_is_accepted():
    check_password_strength("violet tractor harbour lamp")


def test_the_admin_form_refuses_a_weak_password(world):
    login(world.client, "admin")
    token = csrf_from(world.client.get("/admin/users").text)
    response = world.client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "weak",
            "role": "analyst",
            "districts": "101-01",
            "password": "aaaaaaaaaaaa",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/admin/users?error=error_password"
    assert find_account(world.engine, username="weak") is None
