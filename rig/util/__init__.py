"""Helpers with no domain of their own: bounded memo tables, terminal progress bars."""
