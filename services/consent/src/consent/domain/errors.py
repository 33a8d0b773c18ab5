"""Base of consent's domain errors. Each capability defines its own errors (named for what
went wrong) in its domain module, subclassing `ConsentError`, and lists them in
`consent.entrypoints.errors` with their problem status."""

from __future__ import annotations


class ConsentError(Exception):
    """Base of the rule violations of consent's domain."""
