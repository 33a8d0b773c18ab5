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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import asyncpg

from byggrygg_shared.contracts.privacy import RequestStateChanged
from byggrygg_shared.envelope import EventMetadata
from privacy_orchestrator.domain import request as dsr
from privacy_orchestrator.domain.request import DataSubjectRequest, RequestEvent
from privacy_orchestrator.service_layer.context import Dependencies

STATUS_STREAM_PREFIX: Final = "privacy-request-status-"

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
        # A new request's deliveries were just written, pending: nothing to ask.
        escalated=request.escalated
        or (not status.first and await _sub_processor_escalated(conn, request)),
        participants_answered=len(request.replies),
        participants_expected=len(request.issued),
        sub_processors_confirmed=len(set(request.confirmations) | set(request.closed)),
        sub_processors_expected=len(request.sub_processors),
        changed_at=now,
        completed_at=request.completed_at,
    )
    stream = f"{STATUS_STREAM_PREFIX}{request.id}"
    await deps.outbox.append(
        conn,
        stream_id=stream,
        expected_version=0 if status.first else await deps.outbox.stream_version(conn, stream),
        events=[event],
        metadata=EventMetadata.new(
            correlation_id=str(request.id),
            tenant_id=None if request.organisation_id is None else str(request.organisation_id),
            clock=deps.clock,
            new_id=deps.ids.new_id,
        ),
    )


async def _sub_processor_escalated(conn: asyncpg.Connection, request: DataSubjectRequest) -> bool:
    if not request.sub_processors:
        return False
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM subprocessor_deliveries"
            " WHERE request_id = $1 AND state = 'escalated')",
            request.id,
        )
    )
