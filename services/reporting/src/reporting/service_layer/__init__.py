"""Reporting's use cases: projections, privacy commands, rebuild, statistics."""
