"""The orchestrator's adapters: its tables and the append-only record store."""
