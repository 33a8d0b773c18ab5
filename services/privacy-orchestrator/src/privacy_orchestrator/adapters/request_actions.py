"""The rows the operator actions and the participant time-out touch (R13, DESIGN §5): a
request's sub-processor delivery (sent again, or closed with a reason), the command first
sent to a participant (sent again as it was), and the requests waiting too long on one.

Every function runs on the caller's connection, inside its transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.privacy import PRIVACY_COMMANDS
from byggrygg_shared.envelope import EventMetadata


async def delivery_on_request(
    conn: asyncpg.Connection, *, request_id: UUID, subprocessor_id: UUID
) -> asyncpg.Record | None:
    """The request's delivery to the sub-processor (id, state), locked for this transaction."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, state FROM subprocessor_deliveries"
        " WHERE request_id = $1 AND subprocessor_id = $2 FOR UPDATE",
        request_id,
        subprocessor_id,
    )
    return row


async def resend_delivery(
    conn: asyncpg.Connection,
    delivery_id: UUID,
    *,
    webhook_id: str,
    now: datetime,
    deadline: datetime,
) -> None:
    """Back to ``pending`` as a new message (a new webhook-id), due now, escalation cleared.
    The acceptance time is cleared too: the confirmation deadline runs from the new one."""
    await conn.execute(
        "UPDATE subprocessor_deliveries SET state = 'pending', webhook_id = $2,"
        " next_attempt_at = $3, deadline = $4, delivered_at = NULL, escalated_at = NULL,"
        " escalation_reason = NULL WHERE id = $1",
        delivery_id,
        webhook_id,
        now,
        deadline,
    )


async def close_delivery(
    conn: asyncpg.Connection, delivery_id: UUID, *, reason: str, now: datetime
) -> None:
    """Closed by an operator: nothing more is sent (the delivery worker sends ``pending``)."""
    await conn.execute(
        "UPDATE subprocessor_deliveries SET state = 'closed', closed_at = $2, close_reason = $3"
        " WHERE id = $1",
        delivery_id,
        now,
        reason,
    )


async def issued_command(
    conn: asyncpg.Connection, *, stream_id: str, event_id: UUID
) -> tuple[IntegrationEvent, EventMetadata] | None:
    """The command first appended under ``event_id`` on ``stream_id``, with its metadata: to
    be appended again as it was (the same CloudEvent id: participants deduplicate on it)."""
    row = await conn.fetchrow(
        "SELECT event_type, payload::text AS payload, metadata::text AS metadata FROM events"
        " WHERE stream_id = $1 AND metadata ->> 'event_id' = $2 ORDER BY version LIMIT 1",
        stream_id,
        str(event_id),
    )
    if row is None:
        return None
    payload: dict[str, Any] = json.loads(row["payload"])
    meta: dict[str, Any] = json.loads(row["metadata"])
    for contract in PRIVACY_COMMANDS:
        if contract.event_type == row["event_type"]:
            return contract.model_validate(payload), EventMetadata(
                event_id=UUID(meta["event_id"]),
                occurred_at=datetime.fromisoformat(meta["occurred_at"]),
                correlation_id=meta["correlation_id"],
                causation_id=meta.get("causation_id"),
                tenant_id=meta.get("tenant_id"),
                subject_ref=meta.get("subject_ref"),
            )
    return None


async def waiting_on_participants(
    conn: asyncpg.Connection, *, sent_before: datetime, limit: int
) -> list[UUID]:
    """In-progress requests with a participant that has neither replied nor been escalated
    and was last sent its command before ``sent_before``, oldest first."""
    rows = await conn.fetch(
        "SELECT r.request_id FROM requests r WHERE r.state = 'in_progress' AND EXISTS ("
        " SELECT 1 FROM jsonb_each(r.participants) p"
        " WHERE NOT (p.value ->> 'replied')::boolean"
        " AND NOT coalesce((p.value ->> 'escalated')::boolean, false)"
        " AND coalesce((p.value ->> 'sent_at')::timestamptz, r.received_at) < $1)"
        " ORDER BY r.received_at, r.request_id LIMIT $2",
        sent_before,
        limit,
    )
    return [UUID(str(row["request_id"])) for row in rows]


async def export_expiry(conn: asyncpg.Connection, request_id: UUID) -> datetime | None:
    """Until when the request's access export can be downloaded (R14), if it was built."""
    value: datetime | None = await conn.fetchval(
        "SELECT expires_at FROM access_exports WHERE request_id = $1", request_id
    )
    return value
