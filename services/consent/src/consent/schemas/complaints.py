"""HTTP models of questions and complaints (R21)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from consent.schemas._base import _Request, _Response
from consent.schemas.correspondence import SubjectRef

LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
DataAreaName = Literal[
    "correspondence", "newsletter", "cookie_consent", "course_answers", "profile", "organisation"
]


class ComplaintCreate(_Request):
    multiline_fields: ClassVar[frozenset[str]] = frozenset({"summary"})

    kind: Literal["question", "complaint"]
    subject_ref: SubjectRef
    organisation_id: UUID | None = None
    summary: LongText
    concerns: list[DataAreaName] = Field(
        default_factory=list,
        max_length=6,
        description="The data the complaint concerns: an open complaint holds it (R21).",
    )


class ComplaintResolution(_Request):
    multiline_fields: ClassVar[frozenset[str]] = frozenset({"resolution_text"})

    outcome: Literal["upheld", "rejected", "withdrawn"] | None = Field(
        default=None, description="Required for a complaint; ignored for a question."
    )
    resolution_text: LongText


class ComplaintCreated(_Response):
    complaint_id: UUID


class ComplaintRead(_Response):
    complaint_id: UUID
    kind: Literal["question", "complaint"]
    organisation_id: UUID | None
    subject_ref: str
    summary: str
    concerns: list[str]
    status: Literal["open", "resolved"]
    outcome: str | None
    resolution_text: str | None
    opened_at: datetime
    opened_by: str
    resolved_at: datetime | None
    resolved_by: str | None
    holds: bool = Field(description="Whether it holds the person's correspondence now.")
    version: int
