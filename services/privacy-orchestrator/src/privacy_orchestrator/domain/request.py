"""The data-subject request (DESIGN §5): an event-sourced aggregate with its state machine.

States: ``received -> awaiting_controller | approved -> in_progress -> completed |
partially_completed | rejected``. A self-service request (R17) and a staff request are approved
as they arrive; one forwarded by an organisation's contact person waits for that contact
person's decision (R18). Approval issues one command per planned participant; each reply is
recorded; when every planned participant has replied the request completes, partially when a
participant kept something or failed. The deadline is one month from receipt (art. 12(3)).

The events are the request's own history, stored in the orchestrator's ``request_events``
table (never relayed to Kafka). They are pydantic models on the contract base only because the
event store stores contracts; none is registered in the platform's contract registry.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from byggrygg_shared.aggregate import Aggregate
from byggrygg_shared.contracts.base import IntegrationEvent
from privacy_orchestrator.domain.errors import (
    NotAwaitingDecision,
    NotInProgress,
    RequestRuleBroken,
    UnexpectedReply,
)
from privacy_orchestrator.domain.records import ActorRole, RequestKind

_PREFIX = "no.byggrygg.privacy-orchestrator."

ReplyOutcome = Literal["completed", "partially_completed", "failed"]


class RequestState(StrEnum):
    RECEIVED = "received"
    AWAITING_CONTROLLER = "awaiting_controller"
    APPROVED = "approved"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    PARTIALLY_COMPLETED = "partially_completed"
    REJECTED = "rejected"


FINAL_STATES = frozenset(
    {RequestState.COMPLETED, RequestState.PARTIALLY_COMPLETED, RequestState.REJECTED}
)


def one_month_after(received: datetime) -> date:
    """The art. 12(3) deadline: the same day next month, or that month's last day."""
    day = received.date()
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- events ---------------------------------------------------------------------------------


class RequestEvent(IntegrationEvent):
    """Base of the request's events (internal: stored, never published)."""

    source_service: ClassVar[str] = "privacy-orchestrator"
    topic: ClassVar[str] = "privacy-orchestrator.requests.v1"

    request_id: UUID


class Actor(_Value):
    """Who acted: role, the account (kept in the request's history only), the organisation."""

    role: ActorRole
    account: str | None  # the user id of who acted; None for an automatic trigger
    organisation_id: UUID | None
    at: datetime


class RequestReceived(RequestEvent):
    event_type: ClassVar[str] = _PREFIX + "RequestReceived"

    kind: RequestKind
    subject_ref: str
    organisation_id: UUID | None
    requested_by: Actor
    received_at: datetime
    deadline: date


class RequestApproved(RequestEvent):
    event_type: ClassVar[str] = _PREFIX + "RequestApproved"

    approved_by: Actor


class RequestRejected(RequestEvent):
    event_type: ClassVar[str] = _PREFIX + "RequestRejected"

    rejected_by: Actor
    reason: str  # a code (R19: no free text in the record)


class IssuedCommand(_Value):
    """One command sent: to whom, which, and the CloudEvent id it travelled under."""

    participant: str
    command: str
    event_id: UUID


class CommandsIssued(RequestEvent):
    event_type: ClassVar[str] = _PREFIX + "CommandsIssued"

    commands: list[IssuedCommand]
    hold_ids: list[UUID]
    issued_at: datetime


class RecordedEvidence(_Value):
    location: str
    action: str
    count: int
    basis: str | None
    keep_until: date | None


class ReplyRecorded(RequestEvent):
    event_type: ClassVar[str] = _PREFIX + "ReplyRecorded"

    participant: str
    command: str
    outcome: ReplyOutcome
    evidence: list[RecordedEvidence]
    replied_at: datetime


class RequestCompleted(RequestEvent):
    event_type: ClassVar[str] = _PREFIX + "RequestCompleted"

    outcome: Literal["completed", "partially_completed"]
    completed_at: datetime


REQUEST_EVENTS: tuple[type[RequestEvent], ...] = (
    RequestReceived,
    RequestApproved,
    RequestRejected,
    CommandsIssued,
    ReplyRecorded,
    RequestCompleted,
)


# --- the aggregate --------------------------------------------------------------------------


