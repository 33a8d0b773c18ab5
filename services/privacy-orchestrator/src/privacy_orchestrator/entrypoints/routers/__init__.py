"""The orchestrator's HTTP routers."""
