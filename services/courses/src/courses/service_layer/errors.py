"""Errors of the service layer: who may do what, and what does not exist.

Domain rule violations live in `courses.domain.errors`; the API maps both to problems.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the service layer's errors."""


class NotAllowed(ServiceError):
    """The caller's role does not allow this (403)."""


class AnswersForbidden(NotAllowed):
    """Single answers are for platform staff only (R4), whatever the route or filter (403)."""


class CourseNotFound(ServiceError):
    """No such course, or (for anyone but staff) one without a published version (404)."""


class CourseVersionNotFound(ServiceError):
    """The course has no published version with this number (404)."""


class OrganisationNotFound(ServiceError):
    """Another tenant's organisation (404: the same answer as for one that does not exist)."""


class EnrolmentNotFound(ServiceError):
    """No such enrolment, or one the caller may not see (404: the same answer for both)."""


class LearnerNotFound(ServiceError):
    """The user holds no licence in the organisation (or is not known to courses)."""


class AlreadyEnrolled(ServiceError):
    """The learner is already enrolled in this course (409)."""


class VersionMismatch(ServiceError):
    """The caller edited an older version than the current one (optimistic concurrency)."""

    def __init__(self, *, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, current version {actual}")
        self.expected = expected
        self.actual = actual
