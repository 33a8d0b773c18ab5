"""Identity's command handlers and queries: load, decide, append, project, in one transaction."""
