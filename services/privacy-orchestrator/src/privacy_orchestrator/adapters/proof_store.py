"""The SQL of the requests' proof retention (``service_layer.proof_retention``).

A request's proof is everything that links it to a person: its projection row
(``requests.subject_ref``, ``requested_by``), its history (``request_events``, stream
``dsr-<id>``), its sub-processor deliveries and confirmations, its commands in the outbox
(``events``, stream ``privacy-commands-<id>``, once published), its notice row and its place
in an organisation export. Its completion record holds no personal data and stays: the
signed, hash-chained proof outlives the links.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID

import asyncpg

from privacy_orchestrator.domain.request import FINAL_STATES

_FINAL: Final = sorted(state.value for state in FINAL_STATES)

# Ended before the cutoff (a rejection has no completed_at: its last event's time), and not
# about a subject under a hold in force: the follow-up erasure after a hold is released looks
# for the subject's latest erasure (``complaint_holds.latest_erasure``).
_EXPIRED_SQL: Final = """
SELECT r.request_id FROM requests r
WHERE r.state = ANY($1::text[])
  AND coalesce(r.completed_at, (SELECT max(e.recorded_at) FROM request_events e
                                WHERE e.stream_id = 'dsr-' || r.request_id::text)) < $2
  AND NOT EXISTS (SELECT 1 FROM legal_holds h
                  WHERE h.subject_ref = r.subject_ref AND h.released_at IS NULL)
ORDER BY r.request_id
LIMIT $3
FOR UPDATE OF r SKIP LOCKED
"""

_DELETE_STATEMENTS: Final = (
    "DELETE FROM request_events WHERE stream_id = ANY(SELECT 'dsr-' || unnest($1::uuid[])::text)",
    # Published commands only: an unpublished one is still the relay's (it cannot be, for an
    # ended request, but the outbox is never cut short).
    "DELETE FROM events WHERE published_at IS NOT NULL AND stream_id = ANY("
    "SELECT 'privacy-commands-' || unnest($1::uuid[])::text)",
    "DELETE FROM subprocessor_deliveries WHERE request_id = ANY($1::uuid[])",
    "DELETE FROM subprocessor_confirmations WHERE request_id = ANY($1::uuid[])",
    "DELETE FROM request_notices WHERE request_id = ANY($1::uuid[])",
    "DELETE FROM organisation_export_requests WHERE request_id = ANY($1::uuid[])",
    "DELETE FROM requests WHERE request_id = ANY($1::uuid[])",
)


async def forget_ended_requests(conn: asyncpg.Connection, *, before: datetime, limit: int) -> int:
    """Delete the links to a person of up to ``limit`` requests that ended before ``before``
    (in the caller's transaction); how many requests."""
    rows = await conn.fetch(_EXPIRED_SQL, _FINAL, before, limit)
    ids: list[UUID] = [row["request_id"] for row in rows]
    if ids:
        for statement in _DELETE_STATEMENTS:
            await conn.execute(statement, ids)
    return len(ids)


async def forget_released_holds(conn: asyncpg.Connection, *, before: datetime) -> int:
    """Delete the holds released before ``before``; how many."""
    deleted = await conn.fetchval(
        "WITH gone AS (DELETE FROM legal_holds WHERE released_at < $1 RETURNING 1) "
        "SELECT count(*) FROM gone",
        before,
    )
    return int(deleted)
