"""The transactional mail outbox: queue a mail with the change that causes it, send it after.

One reusable piece for every service that mails people (consent's double opt-in links and
deletion notices, the orchestrator's kept-data notices, R8, R10):

- ``mail_outbox_table(metadata)`` adds the ``mail_outbox`` table to a service's MetaData (its
  alembic migration creates it like any other table of the service);
- ``enqueue_mail(conn, ...)`` writes the mail as a row in the caller's transaction, so it is
  sent if and only if that change commits;
- ``MailSender`` (a background worker) takes due rows one at a time with ``FOR UPDATE SKIP
  LOCKED`` (several processes may run it), hands each to SMTP (``SmtpTransport``) and marks it
  sent in the same transaction: a crash in between sends it again later (at least once; the
  Message-ID is the mail id, so a duplicate is recognisable), never loses it. A failed attempt
  is retried with doubling back-off (capped); a mail is never dropped. It is woken by NOTIFY on
  the commit that queued mail and polls as a fallback;
- a sent row keeps no address, no body and no headers: only kind, subject line, the
  pseudonymous ``subject_ref`` and times (data minimisation).

Usage::

    async with transaction(pool) as conn:
        ...  # the change that causes the mail
        mail_id = await enqueue_mail(conn, mail_id=ids.new_id(), now=clock(), to=address,
                                     subject="...", body="...", kind="kept_data_notice")
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Final, Protocol
from uuid import UUID

import aiosmtplib
import asyncpg
import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlalchemy.dialects import postgresql

from byggrygg_shared.background import wait_for_any
from byggrygg_shared.db import transaction
from byggrygg_shared.sources import Clock

logger = logging.getLogger(__name__)

MESSAGE_ID_DOMAIN: Final = "byggrygg.no"
# NOTIFY channel the sender LISTENs on; notified on commit of a transaction that queued mail
# (channels are per database, and every service has its own).
MAIL_CHANNEL: Final = "mail_outbox"


# --- the table ------------------------------------------------------------------------------


def mail_outbox_table(metadata: sa.MetaData) -> sa.Table:
    """The ``mail_outbox`` table (and its due-mail index) in ``metadata``."""

    def timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
        return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)

    table = sa.Table(
        "mail_outbox",
        metadata,
        sa.Column("mail_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        # Whose mail it is (pseudonymous), so an erasure can find it; None for no person.
        sa.Column("subject_ref", sa.Text, nullable=True, index=True),
        # Cleared (NULL) once sent: only the kind, the subject line and the times remain.
        sa.Column("recipient", sa.Text, nullable=True),
        sa.Column("subject_line", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("headers", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        timestamp("next_attempt_at"),
        # The error's class name only: an SMTP reply can quote the address.
        sa.Column("last_error", sa.Text, nullable=True),
        timestamp("created_at"),
        timestamp("sent_at", nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent')", name="mail_outbox_status_check"),
        # A sent mail keeps no address and no body (data minimisation).
        sa.CheckConstraint(
            "status = 'pending' OR (recipient IS NULL AND body IS NULL)",
            name="mail_outbox_minimised_check",
        ),
        comment="Transactional mail outbox: written with the change that causes the mail",
    )
    sa.Index(
        "mail_outbox_due_idx",
        table.c.next_attempt_at,
        postgresql_where=table.c.status == "pending",
    )
    return table


# --- queueing -------------------------------------------------------------------------------


class InvalidMail(ValueError):
    """A mail whose address, subject or headers could not be sent (line breaks, control
    characters, no @): refused when queued, so it cannot fail forever in the outbox."""


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


def _refuse_control_characters(what: str, value: str) -> None:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidMail(f"the mail's {what} contains control characters")


def message_id(mail_id: UUID) -> str:
    """The Message-ID header of the mail with id ``mail_id``."""
    return f"<{mail_id}@{MESSAGE_ID_DOMAIN}>"


_INSERT: Final = """
INSERT INTO mail_outbox (mail_id, kind, subject_ref, recipient, subject_line, body, headers,
                         status, attempts, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, 'pending', 0, $8, $8)
