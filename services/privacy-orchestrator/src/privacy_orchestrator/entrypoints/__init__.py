"""The orchestrator's entry points: the HTTP API (and, with the request workflow, consumers)."""
