"""The data-subject request (DESIGN §5): an event-sourced aggregate with its state machine.

States: ``received -> awaiting_controller | approved -> in_progress -> completed |
partially_completed | rejected``. A self-service request (R17) and a staff request are approved
as they arrive; one forwarded by an organisation's contact person waits for that contact
person's decision (R18). Approval issues one command per planned participant and, in the same
step, a signed request to every sub-processor that received the subject's data (R13); each
participant's reply and each sub-processor's verified confirmation is recorded. The request
completes only when every participant has replied AND every sub-processor has confirmed,
partially when a participant kept something or failed, or a sub-processor did not carry it
out. The deadline is one month from receipt; staff may extend it once by up to two further
months with a reason code (art. 12(3)).

Operator and time-out steps (R13, DESIGN §5):

- a participant that has not replied in time gets its command again (the same command: the
  same CloudEvent id, participants are idempotent), up to a number of times, and is then
  ``escalated``; the request stays open until it replies (``resend_command``,
  ``escalate_participant``);
- staff may send an escalated sub-processor request again, or close it with a written reason
  (``close_sub_processor``): a closed one counts as answered, and the request then ends
  ``partially_completed`` at best, the reason in its record;
- staff may put an in-progress request ``on_hold`` with a reason and release it. Replies and
  confirmations are still recorded while it is held, but it does not complete until released.
  The hold does not move the deadline (art. 12(3): only a filed extension does).

A rectification's corrections travel as key-ring tokens under the subject's key (R15): the
request's history holds the tokens (so a shredded key makes them unreadable), never the values.

The events are the request's own history, stored in the orchestrator's ``request_events``
table (never relayed to Kafka). They are pydantic models on the contract base only because the
event store stores contracts; none is registered in the platform's contract registry.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Final, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from byggrygg_shared.aggregate import Aggregate
from byggrygg_shared.contracts.base import IntegrationEvent
from privacy_orchestrator.domain.errors import (
    NotAwaitingDecision,
    NotInProgress,
    ParticipantNotEscalated,
    ParticipantNotOnRequest,
    RequestRuleBroken,
    UnexpectedReply,
)
from privacy_orchestrator.domain.records import ActorRole, RequestKind

_PREFIX = "no.byggrygg.privacy-orchestrator."

ReplyOutcome = Literal["completed", "partially_completed", "failed"]
# What a sub-processor's confirmation may say when it carried the request out (or held nothing).
SUBPROCESSOR_DONE: Final = frozenset({"erased", "rectified", "exported", "not_held"})
# art. 12(3): "may be extended by two further months where necessary".
MAX_EXTENSION_MONTHS: Final = 2
ExtensionReason = Literal["complexity", "number_of_requests"]


class RequestState(StrEnum):
    RECEIVED = "received"
    AWAITING_CONTROLLER = "awaiting_controller"
    APPROVED = "approved"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    PARTIALLY_COMPLETED = "partially_completed"
    REJECTED = "rejected"


FINAL_STATES = frozenset(
    {RequestState.COMPLETED, RequestState.PARTIALLY_COMPLETED, RequestState.REJECTED}
)
# Where answers (replies, confirmations) are still recorded: in progress, or held by staff.
OPEN_STATES = frozenset({RequestState.IN_PROGRESS, RequestState.ON_HOLD})
# The longest written reason staff give (a hold, a closed sub-processor request).
MAX_REASON_LENGTH: Final = 500


def months_after(day: date, months: int) -> date:
    """The same day ``months`` months later, or that month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def one_month_after(received: datetime) -> date:
    """The art. 12(3) deadline: the same day next month, or that month's last day."""
    return months_after(received.date(), 1)


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
    # AUTOMATIC only: what started it, a code (domain.triggers.Trigger: licence_revoked, ...).
    trigger: str | None = None


class RequestReceived(RequestEvent):
    event_type: ClassVar[str] = _PREFIX + "RequestReceived"

    kind: RequestKind
    subject_ref: str
    organisation_id: UUID | None
    requested_by: Actor
    received_at: datetime
    deadline: date
    # Rectification only (R15): field -> key-ring token of the new value under the subject's key.
    corrections: dict[str, str] = Field(default_factory=dict)


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


