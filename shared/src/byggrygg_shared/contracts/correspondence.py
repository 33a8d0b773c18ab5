"""Contracts of the consent service: correspondence (R9, R10) and complaints (R21).

Two topics: ``consent.correspondence.v1`` (key = correspondence item id, or deletion request
id) and ``consent.complaint.v1``, consent's holds (key = complaint id, or the organisation id
for ``LegalClaimResolved``).

Key scopes. Every personal field is a key-ring token encrypted under a *scope* named in the
event's ``key_ref``, never under the person's own ``subject_ref``:

- each correspondence item (one e-mail thread, or one phone contact) has its own scope, so one
  item can be destroyed (deletion on request, R10; end of retention, R9) while another of the
  same person is kept under a hold (R9, R21), and so that shredding correspondence never
  touches the person's newsletter consent or their identity data;
- a deletion request has its own scope for the address the notice goes to;
- a complaint or question has its own scope for its summary and resolution text.

``subject_ref`` names the person the data is about: their platform ``subject_ref`` when known,
else a pseudonymous ref the consent service made for them (same ``subj_`` format).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.registry import register

__all__ = [
    "COMPLAINT_TOPIC",
    "CORRESPONDENCE_TOPIC",
    "ComplaintOpened",
    "ComplaintResolved",
    "CorrespondenceDeletionCompleted",
    "CorrespondenceDeletionRequested",
    "CorrespondenceErased",
    "DeletionNoticeSent",
    "EmailCorrespondenceLogged",
    "EmailMessageRecorded",
    "KeptCorrespondence",
    "LegalClaimResolved",
    "PhoneContactLogged",
    "QuestionAnswered",
    "QuestionRecorded",
]

_PREFIX = "no.byggrygg.consent."
CORRESPONDENCE_TOPIC = "consent.correspondence.v1"
COMPLAINT_TOPIC = "consent.complaint.v1"

MessageDirectionName = Literal["inbound", "outbound"]
ErasureReasonName = Literal["deletion_request", "retention_expired"]
KeptReasonName = Literal["open_complaint", "legal_claim"]
# The areas of a person's data a complaint can concern; each service holds its own area.
DataAreaName = Literal[
    "correspondence", "newsletter", "cookie_consent", "course_answers", "profile", "organisation"
]


class _CorrespondenceEvent(IntegrationEvent):
    source_service: ClassVar[str] = "consent"
    topic: ClassVar[str] = CORRESPONDENCE_TOPIC


class _ComplaintEvent(IntegrationEvent):
    source_service: ClassVar[str] = "consent"
    topic: ClassVar[str] = COMPLAINT_TOPIC


@register
class EmailCorrespondenceLogged(_CorrespondenceEvent):
    """Staff started logging an e-mail correspondence with a person (R9)."""

    event_type: ClassVar[str] = _PREFIX + "EmailCorrespondenceLogged"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"email_address"})

    correspondence_id: UUID
    organisation_id: UUID
    subject_ref: str
    key_ref: str
    email_address: str
    logged_by: str


@register
class EmailMessageRecorded(_CorrespondenceEvent):
    """One message of an e-mail correspondence was recorded (R9)."""

    event_type: ClassVar[str] = _PREFIX + "EmailMessageRecorded"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"message_subject", "message_text"})

    correspondence_id: UUID
    organisation_id: UUID
    subject_ref: str
    key_ref: str
    message_id: UUID
    direction: MessageDirectionName
    sent_at: datetime
    message_subject: str
    message_text: str
    recorded_by: str


@register
class PhoneContactLogged(_CorrespondenceEvent):
    """Staff logged a phone contact: number, the person's name, a written summary (R9)."""

    event_type: ClassVar[str] = _PREFIX + "PhoneContactLogged"
    personal_fields: ClassVar[frozenset[str]] = frozenset(
        {"phone_number", "person_name", "summary"}
    )

    correspondence_id: UUID
    organisation_id: UUID
    subject_ref: str
    key_ref: str
    phone_number: str
    person_name: str
    summary: str
    contacted_at: datetime
    logged_by: str


