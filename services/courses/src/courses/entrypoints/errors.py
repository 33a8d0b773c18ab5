"""Map the domain's and the service layer's errors to problem documents (RFC 9457).

One table, so the status of every error is visible in one place. Details are fixed sentences,
never the exception's text (which could one day carry input values).
"""

from __future__ import annotations

from byggrygg_shared.error_mapping import ErrorMapping
from courses.domain import errors as domain
from courses.service_layer import errors as service

# error type -> (status, type slug, title, detail)
_PROBLEMS: dict[type[Exception], tuple[int, str, str, str]] = {
    service.AnswersForbidden: (
        403,
        "answers-forbidden",
        "Forbidden",
        "Single answers are visible to platform staff only.",
    ),
    service.NotAllowed: (403, "forbidden", "Forbidden", "Your role does not allow this."),
    service.CourseNotFound: (404, "not-found", "Not found", "No such course."),
    service.CourseVersionNotFound: (
        404,
        "not-found",
        "Not found",
        "The course has no published version with this number.",
    ),
    service.OrganisationNotFound: (404, "not-found", "Not found", "No such organisation."),
    service.EnrolmentNotFound: (404, "not-found", "Not found", "No such enrolment."),
    service.LearnerNotFound: (
        404,
        "not-found",
        "Not found",
        "No licensed learner with this id in the organisation.",
    ),
    domain.QuestionNotInCourse: (
        404,
        "not-found",
        "Not found",
        "The question is not part of the enrolled course version.",
    ),
    service.AlreadyEnrolled: (
        409,
        "already-enrolled",
        "Already enrolled",
        "The learner is already enrolled in this course.",
    ),
    service.VersionMismatch: (
        409,
        "edit-conflict",
        "Edit conflict",
        "The resource changed since you read it. Read it again and reapply your change.",
    ),
    domain.NothingToPublish: (
        409,
        "nothing-to-publish",
        "Nothing to publish",
        "The draft is already published, or has no question.",
    ),
    domain.CourseNotPublished: (
        409,
        "course-not-published",
        "Course not published",
        "Only a published course can be assigned or taken.",
    ),
    domain.CourseAlreadyAssigned: (
        409,
        "already-assigned",
        "Already assigned",
        "The course is already assigned to the organisation.",
    ),
    domain.EnrolmentEnded: (
        409,
        "enrolment-ended",
        "Access ended",
        "Access to this course has ended; no more answers are accepted.",
    ),
    domain.EnrolmentAlreadyCompleted: (
        409,
        "enrolment-completed",
        "Course completed",
        "The course is completed; its answers are final.",
    ),
    domain.RequiredQuestionsUnanswered: (
        409,
        "required-questions-unanswered",
        "Required questions unanswered",
        "Answer every required question before completing the course.",
    ),
    domain.InvalidAnswer: (
        422,
        "invalid-answer",
        "Invalid answer",
        "The answer does not fit the question (options, scale range or text rules).",
    ),
    domain.InvalidCourseContent: (
        422,
        "invalid-course-content",
        "Invalid course content",
        "The course content breaks a rule: unique ids, at least two options for a choice "
        "question, a scale for a scale question, a length limit for a free-text question.",
    ),
}


# The platform's own errors (a concurrent append: 409 edit-conflict) come with the mapping.
ERROR_MAPPING = ErrorMapping(_PROBLEMS, bases=(domain.CoursesError, service.ServiceError))
problem_for = ERROR_MAPPING.problem_for
