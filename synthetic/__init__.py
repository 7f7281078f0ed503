"""synthetic layer (see DEVELOPERS.md)."""
