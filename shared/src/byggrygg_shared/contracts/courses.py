"""Contracts of the courses service (filled in by issue 4)."""
