"""Translate correspondence, deletion-request and complaint events between the domain
(plaintext) and the contracts (personal fields as key-ring tokens).

Every personal field is sealed under the key scope named by the event's ``key_ref`` (one per
correspondence item, deletion request and complaint), never under the person's
``subject_ref``: destroying one item's scope erases exactly that item (R9, R10). A field whose
scope was destroyed reads as the erased marker text, never as an error.
"""

from __future__ import annotations

from uuid import UUID

from byggrygg_shared.contracts import correspondence as contracts
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.eventstore import StoredEvent
from consent.domain.complaints import Complaint, ComplaintEvent, ComplaintKind, DataArea, Outcome
from consent.domain.correspondence import (
    Correspondence,
    CorrespondenceEvent,
    EmailMessage,
    ErasureReason,
    KeptItem,
    KeptReason,
    MessageDirection,
    PhoneContact,
)
from consent.domain.correspondence_deletion import CorrespondenceDeletion, DeletionEvent
from consent.service_layer.context import FieldCipher


class UnexpectedEvent(Exception):
    """A stream holds an event type that does not belong to its aggregate."""


class _Scope:
    """Seal and open the fields of one key scope."""

    def __init__(self, cipher: FieldCipher, key_ref: str) -> None:
        self._cipher = cipher
        self._key_ref = key_ref

    async def seal(self, value: str) -> str:
        return await self._cipher.encrypt(self._key_ref, value)

    async def open(self, token: str) -> str:
        """Plaintext, or "[erased]" when the scope was destroyed."""
        return str(await self._cipher.decrypt(self._key_ref, token))


def correspondence_stream(correspondence_id: UUID) -> str:
    return f"correspondence-{correspondence_id}"


def deletion_stream(request_id: UUID) -> str:
    return f"correspondence-deletion-{request_id}"


def complaint_stream(complaint_id: UUID) -> str:
    return f"complaint-{complaint_id}"


# --- correspondence items -----------------------------------------------------------------


async def encode_correspondence_event(
    event: CorrespondenceEvent, cipher: FieldCipher
) -> IntegrationEvent:
    scope = _Scope(cipher, event.key_ref)
    match event:
        case Correspondence.EmailLogged():
            return contracts.EmailCorrespondenceLogged(
                correspondence_id=event.correspondence_id,
                organisation_id=event.organisation_id,
                subject_ref=event.subject_ref,
                key_ref=event.key_ref,
                email_address=await scope.seal(event.email_address),
                logged_by=event.logged_by,
            )
        case Correspondence.MessageRecorded():
            message = event.message
            return contracts.EmailMessageRecorded(
                correspondence_id=event.correspondence_id,
                organisation_id=event.organisation_id,
                subject_ref=event.subject_ref,
                key_ref=event.key_ref,
                message_id=message.message_id,
                direction=message.direction.value,
                sent_at=message.sent_at,
                message_subject=await scope.seal(message.subject),
                message_text=await scope.seal(message.text),
                recorded_by=event.recorded_by,
            )
        case Correspondence.PhoneLogged():
            contact = event.contact
            return contracts.PhoneContactLogged(
                correspondence_id=event.correspondence_id,
                organisation_id=event.organisation_id,
                subject_ref=event.subject_ref,
                key_ref=event.key_ref,
                phone_number=await scope.seal(contact.phone_number),
                person_name=await scope.seal(contact.person_name),
                summary=await scope.seal(contact.summary),
                contacted_at=contact.contacted_at,
                logged_by=event.logged_by,
            )
        case Correspondence.Erased():
            return contracts.CorrespondenceErased(
                correspondence_id=event.correspondence_id,
                organisation_id=event.organisation_id,
                subject_ref=event.subject_ref,
                key_ref=event.key_ref,
                reason=event.reason.value,
                request_id=event.request_id,
            )


