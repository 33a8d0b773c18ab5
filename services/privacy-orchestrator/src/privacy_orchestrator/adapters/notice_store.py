"""The ``request_notices`` table: a request's notify address (a key-ring token) until the
request ends, then which mail told the person (R10). SQL only; the rules are in
``service_layer.notices``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

import asyncpg

# The request view's ``notice`` (one subquery column of ``request_store``'s view):
# no_address - the request gave none; waiting - kept until the request ends;
# queued / sent - the kept-data notice is in the mail outbox / handed to SMTP;
# not_needed - the request ended with nothing kept, the address is gone.
NOTICE_STATE_COLUMN: Final = (
    "coalesce((SELECT CASE WHEN n.mail_id IS NOT NULL THEN"
    " (CASE WHEN m.status = 'sent' THEN 'sent' ELSE 'queued' END)"
    " WHEN n.ended_at IS NULL THEN 'waiting' ELSE 'not_needed' END"
    " FROM request_notices n LEFT JOIN mail_outbox m ON m.mail_id = n.mail_id"
    " WHERE n.request_id = r.request_id), 'no_address') AS notice"
)


@dataclass(frozen=True)
class PendingNotice:
    """A request's address as stored: the key scope and the token under it."""

    key_ref: str
    address_token: str


async def remember(
    conn: asyncpg.Connection, *, request_id: UUID, key_ref: str, address_token: str, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO request_notices (request_id, key_ref, address, created_at)"
        " VALUES ($1, $2, $3, $4)",
        request_id,
        key_ref,
        address_token,
        now,
    )


async def take_pending(conn: asyncpg.Connection, request_id: UUID) -> PendingNotice | None:
    """The request's address if it has one and it is not used up, locked for this
    transaction."""
    row = await conn.fetchrow(
        "SELECT key_ref, address FROM request_notices"
        " WHERE request_id = $1 AND ended_at IS NULL AND address IS NOT NULL FOR UPDATE",
        request_id,
    )
    return None if row is None else PendingNotice(row["key_ref"], row["address"])


async def end(
    conn: asyncpg.Connection, request_id: UUID, *, mail_id: UUID | None, now: datetime
) -> None:
    """The request ended: drop the address, keep which mail (if any) told the person."""
    await conn.execute(
        "UPDATE request_notices SET address = NULL, mail_id = $2, ended_at = $3"
        " WHERE request_id = $1",
        request_id,
        mail_id,
        now,
    )
