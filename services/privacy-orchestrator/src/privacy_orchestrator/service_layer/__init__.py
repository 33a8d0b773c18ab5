"""The orchestrator's use cases: appending, reading and exporting completion records."""
