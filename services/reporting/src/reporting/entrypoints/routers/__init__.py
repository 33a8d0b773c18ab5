"""The HTTP routers of reporting, one module per capability (mounted in ``entrypoints.api``)."""
