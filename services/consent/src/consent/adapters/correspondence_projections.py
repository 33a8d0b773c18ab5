"""Projections of correspondence, deletion requests and complaints, updated in the command's
transaction from the events just appended.

The personal columns get the *tokens* of the stored payload, never plaintext: the projections
are encrypted at rest under the same key scopes as the events, so destroying a scope makes the
event and the row unreadable alike. A deleted item's row is removed as well (R9, R10).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from consent.adapters.correspondence_repositories import Recorded
from consent.domain.complaints import Complaint, ComplaintEvent, ComplaintStatus
from consent.domain.correspondence import Correspondence, CorrespondenceEvent
from consent.domain.correspondence_deletion import CorrespondenceDeletion, DeletionEvent


async def project_correspondence(
    conn: asyncpg.Connection,
    recorded: Sequence[Recorded[CorrespondenceEvent]],
    *,
    retain_until: date | None = None,
) -> None:
    """Apply an item's new events; ``retain_until`` is the new item's R9 date, if it has one."""
    for entry in recorded:
        event, stored = entry.event, entry.stored
        tokens: dict[str, Any] = stored.payload
        match event:
            case Correspondence.EmailLogged() | Correspondence.PhoneLogged():
                is_phone = isinstance(event, Correspondence.PhoneLogged)
                await conn.execute(
                    "INSERT INTO correspondence_items (correspondence_id, organisation_id, "
                    "subject_ref, key_ref, channel, email_address, phone_number, person_name, "
                    "summary, contacted_at, logged_at, logged_by, retain_until, version) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    event.correspondence_id,
                    event.organisation_id,
                    event.subject_ref,
                    event.key_ref,
                    "phone" if is_phone else "email",
                    tokens.get("email_address"),
                    tokens.get("phone_number"),
                    tokens.get("person_name"),
                    tokens.get("summary"),
                    event.contact.contacted_at
                    if isinstance(event, Correspondence.PhoneLogged)
                    else None,
                    stored.recorded_at,
                    event.logged_by,
                    retain_until,
                    stored.version,
                )
            case Correspondence.MessageRecorded():
                await conn.execute(
                    "INSERT INTO correspondence_messages (message_id, correspondence_id, "
                    "direction, sent_at, message_subject, message_text, recorded_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    event.message.message_id,
                    event.correspondence_id,
                    event.message.direction.value,
                    event.message.sent_at,
                    tokens["message_subject"],
                    tokens["message_text"],
                    stored.recorded_at,
                )
                await _bump(conn, event.correspondence_id, stored.version)
            case Correspondence.Erased():
                # The messages go with the item (ON DELETE CASCADE).
                await conn.execute(
                    "DELETE FROM correspondence_items WHERE correspondence_id = $1",
                    event.correspondence_id,
                )


async def _bump(conn: asyncpg.Connection, correspondence_id: object, version: int) -> None:
    await conn.execute(
        "UPDATE correspondence_items SET version = $2 WHERE correspondence_id = $1",
        correspondence_id,
        version,
    )


async def project_deletion(
    conn: asyncpg.Connection, recorded: Sequence[Recorded[DeletionEvent]]
) -> None:
    """Apply a deletion request's new events: status, counts, kept items, notices."""
    for entry in recorded:
        event, stored = entry.event, entry.stored
        match event:
            case CorrespondenceDeletion.Requested():
                await conn.execute(
                    "INSERT INTO correspondence_deletions (request_id, subject_ref, key_ref, "
                    "notify_address, status, deleted_count, kept_count, requested_at, "
                    "requested_by, version) VALUES ($1, $2, $3, $4, 'received', 0, 0, $5, $6, $7)",
                    event.request_id,
                    event.subject_ref,
                    event.key_ref,
                    stored.payload["notify_address"],
                    stored.recorded_at,
                    event.requested_by,
                    stored.version,
                )
            case CorrespondenceDeletion.Processed():
                await conn.execute(
                    "UPDATE correspondence_deletions SET status = $2, "
                    "deleted_count = deleted_count + $3, kept_count = $4, processed_at = $5, "
                    "version = $6, notify_address = CASE WHEN $7 THEN NULL ELSE notify_address "
                    "END WHERE request_id = $1",
                    event.request_id,
                    "completed" if event.final else "pending",
                    event.deleted_count,
                    len(event.kept),
                    stored.recorded_at,
                    stored.version,
                    event.final,
                )
                await conn.execute(
                    "DELETE FROM correspondence_kept WHERE request_id = $1", event.request_id
                )
                await conn.executemany(
                    "INSERT INTO correspondence_kept (request_id, correspondence_id, reason) "
                    "VALUES ($1, $2, $3)",
                    [
                        (event.request_id, item.correspondence_id, item.reason.value)
                        for item in event.kept
                    ],
                )
            case CorrespondenceDeletion.NoticeSent():
                await conn.execute(
                    "INSERT INTO correspondence_notices (notice_id, request_id, subject_ref, "
                    "kept_count, reasons, sent_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    event.notice_id,
                    event.request_id,
                    event.subject_ref,
                    event.kept_count,
                    [reason.value for reason in event.reasons],
                    stored.recorded_at,
                )
                await conn.execute(
                    "UPDATE correspondence_deletions SET version = $2 WHERE request_id = $1",
                    event.request_id,
                    stored.version,
                )


async def project_complaint(
    conn: asyncpg.Connection, recorded: Sequence[Recorded[ComplaintEvent]]
) -> None:
    """Apply a complaint's new events; an open complaint row is a hold (R21)."""
    for entry in recorded:
        event, stored = entry.event, entry.stored
        match event:
            case Complaint.Opened():
                await conn.execute(
                    "INSERT INTO complaints (complaint_id, kind, organisation_id, subject_ref, "
                    "key_ref, summary, concerns, status, opened_at, opened_by, version) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    event.complaint_id,
                    event.kind.value,
                    event.organisation_id,
                    event.subject_ref,
                    event.key_ref,
                    stored.payload["summary"],
                    [area.value for area in event.concerns],
                    ComplaintStatus.OPEN.value,
                    stored.recorded_at,
                    event.opened_by,
                    stored.version,
                )
            case Complaint.Resolved():
                await conn.execute(
                    "UPDATE complaints SET status = $2, outcome = $3, resolution_text = $4, "
                    "resolved_at = $5, resolved_by = $6, version = $7 WHERE complaint_id = $1",
                    event.complaint_id,
                    ComplaintStatus.RESOLVED.value,
                    None if event.outcome is None else event.outcome.value,
                    stored.payload["resolution_text"],
                    stored.recorded_at,
                    event.resolved_by,
                    stored.version,
                )
