"""The mail outbox table: queue a mail in the caller's transaction, take due mails, mark them.

A mail is a row written in the same transaction as the change that causes it, so it is sent
if and only if that change commits. The sender (`consent.service_layer.mail`) takes due rows
one at a time with ``FOR UPDATE SKIP LOCKED`` (several processes may run senders), hands them
to SMTP, and marks them sent in the same transaction: a crash between the two sends the mail
again later (at least once), never loses it. A sent row keeps no address and no body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from uuid import UUID

import asyncpg

# NOTIFY channel the sender LISTENs on; notified on commit of a transaction that queued mail.
MAIL_CHANNEL: Final = "consent_mail"


@dataclass(frozen=True)
class OutgoingMail:
    """A plain-text mail to one recipient. ``kind`` names its purpose (e.g.
    ``newsletter_confirmation``) for metrics and audit; ``subject_ref`` says whose it is."""

    to: str
    subject: str
    body: str
    kind: str
    subject_ref: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QueuedMail:
    """A due mail, as the sender takes it from the outbox."""

    mail_id: UUID
    kind: str
    recipient: str
    subject: str
    body: str
    headers: dict[str, str]
    attempts: int


_INSERT: Final = """
INSERT INTO mail_outbox (mail_id, kind, subject_ref, recipient, subject_line, body, headers,
                         status, attempts, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, 'pending', 0, $8, $8)
RETURNING (SELECT pg_notify($9, '')) IS NULL
"""


async def insert_mail(
    conn: asyncpg.Connection, *, mail_id: UUID, mail: OutgoingMail, now: datetime
) -> None:
    """Queue ``mail`` in the caller's transaction; the sender is woken when it commits."""
    await conn.fetchval(
        _INSERT,
        mail_id,
        mail.kind,
        mail.subject_ref,
        mail.to,
        mail.subject,
        mail.body,
        json.dumps(dict(mail.headers)),
        now,
        MAIL_CHANNEL,
    )


async def take_due_mail(conn: asyncpg.Connection, *, now: datetime) -> QueuedMail | None:
    """The oldest due pending mail, locked for this transaction (others skip it)."""
    row = await conn.fetchrow(
        "SELECT mail_id, kind, recipient, subject_line, body, headers::text AS headers, attempts "
        "FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= $1 "
        "ORDER BY next_attempt_at, created_at LIMIT 1 FOR UPDATE SKIP LOCKED",
        now,
    )
    if row is None:
        return None
    return QueuedMail(
        mail_id=row["mail_id"],
        kind=row["kind"],
        recipient=row["recipient"],
        subject=row["subject_line"],
        body=row["body"],
        headers=json.loads(row["headers"]),
        attempts=row["attempts"],
    )


async def mark_sent(conn: asyncpg.Connection, mail_id: UUID, *, now: datetime) -> None:
    """Sent: drop the address, the body and the headers (their links), keep the audit facts."""
    await conn.execute(
        "UPDATE mail_outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1, "
        "recipient = NULL, body = NULL, headers = '{}'::jsonb, last_error = NULL "
        "WHERE mail_id = $1",
        mail_id,
        now,
    )


async def mark_failed_attempt(
    conn: asyncpg.Connection, mail_id: UUID, *, retry_at: datetime, error: str
) -> None:
    """The attempt failed: count it and try again at ``retry_at``."""
    await conn.execute(
        "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 "
        "WHERE mail_id = $1",
        mail_id,
        retry_at,
        error,
    )


async def pending_count(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """How many mails wait to be sent (for the backlog gauge)."""
    count = await conn.fetchval("SELECT count(*) FROM mail_outbox WHERE status = 'pending'")
    return int(count)


async def cancel_unsent(conn: asyncpg.Connection, *, subject_ref: str, kind: str) -> int:
    """Drop the person's mails of ``kind`` not sent yet (they no longer make sense, e.g. the
    link in them expired); the number dropped. A mail being sent right now is locked by its
    sender: this waits for it, and then finds it sent."""
    result = await conn.execute(
        "DELETE FROM mail_outbox WHERE subject_ref = $1 AND kind = $2 AND status = 'pending'",
        subject_ref,
        kind,
    )
    return int(result.split()[-1])
