"""features layer (see DEVELOPERS.md)."""
