"""The HTTP API's models, as a Base/Create/Update/Read ladder per resource.

Request models forbid unknown fields (a typo is a 422, not silently ignored) and control
characters in every string (NUL above all, which PostgreSQL cannot store). The one exception is
the text of a free-text answer, which may hold newlines and tabs; the domain checks it
(``Question.validate``). Ids of modules, questions and options may be given (to keep them
stable across versions) or left out (the service makes them).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from courses.domain.content import MAX_TEXT_LENGTH

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Prompt = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
QuestionKindName = Literal["single_choice", "multiple_choice", "scale", "free_text"]


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in value)


class _Request(BaseModel):
    """Every request model: unknown fields and control characters are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: object) -> object:
        if isinstance(value, str) and _has_control(value):
            raise ValueError("must not contain control characters")
        return value


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- catalogue ----------------------------------------------------------------------------


class OptionBase(_Request):
    option_id: UUID | None = None
    label: Label


class ScaleBase(_Request):
    low: int = Field(ge=-1000, le=1000)
    high: int = Field(ge=-1000, le=1000)
    low_label: Label | None = None
    high_label: Label | None = None


class QuestionBase(_Request):
    question_id: UUID | None = None
    kind: QuestionKindName
    prompt: Prompt
    required: bool = True
    options: list[OptionBase] = Field(default_factory=list, max_length=50)
    scale: ScaleBase | None = None
    max_length: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TEXT_LENGTH,
        description="Free-text questions: the longest answer accepted (default 2000).",
    )


class ModuleBase(_Request):
    module_id: UUID | None = None
    title: Title
    questions: list[QuestionBase] = Field(default_factory=list, max_length=200)


class CourseCreate(_Request):
    """A course's content: the first draft (POST) or a new draft (PUT .../draft)."""

    title: Title
    description: Description = ""
    modules: list[ModuleBase] = Field(default_factory=list, max_length=100)


class CourseDraftUpdate(CourseCreate):
    pass


class OptionRead(_Response):
    option_id: UUID
    label: str


class ScaleRead(_Response):
    low: int
    high: int
    low_label: str | None = None
    high_label: str | None = None


class QuestionRead(_Response):
    question_id: UUID
    kind: QuestionKindName
    prompt: str
    required: bool
    options: list[OptionRead]
    scale: ScaleRead | None
    max_length: int | None


class ModuleRead(_Response):
    module_id: UUID
    title: str
    questions: list[QuestionRead]


class CourseContentRead(_Response):
    title: str
    description: str
    modules: list[ModuleRead]


class CourseRead(_Response):
    """A course as staff see it (with its draft) or as others see it (draft is null)."""

    course_id: UUID
    latest_version: int | None
    draft_is_published: bool
    published: CourseContentRead | None = Field(
        description="The latest published version's content."
    )
    draft: CourseContentRead | None = Field(description="Staff only: the current draft.")
    created_at: datetime
    updated_at: datetime


class CourseVersionRead(_Response):
    course_id: UUID
    version: int
    question_count: int
    required_count: int
    published_at: datetime
    content: CourseContentRead


class PublishedVersion(_Response):
    course_id: UUID
    version: int


class AssignmentCreate(_Request):
    course_id: UUID


class AssignmentRead(_Response):
    course_id: UUID
    organisation_id: UUID
    title: str
    latest_version: int
    assigned_at: datetime


class AssignmentCreated(_Response):
    course_id: UUID
    organisation_id: UUID
    enrolled: int = Field(description="Licensed learners enrolled by this assignment.")


# --- enrolments ---------------------------------------------------------------------------


class EnrolmentCreate(_Request):
    user_id: UUID
    course_id: UUID


class Progress(_Response):
    answered: int
    total: int
    required: int


class EnrolmentRead(_Response):
    enrolment_id: UUID
    course_id: UUID
    course_version: int
    title: str
    user_id: UUID
    organisation_id: UUID
    origin: Literal["licence", "assignment", "admin"]
    status: Literal["active", "completed", "ended"]
    progress: Progress
    started_at: datetime
    completed_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None

    @classmethod
    def of(cls, view: Any) -> EnrolmentRead:
        return cls(
            enrolment_id=view.enrolment_id,
            course_id=view.course_id,
            course_version=view.course_version,
            title=view.title,
            user_id=view.user_id,
            organisation_id=view.organisation_id,
            origin=view.origin,
            status=view.status,
            progress=Progress(
                answered=view.answered_count,
                total=view.question_count,
                required=view.required_count,
            ),
            started_at=view.started_at,
            completed_at=view.completed_at,
            ended_at=view.ended_at,
            end_reason=view.end_reason,
        )


class EnrolmentWithContentRead(EnrolmentRead):
    content: CourseContentRead


# --- answers ------------------------------------------------------------------------------


class AnswerCreate(BaseModel):
    """Exactly one of the three, as the question's kind says. Not a `_Request`: free text may
    hold newlines and tabs (the domain refuses every other control character)."""

    model_config = ConfigDict(extra="forbid")

    selected_option_ids: list[UUID] | None = Field(default=None, max_length=50)
    scale_value: int | None = Field(default=None, ge=-1000, le=1000)
    text: str | None = Field(default=None, max_length=MAX_TEXT_LENGTH * 2)


class AnswerRead(_Response):
    """A single answer (R4: platform staff, or the learner who gave it)."""

    enrolment_id: UUID
    question_id: UUID
    course_id: UUID
    course_version: int
    organisation_id: UUID
    subject_ref: str
    kind: QuestionKindName
    selected_option_ids: list[UUID] | None
    scale_value: int | None
    text: str | None = Field(description='Free text; "[erased]" once the learner was erased.')
    text_erased: bool
    submissions: int
    answered_at: datetime

    @classmethod
    def of(cls, view: Any) -> AnswerRead:
        return cls(
            enrolment_id=view.enrolment_id,
            question_id=view.question_id,
            course_id=view.course_id,
            course_version=view.course_version,
            organisation_id=view.organisation_id,
            subject_ref=view.subject_ref,
            kind=view.kind,
            selected_option_ids=view.selected_option_ids,
            scale_value=view.scale_value,
            text=view.free_text,
            text_erased=view.free_text_erased,
            submissions=view.submissions,
            answered_at=view.answered_at,
        )
