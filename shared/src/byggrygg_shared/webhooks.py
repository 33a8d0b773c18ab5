"""Signed HTTP between the orchestrator and its sub-processors: Standard Webhooks (R13, DESIGN §5).

Both directions (the orchestrator's requests to a sub-processor, the sub-processor's callback
confirming it) carry the three headers of the Standard Webhooks specification, so a
sub-processor can use an off-the-shelf library:

- ``webhook-id``: the message id, the same in every retry of one message (replay key);
- ``webhook-timestamp``: integer seconds since the epoch when this attempt was signed;
- ``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``,
  one per secret in use (several while a secret is being rotated).

Secrets are ``whsec_`` + base64 of random bytes. The HMAC itself is the `standardwebhooks`
library's (``Webhook.sign``); this module adds what that library leaves to the caller: an
injectable clock, several secrets per side for key rotation, replay protection and a
distinct exception (and Prometheus count) for each reason a message is refused, so a
receiver answers 400, 401 or 409 and operators see why.

    verifier = WebhookVerifier([secret], clock=utc_now)
    async with transaction(pool) as conn:
        message = await verifier.verify_once(body, headers, PostgresWebhookReceipts(conn))
        ...  # the effect, in the same transaction as the receipt
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets as os_secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Final, Protocol

import asyncpg
import sqlalchemy as sa
from standardwebhooks import Webhook

from byggrygg_shared.metrics import webhook_rejections_total
from byggrygg_shared.sources import Clock, utc_now

__all__ = [
    "DEFAULT_TOLERANCE",
    "RECEIPTS_TABLE",
    "SECRET_PREFIX",
    "WEBHOOK_ID",
    "WEBHOOK_SIGNATURE",
    "WEBHOOK_TIMESTAMP",
    "BadSignature",
    "InvalidWebhookSecret",
    "MalformedWebhook",
    "MemoryWebhookReceipts",
    "PostgresWebhookReceipts",
    "ReceiptOutsideTransaction",
    "ReplayedWebhook",
    "SeenWebhookIds",
    "StaleTimestamp",
    "VerifiedWebhook",
    "WebhookRejected",
    "WebhookSigner",
    "WebhookVerifier",
    "forget_receipts_before",
    "generate_secret",
    "read_secret_file",
    "webhook_receipts_table",
]

WEBHOOK_ID: Final = "webhook-id"
WEBHOOK_TIMESTAMP: Final = "webhook-timestamp"
WEBHOOK_SIGNATURE: Final = "webhook-signature"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a prefix, not a secret
# The specification's recommended window: a captured message is useless after it.
DEFAULT_TOLERANCE: Final = timedelta(minutes=5)
RECEIPTS_TABLE: Final = "webhook_receipts"
# Bounds what an unauthenticated sender can make us compare or store.
MAX_ID_LENGTH: Final = 255
MAX_SIGNATURES: Final = 10
SECRET_BYTES: Final = 32


class InvalidWebhookSecret(ValueError):
    """A secret is empty or not ``whsec_`` + base64 (a configuration error, not a rejection)."""


class WebhookRejected(Exception):
    """A received message was refused; ``reason`` labels the metric, ``status`` the answer."""

    reason: ClassVar[str] = "rejected"
    status: ClassVar[int] = 400


class MalformedWebhook(WebhookRejected):
    """A header is missing or unreadable, or the body is not UTF-8 (or not JSON, for ``json``)."""

    reason = "malformed"
    status = 400


class BadSignature(WebhookRejected):
    """No ``v1`` signature in the header matches the body under any of our secrets."""

    reason = "bad_signature"
    status = 401


class StaleTimestamp(WebhookRejected):
    """Correctly signed, but signed too long ago (or too far in the future) to be trusted."""

    reason = "stale_timestamp"
    status = 401


class ReplayedWebhook(WebhookRejected):
    """Correctly signed and fresh, but this ``webhook-id`` was already received."""

    reason = "replayed"
    status = 409


class ReceiptOutsideTransaction(RuntimeError):
    """A receipt was recorded outside a transaction, so it could not share the effect's fate."""


