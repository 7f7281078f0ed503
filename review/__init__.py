"""review layer (see DEVELOPERS.md)."""
