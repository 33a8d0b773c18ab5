"""Integration events of the courses service (R3, R4, R5, R6).

Two topics:

- ``courses.catalogue.v1`` (key = the course's stream id, ``course-<course id>``): the
  catalogue as platform staff edit it. ``CoursePublished`` carries the whole structure of the
  published version (modules, questions with their kind, options and scale range), so that
  reporting can build statistics without reading courses' tables. No personal data.
- ``courses.enrolment.v1`` (key = ``enrolment-<enrolment id>``): a learner's enrolment in one
  published version of a course, their answers, completion, the end of their access and its
  erasure on a privacy request (``EnrolmentErased``). Every
  event names the learner by ``subject_ref`` (pseudonymous) and the customer by
  ``organisation_id`` (the CloudEvents ``tenantid``).

Answers (R3, R4):

- ``free_text`` is personal content and always a key-ring token (``enc:v1:...``) under the
  learner's ``subject_ref``: destroying that key makes every copy unreadable.
- ``selected_option_ids`` and ``scale_value`` are readable values: ids of the published
  version's options and a point on its scale. Reporting needs them readable to build the
  k-anonymous statistics of R5. They name the learner only through ``subject_ref``; once the
  learner is erased no key, projection or profile links that pseudonym to a person any more,
  and what remains is an anonymous answer (R16 "anonymise", DESIGN §4). Courses' own answer
  projection holds them as personal data (``courses.privacy``).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.registry import register

__all__ = [
    "CATALOGUE_TOPIC",
    "ENROLMENT_TOPIC",
    "AnswerSubmitted",
    "CourseAssigned",
    "CourseCompleted",
    "CourseCreated",
    "CourseDraftRevised",
    "CourseModule",
    "CoursePublished",
    "EnrolmentEnded",
    "EnrolmentErased",
    "EnrolmentStarted",
    "QuestionDefinition",
    "QuestionOption",
    "ScaleRange",
]

_PREFIX = "no.byggrygg.courses."
CATALOGUE_TOPIC = "courses.catalogue.v1"
ENROLMENT_TOPIC = "courses.enrolment.v1"

QuestionKind = Literal["single_choice", "multiple_choice", "scale", "free_text"]
EnrolmentOrigin = Literal["licence", "assignment", "admin"]
EnrolmentEndReason = Literal["licence_revoked", "subscription_cancelled"]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QuestionOption(_Part):
    """One option of a choice question; ``option_id`` is what an answer selects."""

    option_id: UUID
    label: str


class ScaleRange(_Part):
    """The points of a scale question, ``low``..``high`` inclusive, with optional end labels."""

    low: int
    high: int
    low_label: str | None = None
    high_label: str | None = None


class QuestionDefinition(_Part):
    """A question of a course. ``options`` only for choice questions, ``scale`` only for scale
    questions, ``max_length`` (characters) only for free-text questions."""

    question_id: UUID
    kind: QuestionKind
    prompt: str
    required: bool
    options: list[QuestionOption] = []
    scale: ScaleRange | None = None
    max_length: int | None = None


class CourseModule(_Part):
    """A module of a course: an ordered list of questions."""

    module_id: UUID
    title: str
    questions: list[QuestionDefinition]


class _CatalogueEvent(IntegrationEvent):
    source_service: ClassVar[str] = "courses"
    topic: ClassVar[str] = CATALOGUE_TOPIC


class _EnrolmentEvent(IntegrationEvent):
    source_service: ClassVar[str] = "courses"
    topic: ClassVar[str] = ENROLMENT_TOPIC


@register
class CourseCreated(_CatalogueEvent):
    """Platform staff created a course; its first draft is ``modules``."""

    event_type: ClassVar[str] = _PREFIX + "CourseCreated"

    course_id: UUID
    title: str
    description: str
    modules: list[CourseModule]
    created_by: str


@register
class CourseDraftRevised(_CatalogueEvent):
    """Platform staff replaced the course's draft; published versions are unchanged."""

    event_type: ClassVar[str] = _PREFIX + "CourseDraftRevised"

    course_id: UUID
    title: str
    description: str
    modules: list[CourseModule]
    revised_by: str


@register
class CoursePublished(_CatalogueEvent):
    """The draft became the immutable published version ``version`` (1, 2, ...). Learners
    take a specific published version; reporting reads the structure from here."""

    event_type: ClassVar[str] = _PREFIX + "CoursePublished"

    course_id: UUID
    version: int
    title: str
    description: str
    modules: list[CourseModule]
    published_by: str


@register
class CourseAssigned(_CatalogueEvent):
    """The course was assigned to an organisation: its licensed learners are enrolled."""

    event_type: ClassVar[str] = _PREFIX + "CourseAssigned"

    course_id: UUID
    organisation_id: UUID
    assigned_by: str


@register
class EnrolmentStarted(_EnrolmentEvent):
    """A learner was enrolled in a published version of a course (``origin`` says why)."""

    event_type: ClassVar[str] = _PREFIX + "EnrolmentStarted"

    enrolment_id: UUID
    course_id: UUID
    course_version: int
    user_id: UUID
    subject_ref: str
    organisation_id: UUID
    origin: EnrolmentOrigin
    started_by: str


@register
class AnswerSubmitted(_EnrolmentEvent):
    """A learner answered a question (again: the last submission is the answer). Exactly one
    of ``selected_option_ids`` (choice), ``scale_value`` (scale) and ``free_text`` (a key-ring
    token) is set, as the question's ``kind`` says."""

    event_type: ClassVar[str] = _PREFIX + "AnswerSubmitted"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"free_text"})

    enrolment_id: UUID
    course_id: UUID
    course_version: int
    question_id: UUID
    kind: QuestionKind
    subject_ref: str
    organisation_id: UUID
    selected_option_ids: list[UUID] | None = None
    scale_value: int | None = None
    free_text: str | None = None


@register
class CourseCompleted(_EnrolmentEvent):
    """The learner completed the course: every required question was answered."""

    event_type: ClassVar[str] = _PREFIX + "CourseCompleted"

    enrolment_id: UUID
    course_id: UUID
    course_version: int
    subject_ref: str
    organisation_id: UUID
    completed_at: datetime


@register
class EnrolmentEnded(_EnrolmentEvent):
    """The learner's access to the course ended (R6): no more answers are accepted."""

    event_type: ClassVar[str] = _PREFIX + "EnrolmentEnded"

    enrolment_id: UUID
    course_id: UUID
    subject_ref: str
    organisation_id: UUID
    reason: EnrolmentEndReason


@register
class EnrolmentErased(_EnrolmentEvent):
    """The learner was erased on a privacy request (R6, R16): the enrolment is closed, its
    projection deleted, and ``answers_anonymised`` answers were kept for the operator's
    statistics without any link to the learner (new random id, free text dropped). Carries
    counts, never the answers."""

    event_type: ClassVar[str] = _PREFIX + "EnrolmentErased"

    enrolment_id: UUID
    course_id: UUID
    subject_ref: str
    organisation_id: UUID
    request_id: UUID
    answers_anonymised: int
