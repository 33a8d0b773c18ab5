"""Data-subject requests in the orchestrator's database: the event-sourced repository over
``request_events``, the ``requests`` projection, and the legal holds.

The requests' history uses the shared event store on its own table (and its own notify
channel), so the outbox relay, which reads ``events``, never publishes it. The projection is
updated in the transaction that appends the events.
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
from privacy_orchestrator.domain.request import (
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
        }
        for name, issued in sorted(request.issued.items())
    }
    await conn.execute(
        """
        INSERT INTO requests (request_id, kind, state, subject_ref, organisation_id,
                              requested_by_role, requested_by, received_at, deadline,
                              participants, reason, completed_at, version)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb, $11, $12, $13)
        ON CONFLICT (request_id) DO UPDATE SET
            state = EXCLUDED.state, participants = EXCLUDED.participants,
            reason = EXCLUDED.reason, completed_at = EXCLUDED.completed_at,
            version = EXCLUDED.version
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


_VIEW_COLUMNS: Final = (
    "request_id, kind, state, subject_ref, organisation_id, requested_by_role, requested_by, "
    "received_at, deadline, participants::text AS participants, reason, completed_at"
)


def _view(row: asyncpg.Record) -> RequestView:
    values = dict(row)
    values["participants"] = json.loads(values["participants"])
    return RequestView(**values)


async def find_request(conn: asyncpg.Connection, request_id: UUID) -> RequestView | None:
    row = await conn.fetchrow(
        f"SELECT {_VIEW_COLUMNS} FROM requests WHERE request_id = $1",  # noqa: S608
        request_id,
    )
    return None if row is None else _view(row)


async def list_requests(
    conn: asyncpg.Connection, *, state: str | None, limit: int
) -> list[RequestView]:
    rows = await conn.fetch(
        f"SELECT {_VIEW_COLUMNS} FROM requests"  # noqa: S608
        " WHERE ($1::text IS NULL OR state = $1) ORDER BY received_at, request_id LIMIT $2",
        state,
        limit,
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
