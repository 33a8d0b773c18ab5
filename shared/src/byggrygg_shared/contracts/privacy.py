"""The privacy orchestrator's commands to the participants, and their replies (DESIGN §5;
R6, R14, R15, R16, R19).

Commands (imperative) go from ``privacy-orchestrator`` to one participant each, on that
participant's topic ``privacy.commands.<participant>.v1`` (key = request id): the ``participant``
field routes the command (see ``IntegrationEvent.route_field``), and a participant refuses a
command addressed to someone else. Every participant answers with ``ParticipantReplied`` on
``privacy.replies.v1`` (key = request id), appended to its own event store in the same
transaction as the effect and the inbox claim, so the effect and the reply are atomic and a
redelivered command yields the recorded reply again (``byggrygg_shared.participant``).

Erasure and the subject's key ring key (DESIGN §4): the data key is shared by every service
that encrypts the subject's fields, and a hold (open complaint, dispute, debt, bookkeeping) in
one service may need it. So a participant shreds the key only for an ``EraseSubject`` or
``AnonymiseSubject`` that carries no hold; with holds the key stays, the evidence says ``kept``
with the basis, and the orchestrator sends a new command without the hold when it ends. The
orchestrator also shreds the key at the end of a request in which nobody kept encrypted data
(idempotent: a key already shredded stays shredded). Anonymisation never needs the key: what
is kept anonymously is kept from the participant's own plaintext columns.

Replies carry evidence (locations as the participants' data inventories name them, actions,
counts, bases), never the data: the only personal field is ``export``, a key-ring token under
the subject's key holding the participant's part of an access export (R14).

The orchestrator also publishes where each request stands, ``RequestStateChanged`` on
``privacy.requests.v1`` (key = request id), for reporting's operations dashboard (issue 6). It
holds no personal data and no subject ref: a dashboard counts requests, it does not follow
people (the request id links to the orchestrator's own view for staff).

And, from time to time, a signed checkpoint of the completion records' chain head,
``RecordChainCheckpointed`` on ``privacy.record-checkpoints.v1`` (R19): kept on Kafka, outside
the orchestrator's database, it lets an auditor show that no record was removed from the
chain's end since. Its data is a checkpoint file as ``verify-records --anchor`` reads it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Final, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.registry import register

__all__ = [
    "COMMANDS_TOPIC_TEMPLATE",
    "PARTICIPANTS",
    "RECORD_CHECKPOINTS_TOPIC",
    "REPLIES_TOPIC",
    "REQUESTS_TOPIC",
    "AnonymiseSubject",
    "EraseSubject",
    "Evidence",
    "EvidenceAction",
    "ExportSubject",
    "Hold",
    "Outcome",
    "ParticipantReplied",
    "PrivacyCommand",
    "RecordChainCheckpointed",
    "RectifySubject",
    "RequestStateChanged",
    "ResponseTime",
    "command_topic",
]

_PREFIX = "no.byggrygg.privacy."
ORCHESTRATOR: Final = "privacy-orchestrator"
PARTICIPANTS: Final = ("identity", "courses", "consent", "reporting")
COMMANDS_TOPIC_TEMPLATE: Final = "privacy.commands.{participant}.v1"
REPLIES_TOPIC: Final = "privacy.replies.v1"
REQUESTS_TOPIC: Final = "privacy.requests.v1"
RECORD_CHECKPOINTS_TOPIC: Final = "privacy.record-checkpoints.v1"

ParticipantName = Literal["identity", "courses", "consent", "reporting"]
HoldBasis = Literal["open_complaint", "legal_dispute", "outstanding_debt", "bookkeeping"]
# byggrygg_shared.inventory.DataCategory's values (a unit test keeps the two equal).
DataCategoryName = Literal["identity", "contact", "profile", "authentication", "payment", "content"]
# The fields a rectification may correct (R15); identity's ProfileFieldName.
RectifiableField = Literal["name", "email", "phone", "gender", "language"]
CommandName = Literal["erase", "anonymise", "export", "rectify"]
RequestKindName = Literal["access", "rectification", "erasure"]
RequestStateName = Literal[
    "received",
    "awaiting_controller",
    "approved",
    "in_progress",
    "on_hold",
    "completed",
    "partially_completed",
    "rejected",
]
Outcome = Literal["completed", "partially_completed", "failed"]
EvidenceAction = Literal["erased", "anonymised", "kept", "exported", "rectified", "crypto_shredded"]


def command_topic(participant: str) -> str:
    """The topic a participant's privacy commands travel on."""
    if participant not in PARTICIPANTS:
        raise ValueError(f"{participant!r} is not a privacy participant")
    return COMMANDS_TOPIC_TEMPLATE.replace("{participant}", participant)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Hold(_Frozen):
    """A legal hold: data of these categories is kept on this basis (R16, GDPR art. 17(3))."""

    hold_id: UUID
    basis: HoldBasis
    categories: list[DataCategoryName]
    keep_until: date | None  # None: until an event ends it (complaint resolved, debt paid)


