"""Files only the service account may read: folders 0700, files 0600, secret keys from the environment or a
0600 key file.

SQLite creates its ``-wal`` and ``-shm`` files with the database file's permissions, so creating the
database file 0600 before the first connection covers them too.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

PRIVATE_DIRECTORY_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
KEY_BYTES = 32


def private_directory(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY_MODE)
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
