"""data_contracts layer (see DEVELOPERS.md)."""
