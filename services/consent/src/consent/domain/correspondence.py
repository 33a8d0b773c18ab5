"""The Correspondence aggregate and its rules (R9, R10): e-mail and phone contact with a person.

One aggregate is one *item*: an e-mail correspondence (the person's address and its messages)
or one phone contact (number, the person's name, a written summary), logged against a person
(``subject_ref``) and an organisation. Each item has its own key-ring scope (``key_ref``), so
deleting one item destroys exactly its data and nothing else of the person's.

Rules here, no I/O:
- retention (R9): kept while the organisation is a customer, then ``retention_years`` after the
  contract ended (or after the item was logged, if that was later), longer only under a hold;
- holds (R9, R21): an open complaint about the person's correspondence, or a legal claim
  (the organisation's contract ended with a legal dispute), keeps an item from deletion.
The events carry plaintext; the adapters encrypt the personal fields before storing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from byggrygg_shared.aggregate import Aggregate
from consent.domain.errors import ConsentError


class CorrespondenceError(ConsentError):
    """Base of the correspondence rules' violations."""


class CorrespondenceAlreadyErased(CorrespondenceError):
    """The item was deleted; it accepts nothing more."""


class NotAnEmailCorrespondence(CorrespondenceError):
    """Messages belong to e-mail correspondence; a phone contact has a summary instead."""


class NoMessages(CorrespondenceError):
    """An e-mail correspondence is logged with at least one message."""


class Channel(StrEnum):
    EMAIL = "email"
    PHONE = "phone"


class MessageDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ErasureReason(StrEnum):
    DELETION_REQUEST = "deletion_request"
    RETENTION_EXPIRED = "retention_expired"


class KeptReason(StrEnum):
    """Why an item survives a deletion (R9: 'longer only while a complaint or legal claim is
    being handled')."""

    OPEN_COMPLAINT = "open_complaint"
    LEGAL_CLAIM = "legal_claim"


@dataclass(frozen=True)
class EmailMessage:
    message_id: UUID
    direction: MessageDirection
    sent_at: datetime
    subject: str
    text: str


@dataclass(frozen=True)
class PhoneContact:
    phone_number: str
    person_name: str
    summary: str
    contacted_at: datetime


class Correspondence(Aggregate["CorrespondenceEvent"]):
    """One correspondence item; the stream id is ``correspondence-<id>``."""

    @dataclass(frozen=True)
    class EmailLogged:
        correspondence_id: UUID
        organisation_id: UUID
        subject_ref: str
        key_ref: str
        email_address: str
        logged_by: str

    @dataclass(frozen=True)
    class MessageRecorded:
        correspondence_id: UUID
        organisation_id: UUID
        subject_ref: str
        key_ref: str
        message: EmailMessage
        recorded_by: str

    @dataclass(frozen=True)
    class PhoneLogged:
        correspondence_id: UUID
        organisation_id: UUID
        subject_ref: str
        key_ref: str
        contact: PhoneContact
        logged_by: str

    @dataclass(frozen=True)
    class Erased:
        correspondence_id: UUID
        organisation_id: UUID
        subject_ref: str
        key_ref: str
        reason: ErasureReason
        request_id: UUID | None

    id: UUID
    organisation_id: UUID
    subject_ref: str
    key_ref: str
    channel: Channel
    email_address: str | None
    messages: list[EmailMessage]
    phone: PhoneContact | None
    erased: bool

    @classmethod
    def log_email(
        cls,
        *,
        correspondence_id: UUID,
        organisation_id: UUID,
        subject_ref: str,
        key_ref: str,
        email_address: str,
        messages: Sequence[EmailMessage],
        logged_by: str,
    ) -> Correspondence:
        """Log an e-mail correspondence: the address and its messages (R9)."""
        if not messages:
            raise NoMessages("an e-mail correspondence needs at least one message")
        item = cls._blank()
        item._raise(
            cls.EmailLogged(
                correspondence_id=correspondence_id,
                organisation_id=organisation_id,
                subject_ref=subject_ref,
                key_ref=key_ref,
                email_address=email_address.strip().lower(),
                logged_by=logged_by,
            )
        )
        for message in sorted(messages, key=lambda m: m.sent_at):
            item.record_message(message, recorded_by=logged_by)
        return item

    @classmethod
    def log_phone(
        cls,
        *,
        correspondence_id: UUID,
        organisation_id: UUID,
        subject_ref: str,
        key_ref: str,
        contact: PhoneContact,
        logged_by: str,
    ) -> Correspondence:
        """Log a phone contact: number, the person's name, a written summary (R9)."""
        item = cls._blank()
        item._raise(
            cls.PhoneLogged(
                correspondence_id=correspondence_id,
                organisation_id=organisation_id,
                subject_ref=subject_ref,
                key_ref=key_ref,
                contact=PhoneContact(
                    phone_number=contact.phone_number.strip(),
                    person_name=contact.person_name.strip(),
                    summary=contact.summary.strip(),
                    contacted_at=contact.contacted_at,
                ),
                logged_by=logged_by,
            )
        )
        return item

    def record_message(self, message: EmailMessage, *, recorded_by: str) -> None:
        """Add a message to an e-mail correspondence."""
        self._require_not_erased()
        if self.channel is not Channel.EMAIL:
            raise NotAnEmailCorrespondence("a phone contact has no messages")
        self._raise(
            self.MessageRecorded(
                correspondence_id=self.id,
                organisation_id=self.organisation_id,
                subject_ref=self.subject_ref,
                key_ref=self.key_ref,
                message=message,
                recorded_by=recorded_by,
            )
        )

    def erase(self, *, reason: ErasureReason, request_id: UUID | None) -> None:
        """Delete the item (its key scope is destroyed by the caller after this is recorded)."""
        self._require_not_erased()
        self._raise(
            self.Erased(
                correspondence_id=self.id,
                organisation_id=self.organisation_id,
                subject_ref=self.subject_ref,
                key_ref=self.key_ref,
                reason=reason,
                request_id=request_id,
            )
        )

    def _require_not_erased(self) -> None:
        if self.erased:
            raise CorrespondenceAlreadyErased("the correspondence was deleted")

    def _apply(self, event: CorrespondenceEvent) -> None:
        match event:
            case Correspondence.EmailLogged():
                self._start(event.correspondence_id, event.organisation_id, event.subject_ref)
                self.key_ref = event.key_ref
                self.channel = Channel.EMAIL
                self.email_address = event.email_address
            case Correspondence.PhoneLogged():
                self._start(event.correspondence_id, event.organisation_id, event.subject_ref)
                self.key_ref = event.key_ref
                self.channel = Channel.PHONE
                self.phone = event.contact
            case Correspondence.MessageRecorded():
                self.messages.append(event.message)
            case Correspondence.Erased():
                self.erased = True
                self.email_address = None
                self.messages = []
                self.phone = None
            case _:
                assert_never(event)

    def _start(self, correspondence_id: UUID, organisation_id: UUID, subject_ref: str) -> None:
        self.id = correspondence_id
        self.organisation_id = organisation_id
        self.subject_ref = subject_ref
        self.email_address = None
        self.messages = []
        self.phone = None
        self.erased = False


