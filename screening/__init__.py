"""screening layer (see DEVELOPERS.md)."""
