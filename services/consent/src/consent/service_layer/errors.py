"""Errors of the service layer: who may do what, what does not exist.

Domain rule violations live in the domain modules; the API maps both to problems
(`consent.entrypoints.errors`).
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the service layer's errors."""


class NotAllowed(ServiceError):
    """The caller's role does not allow this (403)."""


# --- correspondence (R9, R10) and complaints (R21) -----------------------------------------


class CorrespondenceNotFound(ServiceError):
    """No such correspondence item (or it was deleted)."""


class DeletionRequestNotFound(ServiceError):
    """No such deletion request."""


class ComplaintNotFound(ServiceError):
    """No such question or complaint."""


class VersionMismatch(ServiceError):
    """The caller changed an older version than the current one (optimistic concurrency)."""

    def __init__(self, *, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, current version {actual}")
        self.expected = expected
        self.actual = actual


class ErasureUnavailable(ServiceError):
    """The service was built without a key shredder, so it cannot delete correspondence."""