class RequestedSubProcessor(_Value):
    """One sub-processor asked to act (R13): who, and the delivery carrying the signed call."""

    subprocessor_id: UUID
    name: str
    organisation_number: str
    delivery_id: UUID


class SubProcessorsRequested(RequestEvent):
    """Signed requests queued (in the fan-out's transaction) to the sub-processors that
    received the subject's data."""

    event_type: ClassVar[str] = _PREFIX + "SubProcessorsRequested"

    sub_processors: list[RequestedSubProcessor]
    requested_at: datetime


class SubProcessorConfirmed(RequestEvent):
    """A sub-processor's verified callback (R13): what it did, by its counts; no data."""

    event_type: ClassVar[str] = _PREFIX + "SubProcessorConfirmed"

    subprocessor_id: UUID
    outcome: str  # erased | rectified | exported | not_held | another code of theirs
    records: int
    fields: int
    completed_at: datetime | None  # theirs
    confirmed_at: datetime  # ours: when the verified callback arrived
    webhook_id: str


class DeadlineExtended(RequestEvent):
    """Staff extended the deadline by up to two further months (art. 12(3)); the person is
    to be told why within the first month (the reason is a code)."""

    event_type: ClassVar[str] = _PREFIX + "DeadlineExtended"

    extended_by: Actor
    months: int
    reason: ExtensionReason
    deadline: date


class RequestCompleted(RequestEvent):
    event_type: ClassVar[str] = _PREFIX + "RequestCompleted"

    outcome: Literal["completed", "partially_completed"]
    completed_at: datetime


class CommandResent(RequestEvent):
    """A participant had not replied in time: its command was sent again (the same one, under
    the same CloudEvent id; ``attempt`` counts the re-sends)."""

    event_type: ClassVar[str] = _PREFIX + "CommandResent"

    participant: str
    attempt: int
    resent_at: datetime


class ParticipantEscalated(RequestEvent):
    """A participant did not reply after every re-send: an operator must look (the request
    stays open; a late reply is still recorded)."""

    event_type: ClassVar[str] = _PREFIX + "ParticipantEscalated"

    participant: str
    resends: int
    escalated_at: datetime


class ParticipantResentByOperator(RequestEvent):
    """Staff sent an escalated participant's command again (R13): it is waited for again,
    with a fresh round of automatic re-sends before it escalates once more."""

    event_type: ClassVar[str] = _PREFIX + "ParticipantResentByOperator"

    participant: str
    by: Actor
    resent_at: datetime


class SubProcessorResentByOperator(RequestEvent):
    """Staff sent an escalated sub-processor request again (R13)."""

    event_type: ClassVar[str] = _PREFIX + "SubProcessorResentByOperator"

    subprocessor_id: UUID
    by: Actor


class SubProcessorClosedByOperator(RequestEvent):
    """Staff closed an escalated sub-processor request with a written reason (R13): it counts
    as answered, not as carried out."""

    event_type: ClassVar[str] = _PREFIX + "SubProcessorClosedByOperator"

    subprocessor_id: UUID
    by: Actor
    reason: str


class RequestPutOnHold(RequestEvent):
    """Staff held an in-progress request, with a reason; the deadline does not move."""

    event_type: ClassVar[str] = _PREFIX + "RequestPutOnHold"

    by: Actor
    reason: str


class RequestReleased(RequestEvent):
    """Staff released a held request."""

    event_type: ClassVar[str] = _PREFIX + "RequestReleased"

    by: Actor


class PersonNotified(RequestEvent):
    """A notice to the person was queued (R10; e.g. a deadline extension): its kind, when, and
    the mail's id; never the address."""

    event_type: ClassVar[str] = _PREFIX + "PersonNotified"

    notice: str
    reference: str
    sent_at: datetime


