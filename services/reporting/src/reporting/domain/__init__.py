"""Reporting's pure domain: rules without I/O."""
