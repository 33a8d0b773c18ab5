"""The access export's tables (R14): the parts as received and the assembled, sealed export.

``export_parts`` holds each participant's part (a key-ring token) until the export is
assembled; ``access_exports`` holds the assembled document (a key-ring token too) until it
expires. Plain functions on the caller's connection, so they join the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


async def keep_part(
    conn: asyncpg.Connection,
    *,
    request_id: UUID,
    participant: str,
    export_token: str,
    received_at: datetime,
) -> bool:
    """Store a part; False if this participant's part of the request is already kept."""
    kept = await conn.fetchval(
        "INSERT INTO export_parts (request_id, participant, export_token, received_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (request_id, participant) DO NOTHING "
        "RETURNING true",
        request_id,
        participant,
        export_token,
        received_at,
    )
    return bool(kept)


async def parts(conn: asyncpg.Connection, request_id: UUID) -> dict[str, str]:
    """The request's parts: participant -> token."""
    rows = await conn.fetch(
        "SELECT participant, export_token FROM export_parts WHERE request_id = $1", request_id
    )
    return {row["participant"]: row["export_token"] for row in rows}


async def delete_parts(conn: asyncpg.Connection, request_id: UUID) -> int:
    status: str = await conn.execute("DELETE FROM export_parts WHERE request_id = $1", request_id)
    return int(status.split()[-1])


async def save_export(
    conn: asyncpg.Connection,
    *,
    request_id: UUID,
    document: str,
    generated_at: datetime,
    expires_at: datetime,
) -> bool:
    """Store the sealed export; False if the request's export was stored before."""
    saved = await conn.fetchval(
        "INSERT INTO access_exports (request_id, document, generated_at, expires_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) DO NOTHING RETURNING true",
        request_id,
        document,
        generated_at,
        expires_at,
    )
    return bool(saved)


async def has_export(conn: asyncpg.Connection, request_id: UUID) -> bool:
    found = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM access_exports WHERE request_id = $1)", request_id
    )
    return bool(found)


@dataclass(frozen=True)
class ExportLookup:
    """An access request as the download sees it: whose, in which state, and its export."""

    kind: str
    state: str
    subject_ref: str
    document: str | None  # the sealed export; None when not (or no longer) stored
    expires_at: datetime | None


async def lookup(conn: asyncpg.Connection, request_id: UUID) -> ExportLookup | None:
    """The request and its export (None: no such request)."""
    row = await conn.fetchrow(
        "SELECT r.kind, r.state, r.subject_ref, e.document, e.expires_at FROM requests r "
        "LEFT JOIN access_exports e ON e.request_id = r.request_id "
        "WHERE r.request_id = $1",
        request_id,
    )
    return None if row is None else ExportLookup(**dict(row))


async def record_download(conn: asyncpg.Connection, request_id: UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE access_exports SET download_count = download_count + 1, "
        "last_downloaded_at = $2 WHERE request_id = $1",
        request_id,
        at,
    )


async def delete_export(conn: asyncpg.Connection, request_id: UUID) -> bool:
    status: str = await conn.execute("DELETE FROM access_exports WHERE request_id = $1", request_id)
    return status != "DELETE 0"


async def delete_expired(
    conn: asyncpg.Connection, *, now: datetime, parts_received_before: datetime
) -> tuple[int, int]:
    """Delete exports past their expiry and parts older than the TTL; (exports, parts)."""
    exports: str = await conn.execute("DELETE FROM access_exports WHERE expires_at <= $1", now)
    stale: str = await conn.execute(
        "DELETE FROM export_parts WHERE received_at < $1", parts_received_before
    )
    return int(exports.split()[-1]), int(stale.split()[-1])
