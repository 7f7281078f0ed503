"""Audit chain anchors outside the database: an append-only file of signed ``(seq, row_hash)`` checkpoints.

Anyone who can write to the operational database can rewrite the whole chain consistently, cut its tail
or empty the table; the chain alone cannot show that. Every ``every``-th audit row (every row by default)
is therefore also appended to this file with an HMAC-SHA256 made with a key that lives outside the
database (environment variable or a 0600 key file). ``tidlig audit verify`` compares the database with the
anchors: a rewritten chain no longer matches an anchored hash, a cut tail or an emptied table misses an
anchored row, and rows after the last anchor that should have been anchored are rows written without the
key (forged).

Put the file on storage the database administrator cannot write (``chattr +a``, a separate host, or a log
sink that ships each line) so that the file itself cannot be cut back; see docs/production.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from privacy.files import PRIVATE_FILE_MODE, private_directory


class AnchorFileError(ValueError):
    """The anchor file itself is damaged or forged (a line without a valid signature)."""


@dataclass(frozen=True)
class Anchor:
    """One signed checkpoint of the chain."""

    seq: int
    row_hash: str
    anchored_at: str


def _signature(key: bytes, seq: int, row_hash: str, anchored_at: str) -> str:
    message = f"tidlig-audit-anchor-v1|{seq}|{row_hash}|{anchored_at}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class AnchorFile:
    """Appends and reads signed anchors at ``path`` (created 0600 in a 0700 folder)."""

    def __init__(self, path: Path, key: bytes, every: int = 1) -> None:
        if every < 1:
            raise ValueError("Anchor every N rows needs N >= 1.")
        self.path = path
        self.every = every
        self._key = key

    def due(self, seq: int) -> bool:
        """True if row ``seq`` must be anchored."""
        return seq % self.every == 0

    def append(self, seq: int, row_hash: str, anchored_at: dt.datetime) -> None:
        """Append one anchor line and fsync it (one ``write`` on an O_APPEND descriptor, so lines from
        several processes never interleave)."""
        moment = anchored_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        line = json.dumps(
            {
                "seq": seq,
                "row_hash": row_hash,
                "anchored_at": moment,
                "signature": _signature(self._key, seq, row_hash, moment),
            },
            separators=(",", ":"),
        )
        private_directory(self.path.parent)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
        try:
            os.write(descriptor, (line + "\n").encode("ascii"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def read(self) -> list[Anchor]:
        """Every anchor in the file (none if it does not exist yet).

        Raises :class:`AnchorFileError` naming the line number if a line is malformed or its signature
        does not verify with the key.
        """
        if not self.path.exists():
            return []
        anchors = []
        with self.path.open(encoding="ascii", errors="replace") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                    seq, row_hash, moment = (
                        int(record["seq"]),
                        str(record["row_hash"]),
                        str(record["anchored_at"]),
                    )
                    signature = str(record["signature"])
                except (ValueError, KeyError, TypeError):
                    raise AnchorFileError(f"{self.path}: line {number} is not an anchor.") from None
                if not hmac.compare_digest(signature, _signature(self._key, seq, row_hash, moment)):
                    raise AnchorFileError(
                        f"{self.path}: line {number} has no valid signature (forged, or a different key)."
                    )
                anchors.append(Anchor(seq, row_hash, moment))
        return anchors
