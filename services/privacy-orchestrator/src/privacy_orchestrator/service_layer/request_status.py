"""Publishing where a request stands (``RequestStateChanged`` on ``privacy.requests.v1``) for
reporting's operations dashboard (issue 6), through the orchestrator's outbox.

`publish_if_changed` runs in the transaction that saves the request (``requests._save``), so
the event is published if and only if the change commits. It looks at the request's pending
events: a state move, a deadline extension, a participant escalated or a sub-processor
request closed publishes one event with the request's state after all of them (received,
approved and in progress in one filing transaction publish one event); an answer alone (a
reply, a confirmation, a re-sent command) publishes nothing, which keeps the replies' path
(thousands per contract end) free of extra writes. The stream ``privacy-request-status-<id>``
keys every event of one request to one partition, in order.

No personal data: no subject ref (not even in the CloudEvents ``subject``), no account.

``response_times`` (when each participant and sub-processor was asked and responded, for the
dashboard's reply and confirmation times) is filled on the changes it is measured by:
``completed``, ``participant_escalated``, ``sub_processor_closed``, and any change while
something is escalated; other changes leave it empty, keeping the feed small. Every party is
asked at the fan-out (``issued_at``: the commands and the sub-processor requests are written in
one transaction); a re-send does not move ``asked_at``, so a time covers the whole wait. A
sub-processor delivery escalated by the delivery worker shows at the request's next change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from uuid import UUID

import asyncpg

from byggrygg_shared.contracts.privacy import RequestStateChanged, ResponseTime
from byggrygg_shared.envelope import EventMetadata
from privacy_orchestrator.domain import request as dsr
from privacy_orchestrator.domain.request import DataSubjectRequest, RequestEvent
from privacy_orchestrator.service_layer.context import Dependencies

STATUS_STREAM_PREFIX: Final = "privacy-request-status-"

# The changes that carry the parties' response times (besides any while one is escalated).
_TIMED_CHANGES: Final = frozenset({"completed", "participant_escalated", "sub_processor_closed"})

# The change each pending event stands for; None: not published on its own.
_CHANGES: Final[dict[type[RequestEvent], str]] = {
    dsr.RequestReceived: "received",
    dsr.RequestApproved: "approved",
    dsr.RequestRejected: "rejected",
    dsr.CommandsIssued: "in_progress",
    dsr.RequestPutOnHold: "put_on_hold",
    dsr.RequestReleased: "released",
    dsr.DeadlineExtended: "deadline_extended",
    dsr.ParticipantEscalated: "participant_escalated",
    dsr.ParticipantResentByOperator: "participant_resent",
    dsr.SubProcessorClosedByOperator: "sub_processor_closed",
    dsr.RequestCompleted: "completed",
}


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What a save changes: its code, and whether the request is new (its status stream is
    then empty: no need to ask for the stream's version, which spares the bulk filings of a
    contract end a query per request)."""

    change: str
    first: bool


def change_of(pending: Sequence[RequestEvent]) -> StatusChange | None:
    """What the pending events change, by the last that counts; None when nothing does."""
    changes = [_CHANGES[type(event)] for event in pending if type(event) in _CHANGES]
    if not changes:
        return None
    return StatusChange(
        change=changes[-1], first=any(isinstance(e, dsr.RequestReceived) for e in pending)
    )


async def publish_if_changed(
    conn: asyncpg.Connection,
    deps: Dependencies,
    request: DataSubjectRequest,
    status: StatusChange | None,
) -> None:
    """Append ``RequestStateChanged`` to the outbox in the caller's transaction when
    ``status`` (from `change_of`, taken before the save) is not None."""
    if status is None:
        return
    now = deps.clock()
    # A new request's deliveries were just written, pending: nothing to ask.
    escalated_deliveries = (
        frozenset() if status.first else await _escalated_deliveries(conn, request)
    )
    escalated = request.escalated or bool(escalated_deliveries)
    timed = status.change in _TIMED_CHANGES or escalated
    event = RequestStateChanged(
        request_id=request.id,
        kind=request.kind.value,
        state=request.state.value,
        change=status.change,
        organisation_id=request.organisation_id,
        requested_by_role=request.requested_by.role.value,
        trigger=request.requested_by.trigger,
        received_at=request.received_at,
        deadline=request.deadline,
        deadline_extended=request.extension is not None,
        overdue=request.overdue(now.date()),
        on_hold=request.state is dsr.RequestState.ON_HOLD,
        escalated=escalated,
        participants_answered=len(request.replies),
        participants_expected=len(request.issued),
        sub_processors_confirmed=len(set(request.confirmations) | set(request.closed)),
        sub_processors_expected=len(request.sub_processors),
        changed_at=now,
        completed_at=request.completed_at,
        response_times=response_times(request, escalated_deliveries) if timed else [],
    )
    stream = f"{STATUS_STREAM_PREFIX}{request.id}"
    await deps.outbox.append(
        conn,
        stream_id=stream,
        expected_version=None,  # at the stream's end, without reading its version first
        events=[event],
        metadata=EventMetadata.new(
            correlation_id=str(request.id),
            tenant_id=None if request.organisation_id is None else str(request.organisation_id),
            clock=deps.clock,
            new_id=deps.ids.new_id,
        ),
    )


def response_times(
    request: DataSubjectRequest, escalated_deliveries: frozenset[UUID]
) -> list[ResponseTime]:
    """When each party was asked and responded, participants first (by name), then the
    sub-processors (by name); [] before the fan-out (nobody asked yet)."""
    asked_at = request.issued_at
    if asked_at is None:
        return []
    times: list[ResponseTime] = []
    for name in sorted(request.issued):
        reply = request.replies.get(name)
        times.append(
            ResponseTime(
                party_kind="participant",
                party=name,
                asked_at=asked_at,
                responded_at=None if reply is None else reply.replied_at,
                state="responded"
                if reply is not None
                else "escalated"
                if name in request.escalated_participants
                else "waiting",
            )
        )
    for key, asked in sorted(request.sub_processors.items(), key=lambda item: item[1].name):
        confirmed = request.confirmations.get(key)
        times.append(
            ResponseTime(
                party_kind="sub_processor",
                party=asked.name,
                asked_at=asked_at,
                responded_at=None if confirmed is None else confirmed.confirmed_at,
                state="responded"
                if confirmed is not None
                else "closed_by_operator"
                if key in request.closed
                else "escalated"
                if key in escalated_deliveries
                else "waiting",
            )
        )
    return times


async def _escalated_deliveries(
    conn: asyncpg.Connection, request: DataSubjectRequest
) -> frozenset[UUID]:
    """The sub-processors whose delivery for this request is escalated."""
    if not request.sub_processors:
        return frozenset()
    rows = await conn.fetch(
        "SELECT subprocessor_id FROM subprocessor_deliveries"
        " WHERE request_id = $1 AND state = 'escalated'",
        request.id,
    )
    return frozenset(row["subprocessor_id"] for row in rows)
