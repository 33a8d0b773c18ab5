"""Contracts of the consent service: correspondence and complaints (filled in by issue 4)."""
