"""Outgoing mail through the transactional mail outbox: queue it with the change, send it after.

Queue (any capability, inside its unit of work)::

    async with deps.unit_of_work() as conn:
        ...  # the change that causes the mail
        await enqueue_mail(conn, deps=deps, to=address, subject="...", body="...",
                           kind="correspondence_erasure_notice", subject_ref=subject_ref)

The mail is sent if and only if the transaction commits. `MailSender` runs beside the API
(bootstrap's lifespan): it takes due mails one by one, hands each to SMTP and marks it sent in
one transaction, so a crash at any point sends the mail later, at least once (the Message-ID
is the mail's id, so a rare duplicate is recognisable). A failed attempt is retried with
exponential back-off (capped); a mail is never dropped. Sent mails keep no address and no body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol
from uuid import UUID

import asyncpg

from byggrygg_shared.db import transaction
from byggrygg_shared.sources import Clock
from consent.adapters.mail_outbox import (
    MAIL_CHANNEL,
    OutgoingMail,
    QueuedMail,
    insert_mail,
    mark_failed_attempt,
    mark_sent,
    pending_count,
    take_due_mail,
)
from consent.metrics import mail_backlog, mail_send_failures_total, mails_sent_total
from consent.service_layer.context import Dependencies
from consent.service_layer.errors import ServiceError

logger = logging.getLogger(__name__)

MESSAGE_ID_DOMAIN = "byggrygg.no"


class InvalidMail(ServiceError, ValueError):
    """A mail whose address, subject or headers could not be sent (line breaks, control
    characters): refused when queued, so it cannot fail forever in the outbox."""


def _refuse_control_characters(what: str, value: str) -> None:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidMail(f"the mail's {what} contains control characters")


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
    """Queue a plain-text mail in the caller's transaction (``conn`` must be in one).

    ``to`` is one address; ``kind`` names the mail's purpose (metrics and audit); put only the
    personal data the mail needs in ``body``. Returns the mail's id (also its Message-ID).
    """
    if not conn.is_in_transaction():
        raise RuntimeError("enqueue_mail must run inside the change's transaction")
    _refuse_control_characters("address", to)
    _refuse_control_characters("subject", subject)
    for name, value in (headers or {}).items():
        _refuse_control_characters("header", name + value)
    if "@" not in to:
        raise InvalidMail("the mail's address has no @")
    mail_id = deps.ids.new_id()
    mail = OutgoingMail(
        to=to,
        subject=subject,
        body=body,
        kind=kind,
        subject_ref=subject_ref,
        headers=dict(headers or {}),
    )
    await insert_mail(conn, mail_id=mail_id, mail=mail, now=deps.clock())
    return mail_id


class MailTransport(Protocol):
    """Where composed mail goes (``consent.adapters.smtp.SmtpTransport``)."""

    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Delay before the next attempt after ``failed`` failed attempts: doubling, capped."""

    first: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(hours=1)

    def after(self, failed: int) -> timedelta:
        return min(self.first * (1 << min(max(failed - 1, 0), 30)), self.cap)


def compose(mail: QueuedMail, *, sender_address: str, now: datetime) -> EmailMessage:
    """The RFC 5322 message of a queued mail."""
    message = EmailMessage()
    message["From"] = sender_address
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{mail.mail_id}@{MESSAGE_ID_DOMAIN}>"
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.body)
    return message


class MailSender:
    """Sends the mail outbox's due mails; ``run`` keeps doing so until stopped."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        transport: MailTransport,
        sender_address: str,
        clock: Clock,
        backoff: Backoff | None = None,
        poll_interval: float = 2.0,
        batch_size: int = 50,
    ) -> None:
        self._pool = pool
        self._transport = transport
        self._sender_address = sender_address
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self.running = asyncio.Event()

    async def send_one(self) -> bool | None:
        """Send the oldest due mail: True sent, False attempt failed, None nothing due."""
        async with transaction(self._pool) as conn:
            mail = await take_due_mail(conn, now=self._clock())
            if mail is None:
                return None
            try:
                message = compose(mail, sender_address=self._sender_address, now=self._clock())
                await self._transport.send(message)
            except Exception as error:  # away, refused, timed out: try again later
                name = type(error).__name__
                retry_at = self._clock() + self._backoff.after(mail.attempts + 1)
                await mark_failed_attempt(conn, mail.mail_id, retry_at=retry_at, error=name)
                mail_send_failures_total.labels(name).inc()
                logger.warning(
                    "mail %s (%s) not sent, attempt %d: %s",
                    mail.mail_id,
                    mail.kind,
                    mail.attempts + 1,
                    name,
                )
                return False
            await mark_sent(conn, mail.mail_id, now=self._clock())
        mails_sent_total.labels(mail.kind).inc()
        return True

    async def send_due(self) -> int:
        """Send what is due now, up to a batch; the number of mails sent."""
        sent = 0
        for _ in range(self._batch_size):
            outcome = await self.send_one()
            if outcome is None:
                break
            sent += int(outcome)
        mail_backlog.set(await pending_count(self._pool))
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        """Send due mail until ``stop``; woken by NOTIFY on commit, polling as a fallback
        (for retries that fall due, and if a notification is missed)."""
        wake = asyncio.Event()

        def on_notify(*_: object) -> None:
            wake.set()

        listener: asyncpg.Connection | None = None
        try:
            while not stop.is_set():
                try:
                    if listener is None:
                        listener = await self._pool.acquire()
                        await listener.add_listener(MAIL_CHANNEL, on_notify)
                    self.running.set()
                    wake.clear()
                    await self.send_due()
                except (OSError, asyncpg.PostgresError) as error:  # database away: retry
                    logger.warning("mail sender: database error %s", type(error).__name__)
                    await self._release(listener, on_notify)
                    listener = None
                await _wait_any(stop, wake, self._poll_interval)
        finally:
            self.running.clear()
            await self._release(listener, on_notify)

    async def _release(
        self, listener: asyncpg.Connection | None, callback: Callable[..., None]
    ) -> None:
        if listener is None:
            return
        with contextlib.suppress(Exception):
            await listener.remove_listener(MAIL_CHANNEL, callback)
        with contextlib.suppress(Exception):
            await self._pool.release(listener)

    async def check(self) -> None:
        """Readiness: the sender runs (the SMTP server may be away: mail waits in the outbox)."""
        if not self.running.is_set():
            raise ConnectionError("the mail sender is not running")


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
