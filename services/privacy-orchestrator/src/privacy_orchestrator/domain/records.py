"""What a completion record says (R19), as values, and the document that gets hashed and signed.

A record answers: what was asked (request id, kind, when, by which trigger), by whom and who
approved it (a role and, where one acted, the organisation), what every participant service
and sub-processor did with times (counts, table and field names, actions, bases; never the
data), the outcome, the data kept with its basis and end date, and the notices sent (R10).

**No personal data in it.** Records are immutable and kept long after the request (they are the
proof of what was done), so nothing in them may ever need erasing:

- no ``subject_ref``. A pseudonym is personal data (GDPR recital 26) and would make the chain a
  store of it that could never be erased. The link from the request id to the subject lives in
  the request aggregate, which follows the subject's erasure like any other personal data;
- no account ids of the people who asked or approved: a role and an organisation id (an
  organisation is not a natural person) and the time. Who exactly acted is in the request's own
  history, kept under its own retention;
- no free text: reasons and bases are codes or fixed phrases from the inventories.

`completion_document` builds the JSON document and rejects anything that looks like personal
data (a subject ref, an e-mail address) as a last line of defence; `RecordContent` itself
checks the rules that do not need the whole document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

from privacy_orchestrator.domain.errors import InvalidRecord, PersonalDataInRecord

RECORD_FORMAT: Final = "byggrygg.completion-record.v1"

# What must never appear anywhere in a record: a subject ref (docs/decisions.md: `subj_` + 32
# hex), an e-mail address. Checked on every string, keys included.
_SUBJECT_REF: Final = re.compile(r"subj_[0-9a-f]{32}")
_EMAIL: Final = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")


class RequestKind(StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"


class ActorRole(StrEnum):
    """Who asked for or decided on a request, by role only."""

    DATA_SUBJECT = "data_subject"  # self-service (R17)
    CONTACT_PERSON = "contact_person"  # the controller's contact person (R18)
    PLATFORM_STAFF = "platform_staff"
    AUTOMATIC = "automatic"  # a trigger: licence revoked, contract ended, retention clock (R2, R6)


class Outcome(StrEnum):
    COMPLETED = "completed"
    PARTIALLY_COMPLETED = "partially_completed"
    REJECTED = "rejected"
    FAILED = "failed"  # only for one participant's answer
    # Only for a sub-processor's request an operator closed with a written reason (R13).
    CLOSED_BY_OPERATOR = "closed_by_operator"


class EvidenceAction(StrEnum):
    ERASED = "erased"
    ANONYMISED = "anonymised"
    KEPT = "kept"
    EXPORTED = "exported"
    RECTIFIED = "rectified"
    CRYPTO_SHREDDED = "crypto_shredded"


def utc_timestamp(value: datetime, what: str) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRecord(f"{what} has no time zone")
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _optional_timestamp(value: datetime | None, what: str) -> str | None:
    return None if value is None else utc_timestamp(value, what)


def _optional_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _optional_uuid(value: UUID | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Actor:
    """Who asked or decided: a role, the organisation they acted for (if any), and when."""

    role: ActorRole
    at: datetime
    organisation_id: UUID | None = None
    trigger: str | None = None  # for AUTOMATIC: the event or clock, e.g. "LicenceRevoked"

    def document(self, what: str) -> dict[str, Any]:
        if (self.role is ActorRole.AUTOMATIC) != (self.trigger is not None):
            raise InvalidRecord(f"{what}: a trigger is named for automatic requests, and only then")
        return {
            "role": self.role.value,
            "at": utc_timestamp(self.at, f"{what}.at"),
            "organisation_id": _optional_uuid(self.organisation_id),
            "trigger": self.trigger,
        }


@dataclass(frozen=True)
class Evidence:
    """One thing a participant did: where (table/field name), what, how many, and on what basis."""

    location: str  # e.g. "table users.email", "event field UserCreated.name"
    action: EvidenceAction
    count: int
    basis: str | None = None
    keep_until: date | None = None

    def document(self, what: str) -> dict[str, Any]:
        if self.count < 0:
            raise InvalidRecord(f"{what}.count is negative")
        if self.action is EvidenceAction.KEPT and not self.basis:
            raise InvalidRecord(f"{what}: kept data needs a basis")
        return {
            "location": self.location,
            "action": self.action.value,
            "count": self.count,
            "basis": self.basis,
            "keep_until": _optional_date(self.keep_until),
        }


@dataclass(frozen=True)
class ParticipantReport:
    """A participant service's answer to its command, with the times it was sent and answered."""

    participant: str  # identity, courses, consent, reporting
    command: str  # erase, anonymise, export, rectify
    outcome: Outcome
    sent_at: datetime
    replied_at: datetime
    evidence: Sequence[Evidence] = ()

    def document(self, what: str) -> dict[str, Any]:
        return {
            "participant": self.participant,
            "command": self.command,
            "outcome": self.outcome.value,
            "sent_at": utc_timestamp(self.sent_at, f"{what}.sent_at"),
            "replied_at": utc_timestamp(self.replied_at, f"{what}.replied_at"),
            "evidence": [e.document(f"{what}.evidence[{i}]") for i, e in enumerate(self.evidence)],
        }


