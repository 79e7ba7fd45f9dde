"""scales layer."""
