"""An organisation's export at a contract end (art. 28(3)(g)) in the orchestrator's database.

``organisation_exports`` (one row per organisation: that the controller asked, when, how many
access requests are filed) and ``organisation_export_requests`` (which access requests belong
to it). The subjects are the requests' own (``requests.subject_ref``): nothing is copied.
Plain functions on the caller's connection, so they join the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

# The request states in which an access request's export was assembled.
_DONE = ("completed", "partially_completed")


@dataclass(frozen=True)
class OrganisationExport:
    organisation_id: UUID
    contract_end_id: UUID
    requested_at: datetime
    requested_by_role: str
    filed: int
    filed_at: datetime | None


@dataclass(frozen=True)
class PersonExport:
    """One access request of the organisation's export and its sealed document, if stored."""

    request_id: UUID
    subject_ref: str
    state: str
    document: str | None


async def start(
    conn: asyncpg.Connection,
    *,
    organisation_id: UUID,
    contract_end_id: UUID,
    requested_at: datetime,
    requested_by_role: str,
) -> bool:
    """Record that the export was requested; False if it was before."""
    inserted = await conn.fetchval(
        "INSERT INTO organisation_exports (organisation_id, contract_end_id, requested_at,"
        " requested_by_role) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (organisation_id) DO NOTHING RETURNING true",
        organisation_id,
        contract_end_id,
        requested_at,
        requested_by_role,
    )
    return bool(inserted)


async def find(
    conn: asyncpg.Connection, organisation_id: UUID, *, for_update: bool = False
) -> OrganisationExport | None:
    query = (
        "SELECT organisation_id, contract_end_id, requested_at, requested_by_role, filed,"
        " filed_at FROM organisation_exports WHERE organisation_id = $1"
    )
    row = await conn.fetchrow(query + (" FOR UPDATE" if for_update else ""), organisation_id)
    return None if row is None else OrganisationExport(**dict(row))


async def subjects_without_request(
    conn: asyncpg.Connection, organisation_id: UUID, *, limit: int
) -> list[str]:
    """The organisation's next `limit` subjects (directory order) with no access request of
    this export yet: a resumed filing continues where the last batch committed."""
    rows = await conn.fetch(
        "SELECT s.subject_ref FROM organisation_subjects s WHERE s.organisation_id = $1"
        " AND NOT EXISTS (SELECT 1 FROM organisation_export_requests l"
        " JOIN requests r ON r.request_id = l.request_id"
        " WHERE l.organisation_id = $1 AND r.subject_ref = s.subject_ref)"
        " ORDER BY s.subject_ref LIMIT $2",
        organisation_id,
        limit,
    )
    return [row["subject_ref"] for row in rows]


async def link(conn: asyncpg.Connection, organisation_id: UUID, request_ids: list[UUID]) -> None:
    """The requests belong to the organisation's export; count them."""
    await conn.executemany(
        "INSERT INTO organisation_export_requests (request_id, organisation_id) VALUES ($1, $2)",
        [(request_id, organisation_id) for request_id in request_ids],
    )
    await conn.execute(
        "UPDATE organisation_exports SET filed = filed + $2 WHERE organisation_id = $1",
        organisation_id,
        len(request_ids),
    )


async def finish_filing(conn: asyncpg.Connection, organisation_id: UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE organisation_exports SET filed_at = $2 WHERE organisation_id = $1",
        organisation_id,
        at,
    )


async def count_completed(conn: asyncpg.Connection, organisation_id: UUID) -> int:
    """How many of the export's access requests have completed."""
    completed: int = await conn.fetchval(
        "SELECT count(*) FROM organisation_export_requests l"
        " JOIN requests r ON r.request_id = l.request_id"
        " WHERE l.organisation_id = $1 AND r.state = ANY($2::text[])",
        organisation_id,
        list(_DONE),
    )
    return completed


async def person_exports(conn: asyncpg.Connection, organisation_id: UUID) -> list[PersonExport]:
    """Every access request of the organisation's export with its sealed document (if
    stored), in subject order: the organisation's link decides, never the subject."""
    rows = await conn.fetch(
        "SELECT r.request_id, r.subject_ref, r.state, e.document"
        " FROM organisation_export_requests l"
        " JOIN requests r ON r.request_id = l.request_id"
        " LEFT JOIN access_exports e ON e.request_id = r.request_id"
        " WHERE l.organisation_id = $1 ORDER BY r.subject_ref, r.request_id",
        organisation_id,
    )
    return [PersonExport(**dict(row)) for row in rows]


async def keep_until(conn: asyncpg.Connection, request_id: UUID) -> datetime | None:
    """The end of the export offer when ``request_id`` belongs to an organisation export:
    its per-person export must stay stored until the controller could fetch it."""
    until: datetime | None = await conn.fetchval(
        "SELECT c.offer_until FROM organisation_export_requests l"
        " JOIN organisation_exports o ON o.organisation_id = l.organisation_id"
        " JOIN contract_ends c ON c.contract_end_id = o.contract_end_id"
        " WHERE l.request_id = $1",
        request_id,
    )
    return until
