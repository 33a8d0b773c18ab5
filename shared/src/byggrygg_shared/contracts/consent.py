"""Contracts of the consent service: newsletter, cookies, policy versions (filled in by issue 4)."""
