"""`tidlig users` and `tidlig audit` on a real operational database."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from click.testing import CliRunner

from pipelines.cli import cli
from privacy.files import secret_key
from review.anchors import AnchorFile
from review.app import create_app
from review.audit import AuditEvent, AuditLog
from review.config import ReviewConfig
from review.database import create_operational_engine


def home_anchors(home) -> AnchorFile:
    """The anchor file and key `tidlig --home HOME` uses (default locations, key file created once)."""
    return AnchorFile(home / "audit" / "anchors.jsonl", secret_key(home / "secrets" / "audit-anchor.key"))


def run(home, *arguments, stdin: str | None = None):
    return CliRunner().invoke(cli, ["--home", str(home), *arguments], input=stdin)


def test_users_add_stores_an_argon2_hash_and_users_list_shows_the_user(tmp_path):
    added = run(
        tmp_path,
        "users",
        "add",
        "--username",
        "Nurse1",
        "--role",
        "nurse",
        "--district",
        "101-01",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert added.exit_code == 0, added.output
    listed = run(tmp_path, "users", "list")
    assert "nurse1" in listed.output
    assert "101-01" in listed.output
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT password_hash FROM review_users")).scalar_one()
    assert stored.startswith("$argon2id$")


def test_users_add_refuses_a_short_password_and_a_missing_district(tmp_path):
    short = run(
        tmp_path,
        "users",
        "add",
        "--username",
        "n",
        "--role",
        "nurse",
        "--district",
        "101-01",
        "--password-stdin",
        stdin="short\n",
    )
    assert short.exit_code != 0
    no_district = run(
        tmp_path,
        "users",
        "add",
        "--username",
        "nurse2",
        "--role",
        "nurse",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert no_district.exit_code != 0
    assert "district" in no_district.output


def test_audit_verify_passes_then_fails_after_tampering(tmp_path):
    url = f"sqlite:///{tmp_path / 'operational.sqlite'}"
    create_app(ReviewConfig(operational_db_url=url, keystore_url=url))
    engine = create_operational_engine(url)
    log = AuditLog(engine, lambda: dt.datetime(2024, 1, 1, tzinfo=dt.UTC), home_anchors(tmp_path))
    for number in range(3):
        log.append(AuditEvent("nurse_a", "nurse", "101-01", "list_view", "care_follow_up", f"list-{number}"))
    intact = run(tmp_path, "audit", "verify")
    assert intact.exit_code == 0
    assert "3 rows" in intact.output
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TRIGGER review_audit_log_no_update"))
        connection.execute(sa.text("UPDATE review_audit_log SET username = 'x' WHERE seq = 2"))
    broken = run(tmp_path, "audit", "verify")
    assert broken.exit_code == 1
    assert "row 2" in broken.output
    shown = run(tmp_path, "audit", "show", "--user", "nurse_a")
    assert "list-0" in shown.output


def test_every_command_has_help():
    for arguments in (
        ["review"],
        ["users", "add"],
        ["users", "list"],
        ["audit", "verify"],
        ["audit", "show"],
        ["audit", "grant-app-role"],
        ["users", "approve"],
        ["users", "change"],
        ["users", "activate"],
        ["users", "deactivate"],
        ["users", "totp"],
        ["users", "purge-login-records"],
    ):
        assert CliRunner().invoke(cli, [*arguments, "--help"]).exit_code == 0


def test_an_unreadable_triage_mapping_stops_the_app_with_what_to_write(tmp_path, monkeypatch):
    monkeypatch.setenv("TIDLIG_REVIEW_TRIAGE", "red=high")
    result = run(tmp_path, "review", "--port", "8799")
    assert result.exit_code == 1
    assert "TIDLIG_REVIEW_TRIAGE" in result.output
    assert "write for example red=0.40" in result.output
    assert "Traceback" not in result.output
