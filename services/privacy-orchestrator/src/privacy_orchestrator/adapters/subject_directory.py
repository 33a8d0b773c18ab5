"""The directory of each organisation's subjects (pseudonyms only), from identity's user topic.

A contract end erases every subject of the organisation (R6), so the orchestrator keeps who
they are: ``organisation_subjects`` (organisation id, subject ref), filled from
``UserCreated`` and ``LicenceGranted`` and emptied of a subject by ``UserErased``. No names
and no plain addresses: beside the subject ref only identity's token of the login e-mail
(``UserCreated``, ``UserProfileCorrected``), ciphertext under the subject's own key, which an
automatic erasure opens once to know where to tell the person what was kept (R10). Shredding
the subject's key makes it unreadable; ``UserErased`` deletes it.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def list_subject(
    conn: asyncpg.Connection,
    *,
    organisation_id: UUID,
    subject_ref: str,
    email_token: str | None,
    at: datetime,
) -> bool:
    """Add the subject to the organisation's directory (with the e-mail token, if the event
    had one); False if it was there (a token given replaces the old one)."""
    inserted = await conn.fetchval(
        "INSERT INTO organisation_subjects (organisation_id, subject_ref, listed_at, email_token)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (organisation_id, subject_ref) DO UPDATE"
        " SET email_token = coalesce(EXCLUDED.email_token, organisation_subjects.email_token)"
        " RETURNING xmax = 0",
        organisation_id,
        subject_ref,
        at,
        email_token,
    )
    return bool(inserted)


async def correct_email(conn: asyncpg.Connection, subject_ref: str, email_token: str) -> int:
    """The subject's e-mail was rectified (R15): the new token in every directory row."""
    status: str = await conn.execute(
        "UPDATE organisation_subjects SET email_token = $2 WHERE subject_ref = $1",
        subject_ref,
        email_token,
    )
    return int(status.split()[-1])


async def email_token(conn: asyncpg.Connection, subject_ref: str) -> str | None:
    """The subject's e-mail token, if the directory has one."""
    token: str | None = await conn.fetchval(
        "SELECT email_token FROM organisation_subjects WHERE subject_ref = $1"
        " AND email_token IS NOT NULL ORDER BY listed_at DESC LIMIT 1",
        subject_ref,
    )
    return token


async def forget_subject(conn: asyncpg.Connection, subject_ref: str) -> int:
    """Remove an erased subject from every organisation's directory and contacts; how many
    directory rows went."""
    await conn.execute("DELETE FROM organisation_contacts WHERE subject_ref = $1", subject_ref)
    status: str = await conn.execute(
        "DELETE FROM organisation_subjects WHERE subject_ref = $1", subject_ref
    )
    return int(status.split()[-1])


async def list_contact(
    conn: asyncpg.Connection,
    *,
    organisation_id: UUID,
    subject_ref: str,
    email_token: str,
    at: datetime,
) -> None:
    """Record a contact person of the organisation (``ContactPersonAdded``), whom the contract
    end's export offer is told to; a second listing replaces the token."""
    await conn.execute(
        "INSERT INTO organisation_contacts (organisation_id, subject_ref, email_token, listed_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (organisation_id, subject_ref) DO UPDATE"
        " SET email_token = EXCLUDED.email_token",
        organisation_id,
        subject_ref,
        email_token,
        at,
    )


async def contacts_of(conn: asyncpg.Connection, organisation_id: UUID) -> list[tuple[str, str]]:
    """The organisation's contact persons: (subject ref, e-mail token), in listing order."""
    rows = await conn.fetch(
        "SELECT subject_ref, email_token FROM organisation_contacts WHERE organisation_id = $1"
        " ORDER BY listed_at, subject_ref",
        organisation_id,
    )
    return [(row["subject_ref"], row["email_token"]) for row in rows]


async def forget_contacts(conn: asyncpg.Connection, organisation_id: UUID) -> None:
    """The offer is over and every erasure filed: nobody of the organisation is told more."""
    await conn.execute(
        "DELETE FROM organisation_contacts WHERE organisation_id = $1", organisation_id
    )


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
