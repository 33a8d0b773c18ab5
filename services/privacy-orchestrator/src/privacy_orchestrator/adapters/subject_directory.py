"""The directory of each organisation's subjects (pseudonyms only), from identity's user topic.

A contract end erases every subject of the organisation (R6), so the orchestrator keeps who
they are: ``organisation_subjects`` (organisation id, subject ref), filled from
``UserCreated`` and ``LicenceGranted`` and emptied of a subject by ``UserErased``. No names,
no e-mail addresses: the subject ref is all an erasure needs.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def list_subject(
    conn: asyncpg.Connection, *, organisation_id: UUID, subject_ref: str, at: datetime
) -> bool:
    """Add the subject to the organisation's directory; False if it was there."""
    inserted = await conn.fetchval(
        "INSERT INTO organisation_subjects (organisation_id, subject_ref, listed_at)"
        " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true",
        organisation_id,
        subject_ref,
        at,
    )
    return bool(inserted)


async def forget_subject(conn: asyncpg.Connection, subject_ref: str) -> int:
    """Remove an erased subject from every organisation's directory; how many rows went."""
    status: str = await conn.execute(
        "DELETE FROM organisation_subjects WHERE subject_ref = $1", subject_ref
    )
    return int(status.split()[-1])


async def subjects_after(
    conn: asyncpg.Connection, organisation_id: UUID, *, after: str | None, limit: int
) -> list[str]:
    """The organisation's next `limit` subjects in subject-ref order, after `after`."""
    rows = await conn.fetch(
        "SELECT subject_ref FROM organisation_subjects WHERE organisation_id = $1"
        " AND ($2::text IS NULL OR subject_ref > $2) ORDER BY subject_ref LIMIT $3",
        organisation_id,
        after,
        limit,
    )
    return [row["subject_ref"] for row in rows]