class PrivacyCommand(IntegrationEvent):
    """What every command to a participant carries; routed by ``participant``."""

    source_service: ClassVar[str] = ORCHESTRATOR
    topic: ClassVar[str] = COMMANDS_TOPIC_TEMPLATE
    route_field: ClassVar[str | None] = "participant"
    routes: ClassVar[tuple[str, ...]] = PARTICIPANTS
    command: ClassVar[CommandName]

    request_id: UUID
    participant: ParticipantName
    subject_ref: str
    organisation_id: UUID | None
    issued_at: datetime


class _ErasureCommand(PrivacyCommand):
    holds: list[Hold]


@register
class EraseSubject(_ErasureCommand):
    """Erase everything of the subject except what a hold covers; anonymise what the
    participant's inventory says to anonymise (R6, R16)."""

    event_type: ClassVar[str] = _PREFIX + "EraseSubject"
    command: ClassVar[CommandName] = "erase"


@register
class AnonymiseSubject(_ErasureCommand):
    """Anonymise instead of delete wherever the participant's inventory allows it (R16)."""

    event_type: ClassVar[str] = _PREFIX + "AnonymiseSubject"
    command: ClassVar[CommandName] = "anonymise"


@register
class ExportSubject(PrivacyCommand):
    """Reply with the participant's part of the subject's access export (R14)."""

    event_type: ClassVar[str] = _PREFIX + "ExportSubject"
    command: ClassVar[CommandName] = "export"


@register
class RectifySubject(PrivacyCommand):
    """Apply these corrections to every copy the participant holds (R15). Each value is a
    key-ring token under the subject's key."""

    event_type: ClassVar[str] = _PREFIX + "RectifySubject"
    command: ClassVar[CommandName] = "rectify"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"corrections"})

    corrections: dict[RectifiableField, str]


class Evidence(_Frozen):
    """What a participant did at one location (e.g. "column users.name", "event field
    no.byggrygg.identity.UserCreated.name"), how many rows or values, and why, if kept."""

    location: str
    action: EvidenceAction
    count: int
    basis: str | None = None
    keep_until: date | None = None


@register
class ParticipantReplied(IntegrationEvent):
    """A participant carried out (or could not carry out) a privacy command (R19)."""

    event_type: ClassVar[str] = _PREFIX + "ParticipantReplied"
    # The role; each participant emits it under its own name (ce_source).
    source_service: ClassVar[str] = "privacy-participant"
    senders: ClassVar[tuple[str, ...]] = PARTICIPANTS
    topic: ClassVar[str] = REPLIES_TOPIC
    personal_fields: ClassVar[frozenset[str]] = frozenset({"export"})

    request_id: UUID
    participant: ParticipantName
    command: CommandName
    subject_ref: str
    outcome: Outcome
    evidence: list[Evidence]
    export: str | None  # a key-ring token: the participant's JSON export part (export only)
    replied_at: datetime


PRIVACY_COMMANDS: Final[tuple[type[PrivacyCommand], ...]] = (
    EraseSubject,
    AnonymiseSubject,
    ExportSubject,
    RectifySubject,
)


