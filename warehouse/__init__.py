"""warehouse layer (see DEVELOPERS.md)."""