async def decode_correspondence_event(
    stored: StoredEvent, cipher: FieldCipher
) -> CorrespondenceEvent:
    contract = stored.contract()
    match contract:
        case contracts.EmailCorrespondenceLogged():
            scope = _Scope(cipher, contract.key_ref)
            return Correspondence.EmailLogged(
                correspondence_id=contract.correspondence_id,
                organisation_id=contract.organisation_id,
                subject_ref=contract.subject_ref,
                key_ref=contract.key_ref,
                email_address=await scope.open(contract.email_address),
                logged_by=contract.logged_by,
            )
        case contracts.EmailMessageRecorded():
            scope = _Scope(cipher, contract.key_ref)
            return Correspondence.MessageRecorded(
                correspondence_id=contract.correspondence_id,
                organisation_id=contract.organisation_id,
                subject_ref=contract.subject_ref,
                key_ref=contract.key_ref,
                message=EmailMessage(
                    message_id=contract.message_id,
                    direction=MessageDirection(contract.direction),
                    sent_at=contract.sent_at,
                    subject=await scope.open(contract.message_subject),
                    text=await scope.open(contract.message_text),
                ),
                recorded_by=contract.recorded_by,
            )
        case contracts.PhoneContactLogged():
            scope = _Scope(cipher, contract.key_ref)
            return Correspondence.PhoneLogged(
                correspondence_id=contract.correspondence_id,
                organisation_id=contract.organisation_id,
                subject_ref=contract.subject_ref,
                key_ref=contract.key_ref,
                contact=PhoneContact(
                    phone_number=await scope.open(contract.phone_number),
                    person_name=await scope.open(contract.person_name),
                    summary=await scope.open(contract.summary),
                    contacted_at=contract.contacted_at,
                ),
                logged_by=contract.logged_by,
            )
        case contracts.CorrespondenceErased():
            return Correspondence.Erased(
                correspondence_id=contract.correspondence_id,
                organisation_id=contract.organisation_id,
                subject_ref=contract.subject_ref,
                key_ref=contract.key_ref,
                reason=ErasureReason(contract.reason),
                request_id=contract.request_id,
            )
    raise UnexpectedEvent(f"{stored.ce_type} in stream {stored.stream_id}")


# --- deletion requests --------------------------------------------------------------------


async def encode_deletion_event(event: DeletionEvent, cipher: FieldCipher) -> IntegrationEvent:
    match event:
        case CorrespondenceDeletion.Requested():
            return contracts.CorrespondenceDeletionRequested(
                request_id=event.request_id,
                subject_ref=event.subject_ref,
                key_ref=event.key_ref,
                notify_address=await _Scope(cipher, event.key_ref).seal(event.notify_address),
                requested_by=event.requested_by,
            )
        case CorrespondenceDeletion.Processed():
            return contracts.CorrespondenceDeletionCompleted(
                request_id=event.request_id,
                subject_ref=event.subject_ref,
                deleted_count=event.deleted_count,
                kept_count=len(event.kept),
                kept=[
                    contracts.KeptCorrespondence(
                        correspondence_id=item.correspondence_id, reason=item.reason.value
                    )
                    for item in event.kept
                ],
                final=event.final,
            )
        case CorrespondenceDeletion.NoticeSent():
            return contracts.DeletionNoticeSent(
                request_id=event.request_id,
                subject_ref=event.subject_ref,
                notice_id=event.notice_id,
                kept_count=event.kept_count,
                reasons=[reason.value for reason in event.reasons],
            )


async def decode_deletion_event(stored: StoredEvent, cipher: FieldCipher) -> DeletionEvent:
    contract = stored.contract()
    match contract:
        case contracts.CorrespondenceDeletionRequested():
            return CorrespondenceDeletion.Requested(
                request_id=contract.request_id,
                subject_ref=contract.subject_ref,
                key_ref=contract.key_ref,
                notify_address=await _Scope(cipher, contract.key_ref).open(contract.notify_address),
                requested_by=contract.requested_by,
            )
        case contracts.CorrespondenceDeletionCompleted():
            return CorrespondenceDeletion.Processed(
                request_id=contract.request_id,
                subject_ref=contract.subject_ref,
                deleted_count=contract.deleted_count,
                kept=tuple(
                    KeptItem(item.correspondence_id, KeptReason(item.reason))
                    for item in contract.kept
                ),
                final=contract.final,
            )
        case contracts.DeletionNoticeSent():
            return CorrespondenceDeletion.NoticeSent(
                request_id=contract.request_id,
                subject_ref=contract.subject_ref,
                notice_id=contract.notice_id,
                kept_count=contract.kept_count,
                reasons=tuple(KeptReason(reason) for reason in contract.reasons),
            )
    raise UnexpectedEvent(f"{stored.ce_type} in stream {stored.stream_id}")


