"""Changing the pseudonymisation key on purpose: the one documented way past the key-fingerprint check.

Pseudonyms from two keys would split every citizen in two, and the warehouse holds no CPR numbers to
re-pseudonymise from. So a rotation starts a new warehouse generation: after proving the current key (its
fingerprint must match the warehouse's), the current warehouse is retired whole (renamed, kept for the
record, nothing deleted), a fresh catalog records the new key's fingerprint and the rotation, and the next
`tidlig ingest` takes every delivery again from the landing folder and the care database with the new key.
See docs/production.md, "Rotating the key".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data_contracts.pseudonym import check_pseudonym_key, key_fingerprint
from warehouse import PseudonymKeyMismatchError, Warehouse


@dataclass(frozen=True)
class Rotation:
    """What a rotation did (fingerprints only, never keys)."""

    retired_dir: Path
    old_fingerprint: str
    new_fingerprint: str
    new_key_version: str


def rotate_pseudonym_key(
    warehouse_dir: Path,
    *,
    current_key: str,
    current_version: str,
    new_key: str,
    new_version: str,
    demo: bool,
    demo_key: str,
) -> Rotation:
    """Retire the warehouse filled with ``current_key`` and start a new one for ``new_key``.

    Raises PseudonymKeyMismatchError when ``current_key`` is not the warehouse's key (only the holder of
    the current key may rotate), PseudonymKeyError for a weak new key, ValueError when nothing changes.
    """
    check_pseudonym_key(new_key, demo=demo, demo_key=demo_key)
    old_fingerprint, new_fingerprint = key_fingerprint(current_key), key_fingerprint(new_key)
    if old_fingerprint == new_fingerprint:
        raise ValueError("The new key is the current key; nothing to rotate.")
    if new_version == current_version:
        raise ValueError(f"Give the new key a new version (the current one is {current_version}).")
    store = Warehouse(warehouse_dir)
    stamp = pd.Timestamp.now(tz="UTC").tz_localize(None)
    retired_dir = warehouse_dir.with_name(
        f"{warehouse_dir.name}.retired-{current_version}-{stamp.strftime('%Y%m%dT%H%M%S')}"
    )
    with store.writer_lock():
        active = store.active_key()
        if active is None and not len(store.batches()):
            raise ValueError(f"The warehouse {warehouse_dir} is empty; set the new key and ingest.")
        store.verify_key(old_fingerprint, current_version)
        if active is None:
            store.register_key(old_fingerprint, current_version, note="recorded at rotation")
        store.retire_key(
            old_fingerprint,
            note=f"rotated to key version {new_version} ({new_fingerprint}); warehouse kept at {retired_dir}",
        )
    warehouse_dir.rename(retired_dir)
    fresh = Warehouse(warehouse_dir)
    with fresh.writer_lock():
        fresh.register_key(
            new_fingerprint,
            new_version,
            note=f"rotated from key version {current_version} ({old_fingerprint}); previous warehouse at "
            f"{retired_dir}",
        )
    return Rotation(retired_dir, old_fingerprint, new_fingerprint, new_version)


__all__ = ["PseudonymKeyMismatchError", "Rotation", "rotate_pseudonym_key"]