class DataSubjectRequest(Aggregate[RequestEvent]):
    """One data-subject request; the stream id is ``dsr-<id>``."""

    id: UUID
    kind: RequestKind
    subject_ref: str
    organisation_id: UUID | None
    requested_by: Actor
    received_at: datetime
    deadline: date
    state: RequestState
    decided_by: Actor | None
    reason: str | None
    issued: dict[str, IssuedCommand]
    issued_at: datetime | None
    replies: dict[str, ReplyRecorded]
    completed_at: datetime | None

    @classmethod
    def receive(
        cls,
        *,
        request_id: UUID,
        kind: RequestKind,
        subject_ref: str,
        organisation_id: UUID | None,
        requested_by: Actor,
    ) -> DataSubjectRequest:
        """A new request. A contact person's waits for their decision (R18); the person's own
        (R17) and staff's are approved at once."""
        request = cls._blank()
        received_at = requested_by.at
        request._raise(
            RequestReceived(
                request_id=request_id,
                kind=kind,
                subject_ref=subject_ref,
                organisation_id=organisation_id,
                requested_by=requested_by,
                received_at=received_at,
                deadline=one_month_after(received_at),
            )
        )
        if requested_by.role is not ActorRole.CONTACT_PERSON:
            request._raise(RequestApproved(request_id=request_id, approved_by=requested_by))
        return request

    def approve(self, by: Actor) -> None:
        self._require_state(RequestState.AWAITING_CONTROLLER, NotAwaitingDecision)
        self._raise(RequestApproved(request_id=self.id, approved_by=by))

    def reject(self, by: Actor, reason: str) -> None:
        self._require_state(RequestState.AWAITING_CONTROLLER, NotAwaitingDecision)
        self._raise(RequestRejected(request_id=self.id, rejected_by=by, reason=reason))

    def issue(self, commands: list[IssuedCommand], hold_ids: list[UUID], at: datetime) -> None:
        """Record the commands sent to the participants (the plan's fan-out)."""
        self._require_state(RequestState.APPROVED, NotInProgress)
        if not commands:
            raise RequestRuleBroken("a request needs at least one participant")
        self._raise(
            CommandsIssued(request_id=self.id, commands=commands, hold_ids=hold_ids, issued_at=at)
        )

    def record_reply(
        self,
        *,
        participant: str,
        command: str,
        outcome: ReplyOutcome,
        evidence: list[RecordedEvidence],
        replied_at: datetime,
    ) -> bool:
        """Record a participant's reply; False if it was recorded before (a redelivery)."""
        self._require_state(RequestState.IN_PROGRESS, NotInProgress)
        issued = self.issued.get(participant)
        if issued is None or issued.command != command:
            raise UnexpectedReply(f"no {command} command was sent to {participant}")
        if participant in self.replies:
            return False
        self._raise(
            ReplyRecorded(
                request_id=self.id,
                participant=participant,
                command=command,
                outcome=outcome,
                evidence=evidence,
                replied_at=replied_at,
            )
        )
        return True

    @property
    def all_replied(self) -> bool:
        return bool(self.issued) and set(self.replies) == set(self.issued)

    def complete(self, at: datetime) -> None:
        """End the request once every planned participant has replied."""
        self._require_state(RequestState.IN_PROGRESS, NotInProgress)
        if not self.all_replied:
            raise NotInProgress("participants have not all replied")
        partial = any(
            reply.outcome != "completed"
            or any(item.action == "kept" and item.count > 0 for item in reply.evidence)
            for reply in self.replies.values()
        )
        self._raise(
            RequestCompleted(
                request_id=self.id,
                outcome="partially_completed" if partial else "completed",
                completed_at=at,
            )
        )

    def overdue(self, today: date) -> bool:
        return self.state not in FINAL_STATES and today > self.deadline

    def _require_state(self, state: RequestState, error: type[RequestRuleBroken]) -> None:
        if self.state is not state:
            raise error(f"the request is {self.state.value}")

    def _apply(self, event: RequestEvent) -> None:
        match event:
            case RequestReceived():
                self.id = event.request_id
                self.kind = event.kind
                self.subject_ref = event.subject_ref
                self.organisation_id = event.organisation_id
                self.requested_by = event.requested_by
                self.received_at = event.received_at
                self.deadline = event.deadline
                self.state = (
                    RequestState.AWAITING_CONTROLLER
                    if event.requested_by.role is ActorRole.CONTACT_PERSON
                    else RequestState.RECEIVED
                )
                self.decided_by = None
                self.reason = None
                self.issued = {}
                self.issued_at = None
                self.replies = {}
                self.completed_at = None
            case RequestApproved():
                self.state = RequestState.APPROVED
                self.decided_by = event.approved_by
            case RequestRejected():
                self.state = RequestState.REJECTED
                self.decided_by = event.rejected_by
                self.reason = event.reason
            case CommandsIssued():
                self.state = RequestState.IN_PROGRESS
                self.issued = {item.participant: item for item in event.commands}
                self.issued_at = event.issued_at
            case ReplyRecorded():
                self.replies[event.participant] = event
            case RequestCompleted():
                self.state = RequestState(event.outcome)
                self.completed_at = event.completed_at
            case _:
                raise RequestRuleBroken(f"unknown request event {type(event).__name__}")


def decode_request_event(event_type: str, payload: dict[str, Any]) -> RequestEvent:
    """A stored request event from its type and payload."""
    for cls in REQUEST_EVENTS:
        if cls.event_type == event_type:
            return cls.model_validate(payload)
    raise RequestRuleBroken(f"{event_type} is not a request event")