REQUEST_EVENTS: tuple[type[RequestEvent], ...] = (
    RequestReceived,
    RequestApproved,
    RequestRejected,
    CommandsIssued,
    ReplyRecorded,
    RequestCompleted,
    SubProcessorsRequested,
    SubProcessorConfirmed,
    DeadlineExtended,
    CommandResent,
    ParticipantEscalated,
    ParticipantResentByOperator,
    SubProcessorResentByOperator,
    SubProcessorClosedByOperator,
    RequestPutOnHold,
    RequestReleased,
    PersonNotified,
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
    corrections: dict[str, str]
    sub_processors: dict[UUID, RequestedSubProcessor]
    confirmations: dict[UUID, SubProcessorConfirmed]
    extension: DeadlineExtended | None
    resends: dict[str, int]
    last_sent: dict[str, datetime]
    escalated_participants: dict[str, datetime]
    closed: dict[UUID, SubProcessorClosedByOperator]
    hold: RequestPutOnHold | None
    notified: list[PersonNotified]

    @classmethod
    def receive(
        cls,
        *,
        request_id: UUID,
        kind: RequestKind,
        subject_ref: str,
        organisation_id: UUID | None,
        requested_by: Actor,
        corrections: dict[str, str] | None = None,
    ) -> DataSubjectRequest:
        """A new request. A contact person's waits for their decision (R18); the person's own
        (R17) and staff's are approved at once. A rectification carries its corrections (as
        key-ring tokens), and only a rectification does."""
        if (kind is RequestKind.RECTIFICATION) != bool(corrections):
            raise RequestRuleBroken("a rectification, and only a rectification, has corrections")
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
                corrections=dict(corrections or {}),
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
        """Record a participant's reply; False if it was recorded before (a redelivery). Also
        while the request is on hold (it then completes when released)."""
        self._require_open()
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

    def request_sub_processors(self, requested: list[RequestedSubProcessor], at: datetime) -> None:
        """Record the signed requests queued to sub-processors (R13), in the fan-out's step."""
        self._require_state(RequestState.IN_PROGRESS, NotInProgress)
        if self.sub_processors:
            raise RequestRuleBroken("the sub-processors were already asked")
        if not requested:
            return
        if len({item.subprocessor_id for item in requested}) != len(requested):
            raise RequestRuleBroken("one request per sub-processor")
        self._raise(
            SubProcessorsRequested(request_id=self.id, sub_processors=requested, requested_at=at)
        )

    def record_confirmation(
        self,
        *,
        subprocessor_id: UUID,
        outcome: str,
        records: int,
        fields: int,
        completed_at: datetime | None,
        confirmed_at: datetime,
        webhook_id: str,
    ) -> bool:
        """Record a sub-processor's verified confirmation; False if recorded before (also
        while on hold, and after an operator closed it: the confirmation then stands)."""
        self._require_open()
        if subprocessor_id not in self.sub_processors:
            raise UnexpectedReply("the request was never sent to this sub-processor")
        if subprocessor_id in self.confirmations:
            return False
        self._raise(
            SubProcessorConfirmed(
                request_id=self.id,
                subprocessor_id=subprocessor_id,
                outcome=outcome,
                records=records,
                fields=fields,
                completed_at=completed_at,
                confirmed_at=confirmed_at,
                webhook_id=webhook_id,
            )
        )
        return True

    def extend_deadline(self, by: Actor, *, months: int, reason: ExtensionReason) -> None:
        """Extend the deadline once, by one or two further months (art. 12(3))."""
        if self.state in FINAL_STATES:
            raise NotInProgress(f"the request is {self.state.value}")
        if self.extension is not None:
            raise RequestRuleBroken("the deadline was already extended")
        if not 1 <= months <= MAX_EXTENSION_MONTHS:
            raise RequestRuleBroken("a deadline is extended by one or two months")
        self._raise(
            DeadlineExtended(
                request_id=self.id,
                extended_by=by,
                months=months,
                reason=reason,
                deadline=months_after(self.deadline, months),
            )
        )

    # --- time-outs and operator actions (R13, DESIGN §5) ---------------------------------

    def unanswered_since(self, participant: str) -> datetime:
        """When the participant's command was last sent (it has not replied)."""
        assert self.issued_at is not None
        return self.last_sent.get(participant, self.issued_at)

    def waiting_participants(self) -> list[str]:
        """Participants without a reply that are not escalated, by name."""
        return sorted(
            name
            for name in self.issued
            if name not in self.replies and name not in self.escalated_participants
        )

    def resend_command(self, participant: str, at: datetime) -> IssuedCommand:
        """Note that the participant's command is sent again; the command (its event id)."""
        self._require_state(RequestState.IN_PROGRESS, NotInProgress)
        issued = self._waiting(participant)
        self._raise(
            CommandResent(
                request_id=self.id,
                participant=participant,
                attempt=self.resends.get(participant, 0) + 1,
                resent_at=at,
            )
        )
        return issued

    def escalate_participant(self, participant: str, at: datetime) -> None:
        """The participant did not reply after its re-sends: show it as escalated."""
        self._require_state(RequestState.IN_PROGRESS, NotInProgress)
        self._waiting(participant)
        self._raise(
            ParticipantEscalated(
                request_id=self.id,
                participant=participant,
                resends=self.resends.get(participant, 0),
                escalated_at=at,
            )
        )

    def _waiting(self, participant: str) -> IssuedCommand:
        issued = self.issued.get(participant)
        if issued is None:
            raise RequestRuleBroken(f"no command was sent to {participant}")
        if participant in self.replies:
            raise RequestRuleBroken(f"{participant} has replied")
        if participant in self.escalated_participants:
            raise RequestRuleBroken(f"{participant} is escalated")
        return issued

    def resend_to_escalated(self, participant: str, by: Actor) -> IssuedCommand:
        """Staff send an escalated participant's command again; the command (its event id)."""
        if participant not in self.issued:
            raise ParticipantNotOnRequest(participant)
        self._require_state(RequestState.IN_PROGRESS, NotInProgress)
        if participant not in self.escalated_participants:
            raise ParticipantNotEscalated(f"{participant} is not escalated")
        issued = self.issued[participant]
        self._raise(
            ParticipantResentByOperator(
                request_id=self.id, participant=participant, by=by, resent_at=by.at
            )
        )
        return issued

    def resend_sub_processor(self, subprocessor_id: UUID, by: Actor) -> None:
        """Staff send an unanswered sub-processor request again (the caller checked that its
        delivery is escalated)."""
        self._require_open()
        self._unanswered_sub_processor(subprocessor_id)
        self._raise(
            SubProcessorResentByOperator(request_id=self.id, subprocessor_id=subprocessor_id, by=by)
        )

    def close_sub_processor(self, subprocessor_id: UUID, by: Actor, reason: str) -> None:
        """Staff close an unanswered sub-processor request with a written reason: it counts
        as answered (not carried out), so the request may complete, partially."""
        self._require_open()
        self._unanswered_sub_processor(subprocessor_id)
        self._raise(
            SubProcessorClosedByOperator(
                request_id=self.id,
                subprocessor_id=subprocessor_id,
                by=by,
                reason=_written_reason(reason),
            )
        )

    def _unanswered_sub_processor(self, subprocessor_id: UUID) -> None:
        if subprocessor_id not in self.sub_processors:
            raise RequestRuleBroken("the request was never sent to this sub-processor")
        if subprocessor_id in self.confirmations or subprocessor_id in self.closed:
            raise RequestRuleBroken("the sub-processor's part is already answered")

    def put_on_hold(self, by: Actor, reason: str) -> None:
        """Staff hold an in-progress request; the deadline does not move (art. 12(3))."""
        self._require_state(RequestState.IN_PROGRESS, NotInProgress)
        self._raise(RequestPutOnHold(request_id=self.id, by=by, reason=_written_reason(reason)))

    def release(self, by: Actor) -> None:
        """Staff release a held request; it completes at once if every answer is in."""
        self._require_state(RequestState.ON_HOLD, NotInProgress)
        self._raise(RequestReleased(request_id=self.id, by=by))

    def note_notice(self, notice: str, reference: str, at: datetime) -> None:
        """A notice to the person was queued (R10): its kind and the mail's id."""
        if self.state in FINAL_STATES:
            raise NotInProgress(f"the request is {self.state.value}")
        self._raise(
            PersonNotified(request_id=self.id, notice=notice, reference=reference, sent_at=at)
        )

    @property
    def escalated(self) -> bool:
        """A participant is escalated (the sub-processors' escalations are their deliveries')."""
        return bool(self.escalated_participants)

    @property
    def can_complete(self) -> bool:
        """In progress (not held) with every answer in."""
        return self.state is RequestState.IN_PROGRESS and self.all_answered

    @property
    def all_replied(self) -> bool:
        """Every participant has replied (the sub-processors may still be missing)."""
        return bool(self.issued) and set(self.replies) == set(self.issued)

    @property
    def all_confirmed(self) -> bool:
        """Every sub-processor asked has confirmed or was closed by an operator (true when
        none was asked)."""
        return set(self.confirmations) | set(self.closed) == set(self.sub_processors)

    @property
    def all_answered(self) -> bool:
        """Every participant's reply and every sub-processor's confirmation is in (R13)."""
        return self.all_replied and self.all_confirmed

    def complete(self, at: datetime) -> None:
        """End the request once every participant has replied and every sub-processor has
        confirmed; never before (R13)."""
        self._require_state(RequestState.IN_PROGRESS, NotInProgress)
        if not self.all_replied:
            raise NotInProgress("participants have not all replied")
        if not self.all_confirmed:
            raise NotInProgress("sub-processors have not all confirmed")
        partial = any(
            reply.outcome != "completed"
            or any(item.action == "kept" and item.count > 0 for item in reply.evidence)
            for reply in self.replies.values()
        ) or any(item.outcome not in SUBPROCESSOR_DONE for item in self.confirmations.values())
        # Closed by an operator and never confirmed: not carried out as far as we know.
        partial = partial or any(key not in self.confirmations for key in self.closed)
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

    def _require_open(self) -> None:
        if self.state not in OPEN_STATES:
            raise NotInProgress(f"the request is {self.state.value}")

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
                self.corrections = dict(event.corrections)
                self.sub_processors = {}
                self.confirmations = {}
                self.extension = None
                self.resends = {}
                self.last_sent = {}
                self.escalated_participants = {}
                self.closed = {}
                self.hold = None
                self.notified = []
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
            case SubProcessorsRequested():
                self.sub_processors = {item.subprocessor_id: item for item in event.sub_processors}
            case SubProcessorConfirmed():
                self.confirmations[event.subprocessor_id] = event
            case DeadlineExtended():
                self.deadline = event.deadline
                self.extension = event
            case RequestCompleted():
                self.state = RequestState(event.outcome)
                self.completed_at = event.completed_at
            case CommandResent():
                self.resends[event.participant] = event.attempt
                self.last_sent[event.participant] = event.resent_at
            case ParticipantEscalated():
                self.escalated_participants[event.participant] = event.escalated_at
            case ParticipantResentByOperator():
                self.escalated_participants.pop(event.participant, None)
                self.resends[event.participant] = 0
                self.last_sent[event.participant] = event.resent_at
            case SubProcessorResentByOperator():
                pass  # the delivery itself goes back to pending (its own table)
            case SubProcessorClosedByOperator():
                self.closed[event.subprocessor_id] = event
            case RequestPutOnHold():
                self.state = RequestState.ON_HOLD
                self.hold = event
            case RequestReleased():
                self.state = RequestState.IN_PROGRESS
                self.hold = None
            case PersonNotified():
                self.notified.append(event)
            case _:
                raise RequestRuleBroken(f"unknown request event {type(event).__name__}")


def _written_reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise RequestRuleBroken("a reason is required")
    if len(text) > MAX_REASON_LENGTH:
        raise RequestRuleBroken(f"a reason is at most {MAX_REASON_LENGTH} characters")
    return text


def decode_request_event(event_type: str, payload: dict[str, Any]) -> RequestEvent:
    """A stored request event from its type and payload."""
    for cls in REQUEST_EVENTS:
        if cls.event_type == event_type:
            return cls.model_validate(payload)
    raise RequestRuleBroken(f"{event_type} is not a request event")
