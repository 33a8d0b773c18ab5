"""The privacy orchestrator: data-subject requests and their completion records (R14-R19)."""