CorrespondenceEvent = (
    Correspondence.EmailLogged
    | Correspondence.MessageRecorded
    | Correspondence.PhoneLogged
    | Correspondence.Erased
)


# --- retention and holds (R9) -------------------------------------------------------------


def add_years(day: date, years: int) -> date:
    """``day`` moved ``years`` ahead; 29 February falls back to the 28th in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def retain_until(*, contract_ended_on: date | None, logged_on: date, years: int) -> date | None:
    """The last day an item is kept (R9), or None while the organisation is a customer.

    One year (``years``) after the customer relationship ended; an item logged after that
    (a former customer writes to us) is kept ``years`` from when it was logged.
    """
    if contract_ended_on is None:
        return None
    return add_years(max(contract_ended_on, logged_on), years)


def retention_expired(until: date | None, *, today: date) -> bool:
    """Whether an item's retention has run out: it is kept through ``until``, gone after."""
    return until is not None and today > until


@dataclass(frozen=True)
class HoldFacts:
    """What may keep one item: facts the service layer reads, the rule below weighs."""

    person_has_open_complaint: bool
    organisation_in_legal_dispute: bool


def kept_reason(facts: HoldFacts) -> KeptReason | None:
    """Why an item must be kept despite a deletion or an expired retention, if at all."""
    if facts.person_has_open_complaint:
        return KeptReason.OPEN_COMPLAINT
    if facts.organisation_in_legal_dispute:
        return KeptReason.LEGAL_CLAIM
    return None


@dataclass(frozen=True)
class ItemFacts:
    correspondence_id: UUID
    holds: HoldFacts


@dataclass(frozen=True)
class KeptItem:
    correspondence_id: UUID
    reason: KeptReason


@dataclass(frozen=True)
class DeletionPlan:
    """Which items a deletion removes and which it keeps, each with its reason (R10)."""

    delete: tuple[UUID, ...]
    keep: tuple[KeptItem, ...]


def plan_deletion(items: Sequence[ItemFacts]) -> DeletionPlan:
    """Delete every item no hold protects; keep the others with the reason that holds them."""
    delete: list[UUID] = []
    keep: list[KeptItem] = []
    for item in sorted(items, key=lambda facts: str(facts.correspondence_id)):
        reason = kept_reason(item.holds)
        if reason is None:
            delete.append(item.correspondence_id)
        else:
            keep.append(KeptItem(item.correspondence_id, reason))
    return DeletionPlan(delete=tuple(delete), keep=tuple(keep))
