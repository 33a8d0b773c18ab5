"""Identity's domain model: aggregates, the events they raise and their rules (no I/O)."""
