"""models layer (see DEVELOPERS.md)."""