@register
class CorrespondenceErased(_CorrespondenceEvent):
    """A correspondence item was deleted and its key scope destroyed (R9 retention, R10)."""

    event_type: ClassVar[str] = _PREFIX + "CorrespondenceErased"

    correspondence_id: UUID
    organisation_id: UUID
    subject_ref: str
    key_ref: str
    reason: ErasureReasonName
    request_id: UUID | None


@register
class CorrespondenceDeletionRequested(_CorrespondenceEvent):
    """A person asked for all their correspondence to be deleted (R10)."""

    event_type: ClassVar[str] = _PREFIX + "CorrespondenceDeletionRequested"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"notify_address"})

    request_id: UUID
    subject_ref: str
    key_ref: str
    notify_address: str
    requested_by: str


class KeptCorrespondence(BaseModel):
    """A correspondence item a deletion kept, and why (R10: a recorded reason)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    correspondence_id: UUID
    reason: KeptReasonName


@register
class CorrespondenceDeletionCompleted(_CorrespondenceEvent):
    """A deletion request was processed: counts deleted and kept, each kept item's reason.

    ``final`` is false while items are kept under a hold that may still be released; the
    request is processed again when it is (a second ``CorrespondenceDeletionCompleted``).
    """

    event_type: ClassVar[str] = _PREFIX + "CorrespondenceDeletionCompleted"

    request_id: UUID
    subject_ref: str
    deleted_count: int
    kept_count: int
    kept: list[KeptCorrespondence]
    final: bool


@register
class DeletionNoticeSent(_CorrespondenceEvent):
    """The person was told by e-mail what is kept and why (R10). The mail was handed to the
    mail outbox in the same transaction; the text itself is not in the event."""

    event_type: ClassVar[str] = _PREFIX + "DeletionNoticeSent"

    request_id: UUID
    subject_ref: str
    notice_id: UUID
    kept_count: int
    reasons: list[KeptReasonName]


@register
class QuestionRecorded(_ComplaintEvent):
    """A person's question was recorded (R21). A question places no hold."""

    event_type: ClassVar[str] = _PREFIX + "QuestionRecorded"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"summary"})

    complaint_id: UUID
    organisation_id: UUID | None
    subject_ref: str
    key_ref: str
    summary: str
    concerns: list[DataAreaName]
    recorded_by: str


@register
class QuestionAnswered(_ComplaintEvent):
    """A recorded question was answered (R21)."""

    event_type: ClassVar[str] = _PREFIX + "QuestionAnswered"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"resolution_text"})

    complaint_id: UUID
    organisation_id: UUID | None
    subject_ref: str
    key_ref: str
    resolution_text: str
    answered_by: str


@register
class ComplaintOpened(_ComplaintEvent):
    """A complaint was recorded: it places a hold on the data areas in ``concerns`` of the
    person until ``ComplaintResolved`` (R9, R21). Every service holding such data honours it."""

    event_type: ClassVar[str] = _PREFIX + "ComplaintOpened"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"summary"})

    complaint_id: UUID
    organisation_id: UUID | None
    subject_ref: str
    key_ref: str
    summary: str
    concerns: list[DataAreaName]
    opened_by: str


@register
class ComplaintResolved(_ComplaintEvent):
    """The complaint was resolved: its hold is released (R21)."""

    event_type: ClassVar[str] = _PREFIX + "ComplaintResolved"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"resolution_text"})

    complaint_id: UUID
    organisation_id: UUID | None
    subject_ref: str
    key_ref: str
    outcome: Literal["upheld", "rejected", "withdrawn"]
    resolution_text: str
    resolved_by: str


@register
class LegalClaimResolved(_ComplaintEvent):
    """The legal dispute an ended customer's contract left open was resolved (identity's
    ``RetentionClaimSettled``, R2): consent no longer keeps the organisation's correspondence
    for it (R9). Published once consent has let go, so an erasure filed on it (the privacy
    orchestrator's follow-up of what earlier erasures kept) finds nothing held any more."""

    event_type: ClassVar[str] = _PREFIX + "LegalClaimResolved"

    organisation_id: UUID
    settled_on: date
