"""warehouse layer (see DEVELOPERS.md): Parquet + DuckDB catalog, atomic landing, bitemporal reads."""

from warehouse.store import (
    RELEASED,
    AlreadyIngestedError,
    BatchRecord,
    CatalogBusyError,
    PseudonymKeyMismatchError,
    Warehouse,
)

__all__ = [
    "RELEASED",
    "AlreadyIngestedError",
    "BatchRecord",
    "CatalogBusyError",
    "PseudonymKeyMismatchError",
    "Warehouse",
]