# --- complaints ---------------------------------------------------------------------------


async def encode_complaint_event(event: ComplaintEvent, cipher: FieldCipher) -> IntegrationEvent:
    scope = _Scope(cipher, event.key_ref)
    question = event.kind is ComplaintKind.QUESTION
    match event:
        case Complaint.Opened():
            fields = {
                "complaint_id": event.complaint_id,
                "organisation_id": event.organisation_id,
                "subject_ref": event.subject_ref,
                "key_ref": event.key_ref,
                "summary": await scope.seal(event.summary),
                "concerns": [area.value for area in event.concerns],
            }
            if question:
                return contracts.QuestionRecorded(**fields, recorded_by=event.opened_by)
            return contracts.ComplaintOpened(**fields, opened_by=event.opened_by)
        case Complaint.Resolved():
            resolution = await scope.seal(event.resolution_text)
            if question or event.outcome is None:
                return contracts.QuestionAnswered(
                    complaint_id=event.complaint_id,
                    organisation_id=event.organisation_id,
                    subject_ref=event.subject_ref,
                    key_ref=event.key_ref,
                    resolution_text=resolution,
                    answered_by=event.resolved_by,
                )
            return contracts.ComplaintResolved(
                complaint_id=event.complaint_id,
                organisation_id=event.organisation_id,
                subject_ref=event.subject_ref,
                key_ref=event.key_ref,
                outcome=event.outcome.value,
                resolution_text=resolution,
                resolved_by=event.resolved_by,
            )


async def decode_complaint_event(stored: StoredEvent, cipher: FieldCipher) -> ComplaintEvent:
    contract = stored.contract()
    match contract:
        case contracts.QuestionRecorded() | contracts.ComplaintOpened():
            is_question = isinstance(contract, contracts.QuestionRecorded)
            return Complaint.Opened(
                complaint_id=contract.complaint_id,
                kind=ComplaintKind.QUESTION if is_question else ComplaintKind.COMPLAINT,
                organisation_id=contract.organisation_id,
                subject_ref=contract.subject_ref,
                key_ref=contract.key_ref,
                summary=await _Scope(cipher, contract.key_ref).open(contract.summary),
                concerns=tuple(DataArea(area) for area in contract.concerns),
                opened_by=(
                    contract.recorded_by
                    if isinstance(contract, contracts.QuestionRecorded)
                    else contract.opened_by
                ),
            )
        case contracts.QuestionAnswered():
            return Complaint.Resolved(
                complaint_id=contract.complaint_id,
                kind=ComplaintKind.QUESTION,
                organisation_id=contract.organisation_id,
                subject_ref=contract.subject_ref,
                key_ref=contract.key_ref,
                outcome=None,
                resolution_text=await _Scope(cipher, contract.key_ref).open(
                    contract.resolution_text
                ),
                resolved_by=contract.answered_by,
            )
        case contracts.ComplaintResolved():
            return Complaint.Resolved(
                complaint_id=contract.complaint_id,
                kind=ComplaintKind.COMPLAINT,
                organisation_id=contract.organisation_id,
                subject_ref=contract.subject_ref,
                key_ref=contract.key_ref,
                outcome=Outcome(contract.outcome),
                resolution_text=await _Scope(cipher, contract.key_ref).open(
                    contract.resolution_text
                ),
                resolved_by=contract.resolved_by,
            )
    raise UnexpectedEvent(f"{stored.ce_type} in stream {stored.stream_id}")