RETURNING (SELECT pg_notify($9, '')) IS NULL
"""


async def enqueue_mail(
    conn: asyncpg.Connection,
    *,
    mail_id: UUID,
    now: datetime,
    to: str,
    subject: str,
    body: str,
    kind: str,
    subject_ref: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> UUID:
    """Queue a plain-text mail in the caller's transaction (``conn`` must be in one).

    ``to`` is one address; ``kind`` names the mail's purpose (metrics and audit); put only the
    personal data the mail needs in ``body``. Returns ``mail_id`` (also the Message-ID's id).
    """
    if not conn.is_in_transaction():
        raise RuntimeError("enqueue_mail must run inside the change's transaction")
    _refuse_control_characters("address", to)
    _refuse_control_characters("subject", subject)
    for name, value in (headers or {}).items():
        _refuse_control_characters("header", name + value)
    if "@" not in to:
        raise InvalidMail("the mail's address has no @")
    await conn.fetchval(
        _INSERT,
        mail_id,
        kind,
        subject_ref,
        to,
        subject,
        body,
        json.dumps(dict(headers or {})),
        now,
        MAIL_CHANNEL,
    )
    return mail_id


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


async def pending_count(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """How many mails wait to be sent (for the backlog gauge)."""
    count = await conn.fetchval("SELECT count(*) FROM mail_outbox WHERE status = 'pending'")
    return int(count)


async def _take_due_mail(conn: asyncpg.Connection, *, now: datetime) -> QueuedMail | None:
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


async def _mark_sent(conn: asyncpg.Connection, mail_id: UUID, *, now: datetime) -> None:
    """Sent: drop the address, the body and the headers (their links), keep the audit facts."""
    await conn.execute(
        "UPDATE mail_outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1, "
        "recipient = NULL, body = NULL, headers = '{}'::jsonb, last_error = NULL "
        "WHERE mail_id = $1",
        mail_id,
        now,
    )


async def _mark_failed_attempt(
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


# --- sending --------------------------------------------------------------------------------


class MailTransport(Protocol):
    """Where composed mail goes (``SmtpTransport``; tests may wrap it)."""

    async def send(self, message: EmailMessage) -> None: ...


class SmtpTransport:
    """Sends each message to ``host:port`` with aiosmtplib (one connection per mail: mail is
    rare); raises ``aiosmtplib.SMTPException`` or ``OSError`` when the server is away or
    refuses it (the sender retries)."""

    def __init__(self, *, host: str, port: int, timeout: float = 10.0) -> None:
        self._host = host
        self._port = port
        self._timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(message, hostname=self._host, port=self._port, timeout=self._timeout)

    async def check(self) -> None:
        """Whether the server answers (for diagnostics, not readiness: mail is queued)."""
        client = aiosmtplib.SMTP(hostname=self._host, port=self._port, timeout=self._timeout)
        await client.connect()
        await client.quit()


@dataclass(frozen=True)
class Backoff:
    """Delay before the next attempt after ``failed`` failed attempts: doubling, capped."""

    first: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(hours=1)

    def after(self, failed: int) -> timedelta:
        return min(self.first * (1 << min(max(failed - 1, 0), 30)), self.cap)


@dataclass(frozen=True)
class MailMetrics:
    """A service's mail metrics (labels carry kinds and error classes, never an address)."""

    sent: Counter
    failures: Counter
    backlog: Gauge

    @classmethod
    def register(cls, service: str) -> MailMetrics:
        """``byggrygg_<service>_mails_sent{kind}``, ``..._mail_send_failures{error}`` and
        ``..._mail_backlog``; call once per process (module level of the service's metrics)."""
        prefix = f"byggrygg_{service}"
        return cls(
            sent=Counter(
                f"{prefix}_mails_sent", "Mails handed to the SMTP server, by kind.", ["kind"]
            ),
            failures=Counter(
                f"{prefix}_mail_send_failures",
                "Failed attempts to hand a mail to the SMTP server (retried later), by error "
                "class.",
                ["error"],
            ),
            backlog=Gauge(f"{prefix}_mail_backlog", "Mails waiting in the mail outbox (pending)."),
        )


def compose(mail: QueuedMail, *, sender_address: str, now: datetime) -> EmailMessage:
    """The RFC 5322 message of a queued mail."""
    message = EmailMessage()
    message["From"] = sender_address
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(mail.mail_id)
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
        metrics: MailMetrics | None = None,
        backoff: Backoff | None = None,
        poll_interval: float = 2.0,
        batch_size: int = 50,
    ) -> None:
        self._pool = pool
        self._transport = transport
        self._sender_address = sender_address
        self._clock = clock
        self._metrics = metrics
        self._backoff = backoff or Backoff()
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self.running = asyncio.Event()

    async def send_one(self) -> bool | None:
        """Send the oldest due mail: True sent, False attempt failed, None nothing due."""
        async with transaction(self._pool) as conn:
            mail = await _take_due_mail(conn, now=self._clock())
            if mail is None:
                return None
            try:
                message = compose(mail, sender_address=self._sender_address, now=self._clock())
                await self._transport.send(message)
            except Exception as error:  # away, refused, timed out: try again later
                name = type(error).__name__
                retry_at = self._clock() + self._backoff.after(mail.attempts + 1)
                await _mark_failed_attempt(conn, mail.mail_id, retry_at=retry_at, error=name)
                if self._metrics is not None:
                    self._metrics.failures.labels(name).inc()
                logger.warning(
                    "mail %s (%s) not sent, attempt %d: %s",
                    mail.mail_id,
                    mail.kind,
                    mail.attempts + 1,
                    name,
                )
                return False
            await _mark_sent(conn, mail.mail_id, now=self._clock())
        if self._metrics is not None:
            self._metrics.sent.labels(mail.kind).inc()
        return True

    async def send_due(self) -> int:
        """Send what is due now, up to a batch; the number of mails sent."""
        sent = 0
        for _ in range(self._batch_size):
            outcome = await self.send_one()
            if outcome is None:
                break
            sent += int(outcome)
        if self._metrics is not None:
            self._metrics.backlog.set(await pending_count(self._pool))
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
                await wait_for_any(stop, wake, self._poll_interval)
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
