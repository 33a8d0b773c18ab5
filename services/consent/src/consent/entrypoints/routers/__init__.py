"""One router module per capability, all mounted in `consent.entrypoints.api`."""
