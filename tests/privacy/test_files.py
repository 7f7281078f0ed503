"""Finding 7 / deliver 8: the home's databases, key store, keys and exports are 0600 in 0700 folders, whatever
the umask the process started with; secrets come from the environment or 0600 key files. The whole chain's
files: tests/pipelines/test_demo.py."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from privacy.files import (
    private_directory,
    private_home,
    private_sqlite_file,
    restrict_new_files,
    secret_key,
    sqlite_path,
    tighten_tree,
)


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


@pytest.fixture
def common_umask():
    """Run the test under umask 022 (a common default), so modes are the code's doing."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_restrict_new_files_makes_new_files_0600_and_folders_0700(tmp_path, common_umask):
    previous = restrict_new_files()
    try:
        (tmp_path / "folder").mkdir()
        (tmp_path / "folder" / "file.parquet").write_bytes(b"x")
    finally:
        os.umask(previous)
    assert previous == 0o022
    assert mode(tmp_path / "folder") == 0o700
    assert mode(tmp_path / "folder" / "file.parquet") == 0o600


def test_a_private_directory_makes_the_parents_it_creates_private_too(tmp_path, common_umask):
    existing = tmp_path / "existing"
    existing.mkdir()
    private_directory(existing / "a" / "b" / "c")
    assert [mode(existing / part) for part in ("a", "a/b", "a/b/c")] == [0o700] * 3
    assert mode(existing) == 0o755  # an existing parent is left as it was


def test_an_older_home_is_tightened_throughout_and_a_private_one_is_left_alone(tmp_path, common_umask):
    home = tmp_path / "home"
    (home / "warehouse" / "cpr_population").mkdir(parents=True)
    (home / "warehouse" / "cpr_population" / "part.parquet").write_bytes(b"x")
    (home / "run.sh").write_text("#!/bin/sh\n")
    (home / "run.sh").chmod(0o755)
    outside = tmp_path / "outside"
    outside.mkdir()
    (home / "link").symlink_to(outside)
    assert private_home(home) == 5  # home, warehouse, its folder, the Parquet file, the script
    assert mode(home) == mode(home / "warehouse") == 0o700
    assert mode(home / "warehouse" / "cpr_population" / "part.parquet") == 0o600
    assert mode(home / "run.sh") == 0o700  # its owner keeps execute
    assert mode(outside) == 0o755  # the link was not followed
    (home / "new.csv").write_text("x")  # 0644, but inside a 0700 home nobody else can reach it
    assert private_home(home) == 0
    assert tighten_tree(home) == 1


def test_the_tidlig_command_writes_under_umask_077_and_restores_the_callers_umask(tmp_path, common_umask):
    home = tmp_path / "home"
    (home / "lists").mkdir(parents=True)
    (home / "lists" / "old.csv").write_text("x")
    result = CliRunner().invoke(cli, ["--home", str(home), "contracts", "list"])
    assert result.exit_code == 0, result.output
    assert "Made 3 files and folders" in result.output
    assert mode(home / "lists" / "old.csv") == 0o600
    assert os.umask(0o022) == 0o022  # restored after the command


def test_sqlite_urls_name_their_file_and_other_databases_none():
    assert sqlite_path("sqlite:////srv/tidlig/keystore.sqlite") == Path("/srv/tidlig/keystore.sqlite")
    assert sqlite_path("sqlite+pysqlite:///rel.db?timeout=5") == Path("rel.db")
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("postgresql+psycopg://app@db/tidlig") is None
    assert private_sqlite_file("postgresql+psycopg://app@db/tidlig") is None


def test_the_key_store_and_the_operational_database_are_created_private(tmp_path, common_umask):
    import pandas as pd

    from data_contracts.keystore import write_identities
    from screening.store import operational_engine

    keystore = tmp_path / "keys" / "keystore.sqlite"
    rows = pd.DataFrame([{"person_key": "p1", "key_version": "k1", "cpr": "0101401234", "name": "Ida"}])
    write_identities(f"sqlite:///{keystore}", rows)
    operational_engine(f"sqlite:///{tmp_path / 'db' / 'operational.sqlite'}").dispose()
    for path in (keystore, tmp_path / "db" / "operational.sqlite"):
        assert mode(path) == 0o600, path.name
        assert mode(path.parent) == 0o700, path.parent.name
