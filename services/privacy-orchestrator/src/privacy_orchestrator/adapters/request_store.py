"""Data-subject requests in the orchestrator's database: the event-sourced repository over
``request_events``, the ``requests`` projection, and the legal holds.

The requests' history uses the shared event store on its own table (and its own notify
channel), so the outbox relay, which reads ``events``, never publishes it. The projection is
updated in the transaction that appends the events. A request's sub-processors are read live
from ``subprocessor_deliveries`` (the delivery worker moves their states, e.g. to ``escalated``,
without touching the request), so the view always shows where each one stands.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

import asyncpg

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.privacy import Hold
from byggrygg_shared.eventstore import EventStore, StoredEvent
from byggrygg_shared.repository import EventSourcedRepository
from privacy_orchestrator.adapters.notice_store import NOTICE_STATE_COLUMN
from privacy_orchestrator.domain.request import (
    FINAL_STATES,
    DataSubjectRequest,
    RequestEvent,
    decode_request_event,
)

REQUEST_EVENTS_TABLE: Final = "request_events"
# Nobody listens: a channel of its own keeps the outbox relay from waking for these appends.
REQUEST_EVENTS_CHANNEL: Final = "byggrygg_request_events"


def request_stream(request_id: UUID) -> str:
    return f"dsr-{request_id}"


class RequestRepository(EventSourcedRepository[DataSubjectRequest, RequestEvent]):
    """Requests from the ``dsr-<id>`` streams of ``request_events``."""

    def __init__(self) -> None:
        async def encode(event: RequestEvent) -> IntegrationEvent:
            return event

        async def decode(stored: StoredEvent) -> RequestEvent:
            return decode_request_event(stored.event_type, stored.payload)

        super().__init__(
            store=EventStore(table=REQUEST_EVENTS_TABLE, notify_channel=REQUEST_EVENTS_CHANNEL),
            aggregate=DataSubjectRequest,
            stream_of=request_stream,
            encode=encode,
            decode=decode,
        )


async def project_request(conn: asyncpg.Connection, request: DataSubjectRequest) -> None:
    """Write the request's current state to ``requests`` (insert or replace)."""
    participants = {
        name: {
            "command": issued.command,
            "replied": name in request.replies,
            "outcome": request.replies[name].outcome if name in request.replies else None,
            # The participant time-out (service_layer.participant_timeouts): when last sent,
            # how often sent again, escalated after the last re-send.
            "sent_at": request.unanswered_since(name).isoformat(),
            "resends": request.resends.get(name, 0),
            "escalated": name in request.escalated_participants,
        }
        for name, issued in sorted(request.issued.items())
    }
    hold = request.hold
    hold_document = (
        None
        if hold is None
        else json.dumps(
            {"since": hold.by.at.isoformat(), "reason": hold.reason, "by_role": hold.by.role.value}
        )
    )
    extension = request.extension
    extension_document = (
        None
        if extension is None
        else json.dumps(
            {
                "months": extension.months,
                "reason": extension.reason,
                "at": extension.extended_by.at.isoformat(),
                "by_role": extension.extended_by.role.value,
            }
        )
    )
    await conn.execute(
        """
        INSERT INTO requests (request_id, kind, state, subject_ref, organisation_id,
                              requested_by_role, requested_by, received_at, deadline,
                              participants, reason, completed_at, version, deadline_extension,
                              trigger, on_hold)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb, $11, $12, $13,
                $14::text::jsonb, $15, $16::text::jsonb)
        ON CONFLICT (request_id) DO UPDATE SET
            state = EXCLUDED.state, participants = EXCLUDED.participants,
            reason = EXCLUDED.reason, completed_at = EXCLUDED.completed_at,
            version = EXCLUDED.version, deadline = EXCLUDED.deadline,
            deadline_extension = EXCLUDED.deadline_extension, on_hold = EXCLUDED.on_hold
        """,
        request.id,
        request.kind.value,
        request.state.value,
        request.subject_ref,
        request.organisation_id,
        request.requested_by.role.value,
        request.requested_by.account,
        request.received_at,
        request.deadline,
        json.dumps(participants),
        request.reason,
        request.completed_at,
        request.version,
        extension_document,
        request.requested_by.trigger,
        hold_document,
    )


async def lock_request(conn: asyncpg.Connection, request_id: UUID) -> None:
    """Lock the request's row for this transaction: a participant's reply and a
    sub-processor's confirmation of the same request are recorded one after the other, so
    exactly one of them sees the last missing answer and completes the request."""
    await lock_requests(conn, [request_id])


async def lock_requests(conn: asyncpg.Connection, request_ids: Sequence[UUID]) -> None:
    """``lock_request`` for several requests in one statement, in id order (rows are locked as
    the sorted scan returns them), so two transactions locking overlapping sets never wait on
    each other in a cycle."""
    await conn.execute(
        "SELECT 1 FROM requests WHERE request_id = ANY($1::uuid[]) ORDER BY request_id FOR UPDATE",
        list(request_ids),
    )


@dataclass(frozen=True)
class RequestView:
    """A row of the ``requests`` projection."""

    request_id: UUID
    kind: str
    state: str
    subject_ref: str
    organisation_id: UUID | None
    requested_by_role: str
    requested_by: str | None
    received_at: datetime
    deadline: date
    participants: dict[str, Any]
    reason: str | None
    completed_at: datetime | None
    sub_processors: list[dict[str, Any]]
    deadline_extension: dict[str, Any] | None
    trigger: str | None
    notice: str = "no_address"  # R10: service_layer.notices (adapters.notice_store)
    on_hold: dict[str, Any] | None = None  # {since, reason, by_role} while held (DESIGN §5)
    export: dict[str, Any] | None = None  # an access request's stored export: expiry, downloads


