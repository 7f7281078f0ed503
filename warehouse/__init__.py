"""warehouse layer (see DEVELOPERS.md): Parquet + DuckDB catalog, atomic landing, bitemporal reads."""

from warehouse.store import AlreadyIngestedError, BatchRecord, CatalogBusyError, Warehouse

__all__ = ["AlreadyIngestedError", "BatchRecord", "CatalogBusyError", "Warehouse"]
