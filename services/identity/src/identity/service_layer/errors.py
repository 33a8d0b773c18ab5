"""Errors of the service layer: who may do what, what does not exist, what is already taken.

Domain rule violations live in `identity.domain.errors`; the API maps both to problems.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the service layer's errors."""


class NotAllowed(ServiceError):
    """The caller's role does not allow this (403)."""


class OrganisationNotFound(ServiceError):
    """No such organisation, or one of another tenant (404: the same answer for both)."""


class UserNotFound(ServiceError):
    """No such user, or one of another tenant (404: the same answer for both)."""


class InvitationNotFound(ServiceError):
    """No pending invitation has this token."""


class EmailAlreadyInUse(ServiceError):
    """The e-mail address already belongs to a user, staff member or pending invitation."""


class OrganisationNumberInUse(ServiceError):
    """An organisation with this organisation number is already registered."""


class VersionMismatch(ServiceError):
    """The caller edited an older version than the current one (optimistic concurrency)."""

    def __init__(self, *, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, current version {actual}")
        self.expected = expected
        self.actual = actual


class InvalidCredentials(ServiceError):
    """Unknown e-mail, wrong password, or an account that may not log in (one answer)."""
