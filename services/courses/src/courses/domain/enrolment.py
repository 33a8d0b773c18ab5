"""The Enrolment aggregate: one learner taking one published version of a course (R3, R6).

Rules:
- answers are checked against the enrolled version's question (``Question.validate``);
- a question may be answered again until the course is completed: the last answer wins, and
  each submission is its own ``AnswerSubmitted`` (the history is the event stream);
- completion needs an answer to every required question, and makes the answers final;
- when access ends (licence revoked, subscription cancelled: R6) nothing more is accepted;
- when the learner is erased on a privacy request (R16), nothing more is accepted either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from byggrygg_shared.aggregate import Aggregate
from courses.domain.content import AnswerValue, CourseContent, QuestionKind
from courses.domain.errors import (
    EnrolmentAlreadyCompleted,
    EnrolmentEnded,
    QuestionNotInCourse,
    RequiredQuestionsUnanswered,
)


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ENDED = "ended"


class EnrolmentOrigin(StrEnum):
    """Why the learner was enrolled (docs/services/courses.md, the enrolment rule)."""

    LICENCE = "licence"  # the licence was granted while the course was assigned
    ASSIGNMENT = "assignment"  # the course was assigned while the learner was licensed
    ADMIN = "admin"  # an administrator of the organisation (or staff) enrolled them by hand


class EndReason(StrEnum):
    LICENCE_REVOKED = "licence_revoked"
    SUBSCRIPTION_CANCELLED = "subscription_cancelled"


class Enrolment(Aggregate["EnrolmentEvent"]):
    """A learner's enrolment; the stream id is `enrolment-<id>`."""

    @dataclass(frozen=True)
    class Started:
        enrolment_id: UUID
        course_id: UUID
        course_version: int
        user_id: UUID
        subject_ref: str
        organisation_id: UUID
        origin: EnrolmentOrigin
        started_by: str

    @dataclass(frozen=True)
    class AnswerSubmitted:
        enrolment_id: UUID
        course_id: UUID
        course_version: int
        question_id: UUID
        kind: QuestionKind
        subject_ref: str
        organisation_id: UUID
        answer: AnswerValue

    @dataclass(frozen=True)
    class Completed:
        enrolment_id: UUID
        course_id: UUID
        course_version: int
        subject_ref: str
        organisation_id: UUID
        completed_at: datetime

    @dataclass(frozen=True)
    class Ended:
        enrolment_id: UUID
        course_id: UUID
        subject_ref: str
        organisation_id: UUID
        reason: EndReason

    @dataclass(frozen=True)
    class Erased:
        """Appended by the privacy participant without loading the aggregate (the learner's
        key may already be shredded); ``answers_anonymised`` counts the kept answers."""

        enrolment_id: UUID
        course_id: UUID
        subject_ref: str
        organisation_id: UUID
        request_id: UUID
        answers_anonymised: int

    id: UUID
    course_id: UUID
    course_version: int
    user_id: UUID
    subject_ref: str
    organisation_id: UUID
    status: EnrolmentStatus
    answered: set[UUID]

    @classmethod
    def start(
        cls,
        *,
        enrolment_id: UUID,
        course_id: UUID,
        course_version: int,
        user_id: UUID,
        subject_ref: str,
        organisation_id: UUID,
        origin: EnrolmentOrigin,
        started_by: str,
    ) -> Enrolment:
        enrolment = cls._blank()
        enrolment._raise(
            cls.Started(
                enrolment_id=enrolment_id,
                course_id=course_id,
                course_version=course_version,
                user_id=user_id,
                subject_ref=subject_ref,
                organisation_id=organisation_id,
                origin=origin,
                started_by=started_by,
            )
        )
        return enrolment

    def submit_answer(
        self, *, content: CourseContent, question_id: UUID, answer: AnswerValue
    ) -> AnswerValue:
        """Record an answer to a question of the enrolled version; returns it normalised."""
        self._require_open()
        question = content.question(question_id)
        if question is None:
            raise QuestionNotInCourse("the question is not part of this course version")
        normalised = question.validate(answer)
        self._raise(
            self.AnswerSubmitted(
                enrolment_id=self.id,
                course_id=self.course_id,
                course_version=self.course_version,
                question_id=question_id,
                kind=question.kind,
                subject_ref=self.subject_ref,
                organisation_id=self.organisation_id,
                answer=normalised,
            )
        )
        return normalised

    def complete(self, *, content: CourseContent, completed_at: datetime) -> None:
        self._require_open()
        if not content.required_question_ids <= self.answered:
            raise RequiredQuestionsUnanswered("answer every required question first")
        self._raise(
            self.Completed(
                enrolment_id=self.id,
                course_id=self.course_id,
                course_version=self.course_version,
                subject_ref=self.subject_ref,
                organisation_id=self.organisation_id,
                completed_at=completed_at,
            )
        )

    def end(self, *, reason: EndReason) -> bool:
        """End the learner's access; False (nothing raised) if it had ended already."""
        if self.status is EnrolmentStatus.ENDED:
            return False
        self._raise(
            self.Ended(
                enrolment_id=self.id,
                course_id=self.course_id,
                subject_ref=self.subject_ref,
                organisation_id=self.organisation_id,
                reason=reason,
            )
        )
        return True

    def _require_open(self) -> None:
        if self.status is EnrolmentStatus.ENDED:
            raise EnrolmentEnded("access to this course has ended")
        if self.status is EnrolmentStatus.COMPLETED:
            raise EnrolmentAlreadyCompleted("the course is completed; answers are final")

    def _apply(self, event: EnrolmentEvent) -> None:
        match event:
            case Enrolment.Started():
                self.id = event.enrolment_id
                self.course_id = event.course_id
                self.course_version = event.course_version
                self.user_id = event.user_id
                self.subject_ref = event.subject_ref
                self.organisation_id = event.organisation_id
                self.status = EnrolmentStatus.ACTIVE
                self.answered = set()
            case Enrolment.AnswerSubmitted():
                self.answered.add(event.question_id)
            case Enrolment.Completed():
                self.status = EnrolmentStatus.COMPLETED
            case Enrolment.Ended() | Enrolment.Erased():
                self.status = EnrolmentStatus.ENDED
            case _:
                assert_never(event)


EnrolmentEvent = (
    Enrolment.Started
    | Enrolment.AnswerSubmitted
    | Enrolment.Completed
    | Enrolment.Ended
    | Enrolment.Erased
)
