"""Domain errors of courses, each named for what went wrong; the API maps them to problems."""

from __future__ import annotations


class CoursesError(Exception):
    """Base of every rule violation raised by the courses domain."""


class InvalidCourseContent(CoursesError):
    """A draft breaks a structural rule (ids, options, scale, lengths)."""


class NothingToPublish(CoursesError):
    """The draft is the latest published version already, or has no question."""


class CourseNotPublished(CoursesError):
    """The course has no published version yet: it cannot be assigned or taken."""


class CourseAlreadyAssigned(CoursesError):
    """The course is already assigned to the organisation."""


class EnrolmentEnded(CoursesError):
    """The learner's access ended (licence revoked, subscription cancelled; R6)."""


class EnrolmentAlreadyCompleted(CoursesError):
    """The enrolment is completed: its answers are final."""


class QuestionNotInCourse(CoursesError):
    """The question is not part of the enrolled course version."""


class InvalidAnswer(CoursesError):
    """The answer does not fit the question's kind (options, scale range, text rules)."""


class RequiredQuestionsUnanswered(CoursesError):
    """Completion needs an answer to every required question."""
