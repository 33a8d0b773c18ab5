"""Errors of the service layer (the domain's are in `domain.errors`)."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the orchestrator's service-layer errors."""


class RecordNotFound(ServiceError):
    """No completion record with this sequence number."""


class InvalidRange(ServiceError):
    """A range of records whose start is after its end, or that is too long for one answer."""