@dataclass(frozen=True)
class SubProcessorReport:
    """A sub-processor's confirmation (R13): the signed call, its retries and the callback."""

    name: str
    organisation_number: str  # a company's number, not a person's
    webhook_id: str
    sent_at: datetime
    attempts: int
    outcome: Outcome
    confirmed_at: datetime | None = None
    evidence: Sequence[Evidence] = ()
    # The operator's written reason when closed_by_operator (R13); no personal data.
    reason: str | None = None

    def document(self, what: str) -> dict[str, Any]:
        if self.attempts < 1:
            raise InvalidRecord(f"{what}.attempts must be at least 1")
        # The reason only when there is one: earlier records' documents stay as they were.
        reason = {} if self.reason is None else {"reason": self.reason}
        return {
            **reason,
            "name": self.name,
            "organisation_number": self.organisation_number,
            "webhook_id": self.webhook_id,
            "sent_at": utc_timestamp(self.sent_at, f"{what}.sent_at"),
            "attempts": self.attempts,
            "outcome": self.outcome.value,
            "confirmed_at": _optional_timestamp(self.confirmed_at, f"{what}.confirmed_at"),
            "evidence": [e.document(f"{what}.evidence[{i}]") for i, e in enumerate(self.evidence)],
        }


@dataclass(frozen=True)
class KeptData:
    """Data not erased, with what allows keeping it and until when (R9, R16)."""

    participant: str
    location: str
    basis: str  # open_complaint, legal_dispute, outstanding_debt, bookkeeping, ...
    keep_until: date | None = None

    def document(self, what: str) -> dict[str, Any]:
        if not self.basis:
            raise InvalidRecord(f"{what}: kept data needs a basis")
        return {
            "participant": self.participant,
            "location": self.location,
            "basis": self.basis,
            "keep_until": _optional_date(self.keep_until),
        }


@dataclass(frozen=True)
class Notice:
    """A notice sent to the person (R10: why data is kept), by kind, time and message id."""

    kind: str
    sent_at: datetime
    reference: str  # the mail's id (Message-ID), never the address

    def document(self, what: str) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "sent_at": utc_timestamp(self.sent_at, f"{what}.sent_at"),
            "reference": self.reference,
        }


@dataclass(frozen=True)
class RecordContent:
    """Everything a completion record states, before it is chained and signed."""

    request_id: UUID
    kind: RequestKind
    received_at: datetime
    deadline: date
    requested_by: Actor
    outcome: Outcome
    completed_at: datetime
    approved_by: Actor | None = None
    participants: Sequence[ParticipantReport] = ()
    sub_processors: Sequence[SubProcessorReport] = ()
    kept: Sequence[KeptData] = ()
    notices: Sequence[Notice] = ()
    reason: str | None = None  # a code for a rejection or partial outcome, never free text

    def document(self) -> dict[str, Any]:
        """The content as a JSON object (without sequence and previous hash)."""
        if self.outcome in {Outcome.FAILED, Outcome.CLOSED_BY_OPERATOR}:
            raise InvalidRecord("a request ends completed, partially completed or rejected")
        if self.outcome is not Outcome.REJECTED and not self.participants:
            raise InvalidRecord("a request that was carried out names its participants")
        return {
            "request": {
                "request_id": str(self.request_id),
                "kind": self.kind.value,
                "received_at": utc_timestamp(self.received_at, "request.received_at"),
                "deadline": self.deadline.isoformat(),
            },
            "requested_by": self.requested_by.document("requested_by"),
            "approved_by": None
            if self.approved_by is None
            else self.approved_by.document("approved_by"),
            "participants": _documents(self.participants, "participants"),
            "sub_processors": _documents(self.sub_processors, "sub_processors"),
            "kept": _documents(self.kept, "kept"),
            "notices": _documents(self.notices, "notices"),
            "outcome": self.outcome.value,
            "reason": self.reason,
            "completed_at": utc_timestamp(self.completed_at, "completed_at"),
        }


def _documents(
    items: Iterable[Actor | Evidence | ParticipantReport | SubProcessorReport | KeptData | Notice],
    what: str,
) -> list[dict[str, Any]]:
    return [item.document(f"{what}[{i}]") for i, item in enumerate(items)]


def completion_document(content: RecordContent, *, sequence: int, prev_hash: str) -> dict[str, Any]:
    """The whole record as hashed and signed: format, position in the chain, content."""
    if sequence < 1:
        raise InvalidRecord("sequence numbers start at 1")
    document = {
        "format": RECORD_FORMAT,
        "sequence": sequence,
        "prev_hash": prev_hash,
        **content.document(),
    }
    assert_no_personal_data(document)
    return document


def assert_no_personal_data(value: Any, path: str = "$") -> None:
    """Raise `PersonalDataInRecord` if any key or string in `value` looks personal."""
    if isinstance(value, str):
        if _SUBJECT_REF.search(value) or _EMAIL.search(value):
            raise PersonalDataInRecord(path)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            assert_no_personal_data(key, f"{path} (a key)")
            assert_no_personal_data(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            assert_no_personal_data(item, f"{path}[{index}]")
    elif isinstance(value, float):
        raise InvalidRecord(f"{path} is a float; records hold integers only")
