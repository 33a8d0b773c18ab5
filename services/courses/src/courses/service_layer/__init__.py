"""Command handlers and queries of courses: load, decide, append, project (one transaction)."""