class ResponseTime(_Frozen):
    """When one party of a request was asked and when it responded (issue 6, the ops
    dashboard's reply and confirmation times). ``party`` is a participant service's name or a
    sub-processor's company name (R12), never a person. ``state``: ``responded`` (a
    participant's reply or a sub-processor's verified confirmation), ``waiting``,
    ``escalated`` (an operator must look) or ``closed_by_operator`` (R13: no response, closed
    with a reason). ``responded_at`` is set only for ``responded``."""

    party_kind: Literal["participant", "sub_processor"]
    party: str
    asked_at: datetime
    responded_at: datetime | None
    state: Literal["responded", "waiting", "escalated", "closed_by_operator"]


@register
class RequestStateChanged(IntegrationEvent):
    """Where a data-subject request stands after a change (DESIGN §5, R19), for dashboards.

    Published in the transaction of the change: the request's state moved (received,
    approved, in progress, on hold, completed...), its deadline was extended, a participant was
    escalated (or sent its command again by an operator), or a sub-processor request closed by
    an operator. ``change`` names what happened (``received``, ``approved``, ``rejected``,
    ``in_progress``, ``put_on_hold``, ``released``, ``deadline_extended``,
    ``participant_escalated``, ``participant_resent``, ``sub_processor_closed``,
    ``completed``). Answers (replies, confirmations) alone publish nothing: the counts are
    as of the change. ``overdue`` is as of ``changed_at``; a reader compares ``deadline`` with
    its own today for a live figure. ``escalated``: a participant or a sub-processor request
    needs an operator. No personal data, no subject ref.
    """

    event_type: ClassVar[str] = _PREFIX + "RequestStateChanged"
    source_service: ClassVar[str] = ORCHESTRATOR
    topic: ClassVar[str] = REQUESTS_TOPIC

    request_id: UUID
    kind: RequestKindName
    state: RequestStateName
    change: str
    organisation_id: UUID | None
    requested_by_role: str  # data_subject | contact_person | platform_staff | automatic
    trigger: str | None  # an automatic request's trigger code (licence_revoked, ...)
    received_at: datetime
    deadline: date
    deadline_extended: bool
    overdue: bool
    on_hold: bool
    escalated: bool
    participants_answered: int
    participants_expected: int
    sub_processors_confirmed: int  # confirmed, or closed by an operator
    sub_processors_expected: int
    changed_at: datetime
    completed_at: datetime | None
    # Added compatibly (optional, default empty): filled on the changes a dashboard measures
    # by (``completed``, ``participant_escalated``, ``sub_processor_closed``, and any change
    # while something is escalated); empty on the others to keep the feed small.
    response_times: list[ResponseTime] = Field(default_factory=list)


class CheckpointHead(_Frozen):
    """The chain head a checkpoint signs: the last record's number and hash."""

    sequence: int = Field(ge=1)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class CheckpointBody(_Frozen):
    """What the signature covers (SHA-256 of its RFC 8785 canonical JSON)."""

    chain_head: CheckpointHead
    taken_at: str = Field(description="UTC, as signed (``YYYY-MM-DDTHH:MM:SS.ffffffZ``)")
    public_key_fingerprint: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")


@register
class RecordChainCheckpointed(IntegrationEvent):
    """A signed checkpoint of the completion records' chain head (R19), published when the
    chain grew since the last one (at most every
    ``BYGGRYGG_PRIVACY_ORCHESTRATOR_CHECKPOINT_SECONDS``). Kept on Kafka (retention
    unlimited), out of reach of whoever administers the orchestrator's database: a later
    export must still hold the record with this hash (``verify-records --anchor``, which reads
    this event's data as a checkpoint file). No personal data: a number, a hash, a time, the
    key's fingerprint."""

    event_type: ClassVar[str] = _PREFIX + "RecordChainCheckpointed"
    source_service: ClassVar[str] = ORCHESTRATOR
    topic: ClassVar[str] = RECORD_CHECKPOINTS_TOPIC

    format: Literal["byggrygg.completion-records-checkpoint.v1"]
    checkpoint: CheckpointBody
    signature: str = Field(pattern=r"^[0-9a-f]{128}$")
