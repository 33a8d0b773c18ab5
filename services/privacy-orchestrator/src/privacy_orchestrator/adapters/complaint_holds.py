"""Complaint holds in ``legal_holds`` (R16, R21), and the subjects' latest erasures.

A complaint's hold has an id derived from the complaint (``domain.triggers.complaint_hold_id``),
so placing it again (a redelivery, a second ``ComplaintOpened`` of the same complaint) adds
nothing, and its ``ComplaintResolved`` finds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from privacy_orchestrator.domain.triggers import ENDED_KEEPING_NOTHING


@dataclass(frozen=True)
class LatestErasure:
    request_id: UUID
    state: str
    organisation_id: UUID | None


async def place_hold(
    conn: asyncpg.Connection,
    *,
    hold_id: UUID,
    subject_ref: str,
    categories: list[str],
    at: datetime,
) -> bool:
    """An ``open_complaint`` hold without end date; False if it was placed before."""
    inserted = await conn.fetchval(
        "INSERT INTO legal_holds (hold_id, subject_ref, basis, categories, keep_until, created_at)"
        " VALUES ($1, $2, 'open_complaint', $3, NULL, $4)"
        " ON CONFLICT (hold_id) DO NOTHING RETURNING true",
        hold_id,
        subject_ref,
        categories,
        at,
    )
    return bool(inserted)


async def release_hold(conn: asyncpg.Connection, hold_id: UUID, at: datetime) -> bool:
    """Release the hold if it is in force; False if there is none."""
    released = await conn.fetchval(
        "UPDATE legal_holds SET released_at = $2 WHERE hold_id = $1 AND released_at IS NULL"
        " RETURNING true",
        hold_id,
        at,
    )
    return bool(released)


async def release_any_hold(conn: asyncpg.Connection, hold_id: UUID, at: datetime) -> str | None:
    """Release a hold in force (any basis); its subject's ref, or None if there is none."""
    subject_ref: str | None = await conn.fetchval(
        "UPDATE legal_holds SET released_at = $2 WHERE hold_id = $1 AND released_at IS NULL"
        " RETURNING subject_ref",
        hold_id,
        at,
    )
    return subject_ref


async def latest_erasure(conn: asyncpg.Connection, subject_ref: str) -> LatestErasure | None:
    row = await conn.fetchrow(
        "SELECT request_id, state, organisation_id FROM requests"
        " WHERE subject_ref = $1 AND kind = 'erasure' ORDER BY received_at DESC, request_id"
        " LIMIT 1",
        subject_ref,
    )
    return None if row is None else LatestErasure(**dict(row))


async def subjects_to_follow_up(conn: asyncpg.Connection, organisation_id: UUID) -> list[str]:
    """The organisation's subjects whose latest erasure (of any organisation) kept something
    or is still open, in lock order. A scan of the requests: it runs once per resolved legal
    claim of an ended customer."""
    rows = await conn.fetch(
        "SELECT subject_ref FROM ("
        " SELECT DISTINCT ON (subject_ref) subject_ref, state, organisation_id FROM requests"
        " WHERE kind = 'erasure' AND subject_ref IN ("
        "  SELECT subject_ref FROM requests WHERE organisation_id = $1 AND kind = 'erasure')"
        " ORDER BY subject_ref, received_at DESC, request_id) AS latest"
        " WHERE state <> ALL($2::text[]) AND organisation_id = $1"
        " ORDER BY subject_ref",
        organisation_id,
        sorted(ENDED_KEEPING_NOTHING),
    )
    return [row["subject_ref"] for row in rows]
