"""Finding 7 (the review app's part): the operational database and everything the app creates in the home
are 0600 in 0700 folders; secrets come from the environment or 0600 key files."""

from __future__ import annotations

import stat

import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from privacy.files import secret_key


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_operational_database_its_wal_the_keys_and_the_anchors_are_private(tmp_path):
    home = tmp_path / "home"
    added = CliRunner().invoke(
        cli,
        [
            "--home",
            str(home),
            "users",
            "add",
            "--username",
            "first_admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="violet tractor harbour lamp\n",
    )
    assert added.exit_code == 0, added.output
    created = [
        home / "operational.sqlite",
        home / "secrets" / "audit-anchor.key",
        home / "secrets" / "login-records.key",
        home / "audit" / "anchors.jsonl",
    ]
    wal = list(home.glob("operational.sqlite-*"))
    for path in created + wal:
        assert mode(path) == 0o600, path.name
        assert mode(path.parent) == 0o700, path.parent.name


def test_an_existing_world_readable_database_is_tightened(tmp_path):
    from review.database import create_operational_engine

    path = tmp_path / "operational.sqlite"
    path.touch(mode=0o644)
    path.chmod(0o644)
    create_operational_engine(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600


def test_a_key_from_the_environment_wins_and_a_malformed_one_is_refused(tmp_path):
    assert secret_key(tmp_path / "unused.key", "ab" * 32) == bytes.fromhex("ab" * 32)
    assert not (tmp_path / "unused.key").exists()
    with pytest.raises(ValueError, match="not hex"):
        secret_key(tmp_path / "unused.key", "not a key")
    first = secret_key(tmp_path / "k" / "file.key")
    assert secret_key(tmp_path / "k" / "file.key") == first
    assert len(first) == 32
