"""HTTP models of the correspondence log (R9) and deletion requests (R10)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, EmailStr, Field, StringConstraints

from consent.schemas._base import Name, _Request, _Response

SubjectRef = Annotated[str, StringConstraints(pattern=r"^subj_[0-9a-f]{32}$")]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ]{5,18}[0-9]$")
]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]


class MessageCreate(_Request):
    """One message of an e-mail correspondence."""

    multiline_fields: ClassVar[frozenset[str]] = frozenset({"text"})

    direction: Literal["inbound", "outbound"]
    sent_at: AwareDatetime
    subject: Subject
    text: LongText


class _CorrespondenceCreate(_Request):
    organisation_id: UUID
    subject_ref: SubjectRef | None = Field(
        default=None,
        description="The person's subject_ref; omit for a person the platform does not know: "
        "a pseudonymous ref is then made and returned (reuse it for this person).",
    )


class EmailCorrespondenceCreate(_CorrespondenceCreate):
    email_address: EmailStr
    messages: list[MessageCreate] = Field(min_length=1, max_length=200)


class PhoneContactCreate(_CorrespondenceCreate):
    multiline_fields: ClassVar[frozenset[str]] = frozenset({"summary"})

    phone_number: Phone
    person_name: Name
    summary: LongText
    contacted_at: AwareDatetime


class CorrespondenceCreated(_Response):
    correspondence_id: UUID
    subject_ref: str


class MessageRead(_Response):
    message_id: UUID
    direction: str
    sent_at: datetime
    subject: str
    text: str


class CorrespondenceRead(_Response):
    correspondence_id: UUID
    organisation_id: UUID
    subject_ref: str
    channel: Literal["email", "phone"]
    email_address: str | None
    phone_number: str | None
    person_name: str | None
    summary: str | None
    contacted_at: datetime | None
    logged_at: datetime
    logged_by: str
    contract_ended_on: date | None = Field(
        description="When the organisation's contract ended; null while it is a customer."
    )
    retain_until: date | None = Field(
        description="Last day this item is kept (R9: contract end + 1 year); null while the "
        "organisation is a customer. Longer only under a hold."
    )
    version: int
    messages: list[MessageRead]


class DeletionRequestCreate(_Request):
    subject_ref: SubjectRef
    notify_address: EmailStr = Field(
        description="Where the person is told what was kept and why (R10)."
    )


class KeptRead(_Response):
    correspondence_id: UUID
    reason: Literal["open_complaint", "legal_claim"]


class NoticeRead(_Response):
    notice_id: UUID
    subject_ref: str
    kept_count: int
    reasons: list[str]
    sent_at: datetime


class DeletionRequestRead(_Response):
    request_id: UUID
    subject_ref: str
    status: Literal["received", "pending", "completed"]
    deleted_count: int
    kept_count: int
    kept: list[KeptRead]
    notices: list[NoticeRead]
    requested_at: datetime
    requested_by: str
    processed_at: datetime | None
    version: int
