"""Read queries of correspondence, deletion requests, complaints and customers (SQL only).

Rows carry the stored tokens; the service layer decrypts what it shows. The hold facts of an
item (R9, R21) are computed here in one query so that deletion and purge weigh the same facts.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg

_ITEM_WITH_HOLDS = """
SELECT i.correspondence_id, i.subject_ref, i.organisation_id, i.key_ref, i.retain_until,
       EXISTS (
           SELECT 1 FROM complaints c
           WHERE c.subject_ref = i.subject_ref AND c.kind = 'complaint'
             AND c.status = 'open' AND 'correspondence' = ANY (c.concerns)
       ) AS open_complaint,
       COALESCE(cu.legal_dispute, false) AS legal_dispute
FROM correspondence_items i
LEFT JOIN consent_customers cu ON cu.organisation_id = i.organisation_id
"""


async def lock_person(conn: asyncpg.Connection, subject_ref: str) -> None:
    """Serialise deletion, purge and complaints of one person within their transactions, so a
    complaint opened concurrently cannot miss an item a deletion is about to remove."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('consent-correspondence:' || $1, 0))",
        subject_ref,
    )


async def items_with_holds_of_person(
    conn: asyncpg.Connection, subject_ref: str
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        _ITEM_WITH_HOLDS + " WHERE i.subject_ref = $1 ORDER BY i.correspondence_id", subject_ref
    )
    return rows


async def expired_items_with_holds(conn: asyncpg.Connection, today: date) -> list[asyncpg.Record]:
    """Items whose R9 retention ended before ``today``, oldest first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        _ITEM_WITH_HOLDS
        + " WHERE i.retain_until IS NOT NULL AND i.retain_until < $1"
        + " ORDER BY i.retain_until, i.correspondence_id",
        today,
    )
    return rows


async def fetch_item(conn: asyncpg.Connection, correspondence_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT i.*, cu.contract_ended_on FROM correspondence_items i "
        "LEFT JOIN consent_customers cu ON cu.organisation_id = i.organisation_id "
        "WHERE i.correspondence_id = $1",
        correspondence_id,
    )
    return row


async def list_items(
    conn: asyncpg.Connection, *, subject_ref: str | None, organisation_id: UUID | None
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT i.*, cu.contract_ended_on FROM correspondence_items i "
        "LEFT JOIN consent_customers cu ON cu.organisation_id = i.organisation_id "
        "WHERE ($1::text IS NULL OR i.subject_ref = $1) "
        "AND ($2::uuid IS NULL OR i.organisation_id = $2) "
        "ORDER BY i.logged_at, i.correspondence_id LIMIT 500",
        subject_ref,
        organisation_id,
    )
    return rows


async def fetch_messages(conn: asyncpg.Connection, correspondence_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM correspondence_messages WHERE correspondence_id = $1 "
        "ORDER BY sent_at, message_id",
        correspondence_id,
    )
    return rows


async def contract_ended_on(conn: asyncpg.Connection, organisation_id: UUID) -> date | None:
    value: date | None = await conn.fetchval(
        "SELECT contract_ended_on FROM consent_customers WHERE organisation_id = $1",
        organisation_id,
    )
    return value


async def pending_deletions_of(conn: asyncpg.Connection, subject_ref: str) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT request_id FROM correspondence_deletions "
        "WHERE subject_ref = $1 AND status = 'pending' ORDER BY requested_at, request_id",
        subject_ref,
    )
    return [row["request_id"] for row in rows]


async def persons_with_pending_deletions(
    conn: asyncpg.Connection, organisation_id: UUID
) -> list[str]:
    """The persons with a pending deletion request (R10) and correspondence of the
    organisation, in lock order."""
    rows = await conn.fetch(
        "SELECT DISTINCT d.subject_ref FROM correspondence_deletions d "
        "JOIN correspondence_items i ON i.subject_ref = d.subject_ref "
        "WHERE d.status = 'pending' AND i.organisation_id = $1 ORDER BY d.subject_ref",
        organisation_id,
    )
    return [row["subject_ref"] for row in rows]


async def fetch_deletion(conn: asyncpg.Connection, request_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM correspondence_deletions WHERE request_id = $1", request_id
    )
    return row


async def fetch_kept(conn: asyncpg.Connection, request_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT correspondence_id, reason FROM correspondence_kept WHERE request_id = $1 "
        "ORDER BY correspondence_id",
        request_id,
    )
    return rows


async def fetch_notices(conn: asyncpg.Connection, request_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT notice_id, subject_ref, kept_count, reasons, sent_at "
        "FROM correspondence_notices WHERE request_id = $1 ORDER BY sent_at, notice_id",
        request_id,
    )
    return rows


async def fetch_complaint(conn: asyncpg.Connection, complaint_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM complaints WHERE complaint_id = $1", complaint_id
    )
    return row


async def list_complaints(
    conn: asyncpg.Connection, *, subject_ref: str | None, status: str | None
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM complaints WHERE ($1::text IS NULL OR subject_ref = $1) "
        "AND ($2::text IS NULL OR status = $2) ORDER BY opened_at, complaint_id LIMIT 500",
        subject_ref,
        status,
    )
    return rows