# Each sub-processor asked (R13) with its delivery's state and times, live from the outbox.
_SUB_PROCESSORS: Final = (
    "coalesce((SELECT json_agg(json_build_object("
    "'subprocessor_id', d.subprocessor_id, 'name', s.name,"
    " 'organisation_number', s.organisation_number, 'action', d.action, 'state', d.state,"
    " 'attempts', d.attempts, 'requested_at', d.created_at, 'delivered_at', d.delivered_at,"
    " 'confirmed_at', d.confirmed_at, 'escalated_at', d.escalated_at,"
    " 'escalation_reason', d.escalation_reason, 'closed_at', d.closed_at,"
    " 'close_reason', d.close_reason) ORDER BY s.name, d.id)::text"
    " FROM subprocessor_deliveries d JOIN subprocessors s ON s.id = d.subprocessor_id"
    " WHERE d.request_id = r.request_id), '[]') AS sub_processors"
)
# An access request's export while it is stored (R14): until when, how often downloaded.
_EXPORT: Final = (
    "(SELECT json_build_object('expires_at', e.expires_at, 'downloads', e.download_count)::text"
    " FROM access_exports e WHERE e.request_id = r.request_id) AS export"
)
_VIEW_COLUMNS: Final = (
    "r.request_id, r.kind, r.state, r.subject_ref, r.organisation_id, r.requested_by_role, "
    "r.requested_by, r.received_at, r.deadline, r.participants::text AS participants, r.reason, "
    "r.completed_at, r.deadline_extension::text AS deadline_extension, r.trigger, "
    "r.on_hold::text AS on_hold, " + _SUB_PROCESSORS + ", " + _EXPORT + ", " + NOTICE_STATE_COLUMN
)
_FINAL: Final = tuple(state.value for state in FINAL_STATES)


def _view(row: asyncpg.Record) -> RequestView:
    values = dict(row)
    values["participants"] = json.loads(values["participants"])
    values["sub_processors"] = json.loads(values["sub_processors"])
    for name in ("deadline_extension", "on_hold", "export"):
        document = values[name]
        values[name] = None if document is None else json.loads(document)
    return RequestView(**values)


async def find_request(conn: asyncpg.Connection, request_id: UUID) -> RequestView | None:
    row = await conn.fetchrow(
        f"SELECT {_VIEW_COLUMNS} FROM requests r WHERE r.request_id = $1",  # noqa: S608
        request_id,
    )
    return None if row is None else _view(row)


async def list_requests(
    conn: asyncpg.Connection,
    *,
    state: str | None,
    limit: int,
    today: date,
    overdue: bool | None = None,
    escalated: bool | None = None,
    subject_ref: str | None = None,
) -> list[RequestView]:
    """Requests oldest first; every filter applies before the limit."""
    rows = await conn.fetch(
        f"SELECT {_VIEW_COLUMNS} FROM requests r"  # noqa: S608 - constant columns
        " WHERE ($1::text IS NULL OR r.state = $1)"
        " AND ($3::boolean IS NULL"
        "      OR (r.state <> ALL($4::text[]) AND r.deadline < $5) = $3)"
        # Escalated: a sub-processor request, or a participant that never replied (R13).
        " AND ($6::boolean IS NULL OR (EXISTS (SELECT 1 FROM subprocessor_deliveries d"
        "      WHERE d.request_id = r.request_id AND d.state = 'escalated')"
        "   OR EXISTS (SELECT 1 FROM jsonb_each(r.participants) p"
        "      WHERE (p.value ->> 'escalated')::boolean)) = $6)"
        " AND ($7::text IS NULL OR r.subject_ref = $7)"
        " ORDER BY r.received_at, r.request_id LIMIT $2",
        state,
        limit,
        overdue,
        list(_FINAL),
        today,
        escalated,
        subject_ref,
    )
    return [_view(row) for row in rows]


# --- legal holds ----------------------------------------------------------------------------


async def add_hold(
    conn: asyncpg.Connection, *, subject_ref: str, hold: Hold, created_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO legal_holds (hold_id, subject_ref, basis, categories, keep_until,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        hold.hold_id,
        subject_ref,
        hold.basis,
        list(hold.categories),
        hold.keep_until,
        created_at,
    )


async def release_hold(conn: asyncpg.Connection, hold_id: UUID, released_at: datetime) -> bool:
    """Release a hold; False if there is no such hold in force."""
    done = await conn.fetchval(
        "UPDATE legal_holds SET released_at = $2 WHERE hold_id = $1 AND released_at IS NULL"
        " RETURNING true",
        hold_id,
        released_at,
    )
    return bool(done)


async def holds_in_force(conn: asyncpg.Connection, subject_ref: str, today: date) -> list[Hold]:
    """The subject's holds not released and not past their keep-until date."""
    rows = await conn.fetch(
        "SELECT hold_id, basis, categories, keep_until FROM legal_holds"
        " WHERE subject_ref = $1 AND released_at IS NULL"
        " AND (keep_until IS NULL OR keep_until >= $2) ORDER BY created_at, hold_id",
        subject_ref,
        today,
    )
    return [Hold.model_validate(dict(row)) for row in rows]


def hold_ids(holds: Sequence[Hold]) -> list[UUID]:
    return [hold.hold_id for hold in holds]
