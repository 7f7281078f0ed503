"""Files only the service account may read: folders 0700, files 0600, secret keys from the environment or a
0600 key file.

Every Tidlig process writes under ``umask 077`` (:func:`restrict_new_files`, set by the ``tidlig`` command
before anything is written), so files that libraries create (DuckDB, Parquet, SQLite, MLflow artifacts,
Prefect's database) are 0600 in 0700 folders too. :func:`private_home` makes the data home 0700 and
tightens a home created before this rule. The key store, the operational database and the key files are
also created 0600 explicitly (:func:`private_file`, :func:`private_sqlite_file`), so they stay private in a
process that did not set the umask (a notebook, a Prefect worker).

SQLite creates its ``-wal`` and ``-shm`` files with the database file's permissions, so creating the
database file 0600 before the first connection covers them too.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

PRIVATE_DIRECTORY_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_UMASK = 0o077
KEY_BYTES = 32
_SQLITE_URL = re.compile(r"sqlite(\+\w+)?:///(?P<database>[^?]*)")


def restrict_new_files() -> int:
    """Set the process umask to 077 (new files 0600, new folders 0700); return the previous umask."""
    return os.umask(PRIVATE_UMASK)


def private_directory(path: Path) -> Path:
    """Create ``path`` and make it 0700; parents it has to create are 0700 too (existing ones are left)."""
    missing = []
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        missing.append(ancestor)
        ancestor = ancestor.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True, mode=PRIVATE_DIRECTORY_MODE)
        folder.chmod(PRIVATE_DIRECTORY_MODE)  # mkdir's mode passes through the umask
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIRECTORY_MODE:
        path.chmod(PRIVATE_DIRECTORY_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if missing (0600 from the first byte, in a 0700 folder); existing files are
    tightened to 0600."""
    private_directory(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
    os.close(descriptor)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_FILE_MODE:
        path.chmod(PRIVATE_FILE_MODE)
    return path


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL; None for another database, memory or a ``file:`` URI."""
    match = _SQLITE_URL.match(url)
    if match is None:
        return None
    database = match["database"]
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def private_sqlite_file(url: str) -> Path | None:
    """Create the SQLite database file of ``url`` 0600 in a 0700 folder before SQLite first opens it
    (its journal files inherit the mode); nothing for other databases. Returns the file, if any."""
    path = sqlite_path(url)
    return private_file(path) if path is not None else None


def tighten_tree(root: Path) -> int:
    """Remove group and other access from ``root`` and everything below it (a 0755 folder becomes 0700, a
    0644 file 0600; symbolic links are not followed); return how many paths were changed."""
    changed = 0
    for folder, folders, files in os.walk(root):
        here = Path(folder)
        for path in [here, *(here / entry for entry in folders + files)]:
            try:
                info = path.lstat()
            except FileNotFoundError:  # removed meanwhile (a temporary file)
                continue
            if stat.S_ISLNK(info.st_mode) or not stat.S_IMODE(info.st_mode) & PRIVATE_UMASK:
                continue
            path.chmod(stat.S_IMODE(info.st_mode) & ~PRIVATE_UMASK)
            changed += 1
    return changed


def private_home(home: Path) -> int:
    """Create the data home 0700; a home that was more open (made before this rule) has group and other
    access removed from everything in it. Returns how many paths were tightened."""
    if not home.is_dir():
        private_directory(home)
        return 0
    if not stat.S_IMODE(home.stat().st_mode) & PRIVATE_UMASK:
        return 0
    return tighten_tree(home)


def secret_key(path: Path, from_environment: str | None = None) -> bytes:
    """A 256-bit key: ``from_environment`` (hex) when given, else the key file at ``path`` (created 0600
    with a fresh random key the first time).

    Raises ValueError naming the file (never the key) if the key is malformed.
    """
    if from_environment:
        try:
            key = bytes.fromhex(from_environment.strip())
        except ValueError:
            raise ValueError(
                "The key given in the environment is not hex; use `openssl rand -hex 32`."
            ) from None
        if len(key) < KEY_BYTES:
            raise ValueError(f"The key given in the environment is shorter than {KEY_BYTES} bytes.")
        return key
    private_file(path)
    text = path.read_text(encoding="ascii").strip()
    if not text:
        text = secrets.token_hex(KEY_BYTES)
        temporary = path.with_name(path.name + ".new")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"The key file {path} is not hex; restore it from the backup.") from None