def _key(secret: str) -> Webhook:
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidWebhookSecret(f"a webhook secret starts with {SECRET_PREFIX!r}")
    encoded = secret[len(SECRET_PREFIX) :].rstrip("=")
    try:
        # Padding is optional in the specification's secrets; strict otherwise.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidWebhookSecret("a webhook secret is whsec_ + base64") from error
    if not key:
        raise InvalidWebhookSecret("a webhook secret may not be empty")
    return Webhook(key)


def _keys(secrets: str | Iterable[str]) -> tuple[Webhook, ...]:
    listed = [secrets] if isinstance(secrets, str) else list(secrets)
    if not listed:
        raise InvalidWebhookSecret("at least one webhook secret is needed")
    return tuple(_key(secret) for secret in listed)


def generate_secret() -> str:
    """A new secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(os_secrets.token_bytes(SECRET_BYTES)).decode()


def read_secret_file(path: Path) -> list[str]:
    """The secrets in a file, one per line (the first is the newest; blank lines ignored).

    Several lines are a rotation in progress: a signer signs with every one, a verifier
    accepts any one.
    """
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    found = [line for line in lines if line]
    _keys(found)  # refuse a bad file at start-up, not at the first message
    return found


def _unix_seconds(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


class WebhookSigner:
    """Makes the Standard Webhooks headers for an outgoing body."""

    def __init__(
        self,
        secrets: str | Iterable[str],
        *,
        clock: Clock = utc_now,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self._keys = _keys(secrets)
        self._clock = clock
        self._new_id = new_id or (lambda: f"msg_{uuid.uuid4().hex}")

    def new_id(self) -> str:
        """A fresh message id; keep it for every retry of the same message."""
        return self._new_id()

    def headers(self, body: bytes, *, webhook_id: str) -> dict[str, str]:
        """The three headers for one delivery attempt of ``body``, signed now."""
        text = body.decode("utf-8")  # the specification signs the body as text
        # Whole seconds, as sent: the library floors, and the receiver checks what we send.
        signed_at = datetime.fromtimestamp(_unix_seconds(self._clock()), UTC)
        signatures = " ".join(
            key.sign(msg_id=webhook_id, timestamp=signed_at, data=text) for key in self._keys
        )
        return {
            WEBHOOK_ID: webhook_id,
            WEBHOOK_TIMESTAMP: str(_unix_seconds(signed_at)),
            WEBHOOK_SIGNATURE: signatures,
        }


@dataclass(frozen=True, slots=True)
class VerifiedWebhook:
    """A message whose signature and timestamp were checked."""

    webhook_id: str
    timestamp: datetime
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON; MalformedWebhook when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise _counted(MalformedWebhook("the body is not JSON")) from error


class SeenWebhookIds(Protocol):
    """Where a receiver remembers the ids it accepted (replay protection)."""

    async def remember(self, webhook_id: str, received_at: datetime) -> bool:
        """Record the id; False when it was already recorded."""
        ...


def _counted(error: WebhookRejected) -> WebhookRejected:
    webhook_rejections_total.labels(reason=error.reason).inc()
    return error


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = {key.lower(): value for key, value in headers.items()}
    value = lowered.get(name, "").strip()
    if not value:
        raise _counted(MalformedWebhook(f"the {name} header is missing"))
    return value


def _signatures(header: str) -> list[bytes]:
    """The decodable ``v1`` signatures of the header; other versions are skipped (the spec)."""
    found: list[bytes] = []
    for entry in header.split(" ")[:MAX_SIGNATURES]:
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


class WebhookVerifier:
    """Checks a received message: headers, signature, timestamp window, and (``verify_once``)
    that its id is new. Every refusal raises a WebhookRejected subclass and is counted in
    ``byggrygg_webhook_rejections_total{reason}``."""

    def __init__(
        self,
        secrets: str | Iterable[str],
        *,
        tolerance: timedelta = DEFAULT_TOLERANCE,
        clock: Clock = utc_now,
    ) -> None:
        self._keys = _keys(secrets)
        self._tolerance = tolerance
        self._clock = clock

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedWebhook:
        """The checked message, or MalformedWebhook, BadSignature or StaleTimestamp."""
        webhook_id = _header(headers, WEBHOOK_ID)
        raw_timestamp = _header(headers, WEBHOOK_TIMESTAMP)
        raw_signatures = _header(headers, WEBHOOK_SIGNATURE)
        if len(webhook_id) > MAX_ID_LENGTH:
            raise _counted(MalformedWebhook("the webhook-id header is too long"))
        if not (raw_timestamp.isascii() and raw_timestamp.isdigit()) or len(raw_timestamp) > 12:
            raise _counted(MalformedWebhook("the webhook-timestamp header is not epoch seconds"))
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _counted(MalformedWebhook("the body is not UTF-8")) from error
        signed_at = datetime.fromtimestamp(int(raw_timestamp), UTC)
        # The signature first: a forged message counts as forged whatever its timestamp says.
        offered = _signatures(raw_signatures)
        if not any(
            hmac.compare_digest(expected, candidate)
            for expected in self._expected(webhook_id, signed_at, text)
            for candidate in offered
        ):
            raise _counted(BadSignature("no signature matches"))
        now = self._clock()
        if not now - self._tolerance <= signed_at <= now + self._tolerance:
            raise _counted(StaleTimestamp("the timestamp is outside the tolerance window"))
        return VerifiedWebhook(webhook_id=webhook_id, timestamp=signed_at, body=body)

    async def verify_once(
        self, body: bytes, headers: Mapping[str, str], seen: SeenWebhookIds
    ) -> VerifiedWebhook:
        """``verify``, then record the id in ``seen``; ReplayedWebhook if it was there."""
        message = self.verify(body, headers)
        if not await seen.remember(message.webhook_id, self._clock()):
            raise _counted(ReplayedWebhook("this webhook-id was already received"))
        return message

    def _expected(self, webhook_id: str, signed_at: datetime, text: str) -> list[bytes]:
        return [
            base64.b64decode(
                key.sign(msg_id=webhook_id, timestamp=signed_at, data=text).partition(",")[2]
            )
            for key in self._keys
        ]


class MemoryWebhookReceipts:
    """Seen ids in memory: for a single process that may forget them on restart (the simulator)."""

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}

    async def remember(self, webhook_id: str, received_at: datetime) -> bool:
        if webhook_id in self._seen:
            return False
        self._seen[webhook_id] = received_at
        return True


def webhook_receipts_table(metadata: sa.MetaData) -> sa.Table:
    """The ``webhook_receipts`` table in ``metadata``; idempotent for the same metadata."""
    if RECEIPTS_TABLE in metadata.tables:
        return metadata.tables[RECEIPTS_TABLE]
    return sa.Table(
        RECEIPTS_TABLE,
        metadata,
        sa.Column("webhook_id", sa.Text, primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("ix_webhook_receipts_received_at", "received_at"),
        comment="Webhook ids accepted from sub-processors (replay protection, R13)",
    )


class PostgresWebhookReceipts:
    """Seen ids in the receiver's database, recorded in the caller's transaction.

    The receipt commits or rolls back with the effect of the message: a message whose effect
    failed can be delivered again. Two concurrent deliveries of one id serialise on the
    primary key, and the second sees it taken.
    """

    def __init__(self, conn: asyncpg.Connection, *, table: str = RECEIPTS_TABLE) -> None:
        self._conn = conn
        self._table = table

    async def remember(self, webhook_id: str, received_at: datetime) -> bool:
        if not self._conn.is_in_transaction():
            raise ReceiptOutsideTransaction("a webhook receipt belongs in the effect's transaction")
        inserted = await self._conn.fetchval(
            f"INSERT INTO {self._table} (webhook_id, received_at) VALUES ($1, $2) "  # noqa: S608 - constant
            "ON CONFLICT (webhook_id) DO NOTHING RETURNING true",
            webhook_id,
            received_at,
        )
        return bool(inserted)


async def forget_receipts_before(
    conn: asyncpg.Connection, cutoff: datetime, *, table: str = RECEIPTS_TABLE
) -> int:
    """Delete receipts older than ``cutoff``; how many went.

    Safe for any cutoff earlier than now minus the tolerance: an older message is refused as
    stale before its id is looked up.
    """
    status: str = await conn.execute(
        f"DELETE FROM {table} WHERE received_at < $1",  # noqa: S608 - constant
        cutoff,
    )
    return int(status.rsplit(" ", 1)[-1])
