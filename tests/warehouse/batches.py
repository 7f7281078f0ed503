"""The catalog record of a landed weights batch, shared by the warehouse tests."""

from __future__ import annotations

import pandas as pd

from warehouse import BatchRecord


def weights_batch(batch_id: str, sha: str, delivered_at: str, rows: int = 2) -> BatchRecord:
    """A landed batch of table ``weights`` with this content hash, delivery date and row count."""
    return BatchRecord(
        batch_id=batch_id,
        source="weights",
        delivery=delivered_at,
        content_sha256=sha,
        rows=rows,
        contract_version="1.0.0",
        delivered_at=pd.Timestamp(delivered_at),
        ingested_at=pd.Timestamp("2026-01-01"),
        status="landed",
        table_name="weights",
        key_version="test-1",
    )
