"""Consent's command handlers and queries: load, decide, append, project (one transaction)."""
