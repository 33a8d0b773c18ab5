"""Consent's outgoing mail, through the shared transactional mail outbox
(``byggrygg_shared.mail_outbox``): queue it with the change, send it after.

Queue (any capability, inside its unit of work)::

    async with deps.unit_of_work() as conn:
        ...  # the change that causes the mail
        await enqueue_mail(conn, deps=deps, to=address, subject="...", body="...",
                           kind="correspondence_erasure_notice", subject_ref=subject_ref)

The mail is sent if and only if the transaction commits; `MailSender` runs beside the API
(bootstrap's lifespan) and sends it at least once, with back-off while SMTP is away.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import asyncpg

from byggrygg_shared import mail_outbox
from byggrygg_shared.mail_outbox import (
    Backoff,
    InvalidMail,
    MailSender,
    MailTransport,
    OutgoingMail,
    QueuedMail,
    compose,
)
from consent.service_layer.context import Dependencies

__all__ = [
    "Backoff",
    "InvalidMail",
    "MailSender",
    "MailTransport",
    "OutgoingMail",
    "QueuedMail",
    "compose",
    "enqueue_mail",
]


async def enqueue_mail(
    conn: asyncpg.Connection,
    *,
    deps: Dependencies,
    to: str,
    subject: str,
    body: str,
    kind: str,
    subject_ref: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> UUID:
    """Queue a plain-text mail in the caller's transaction (``conn`` must be in one), with an
    id and a time from ``deps``; the mail's id (also its Message-ID). Raises `InvalidMail`
    for an address, subject or header that cannot be sent."""
    return await mail_outbox.enqueue_mail(
        conn,
        mail_id=deps.ids.new_id(),
        now=deps.clock(),
        to=to,
        subject=subject,
        body=body,
        kind=kind,
        subject_ref=subject_ref,
        headers=headers,
    )
