"""Prefect flows and the `tidlig` CLI: the wiring that reads, calls and writes. Logic lives elsewhere."""
