"""Newsletter subscriptions in storage: the event stream (codec and repository), the
``newsletter_subscriptions`` projection, the confirmation tokens, and the queries (R8).

Events: a sign-up's name, e-mail and role are sealed with the key ring under the
subscriber's ``subject_ref``; read back, the aggregate does not need them, so they are not
opened. Everything here runs on the caller's connection, inside the command's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from byggrygg_shared.contracts import consent as contracts
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.eventstore import EventStore, StoredEvent
from byggrygg_shared.repository import EventSourcedRepository
from consent.domain.newsletter import (
    ConsentGiven,
    Expired,
    Requested,
    Subscription,
    SubscriptionEvent,
    Withdrawn,
)
from consent.service_layer.context import FieldCipher


class UnexpectedEvent(RuntimeError):
    """A stream holds an event this code does not know: a bug or a foreign stream."""


def subscription_stream(subscription_id: UUID) -> str:
    return f"newsletter-{subscription_id}"


async def encode(event: SubscriptionEvent, cipher: FieldCipher) -> IntegrationEvent:
    """The contract of a domain event, personal fields sealed."""
    match event:
        case Requested():
            if event.details is None:
                raise ValueError("a new sign-up carries its details")
            ref = event.subject_ref
            return contracts.NewsletterSubscriptionRequested(
                subscription_id=event.subscription_id,
                subject_ref=ref,
                name=await cipher.encrypt(ref, event.details.name),
                email=await cipher.encrypt(ref, event.details.email),
                role=await cipher.encrypt(ref, event.details.role),
                policy_version=event.policy_version,
                wording_sha256=event.wording_sha256,
                requested_at=event.requested_at,
            )
        case ConsentGiven():
            return contracts.ConsentGiven(
                subscription_id=event.subscription_id,
                subject_ref=event.subject_ref,
                purpose="newsletter",
                given_at=event.given_at,
                policy_version=event.policy_version,
                wording_sha256=event.wording_sha256,
                wording_text=event.wording_text,
                method=event.method,
            )
        case Withdrawn():
            return contracts.ConsentWithdrawn(
                subscription_id=event.subscription_id,
                subject_ref=event.subject_ref,
                purpose="newsletter",
                withdrawn_at=event.withdrawn_at,
                was_confirmed=event.was_confirmed,
                method=event.method,
                by=event.by,
                withdrawn_by=event.withdrawn_by,
            )
        case Expired():
            return contracts.NewsletterSubscriptionExpired(
                subscription_id=event.subscription_id,
                subject_ref=event.subject_ref,
                link_expired_at=event.link_expired_at,
                expired_at=event.expired_at,
            )


def decode(stored: StoredEvent) -> SubscriptionEvent:
    """The domain event of a stored one (personal fields stay sealed: not needed)."""
    contract = stored.contract()
    match contract:
        case contracts.NewsletterSubscriptionRequested():
            return Requested(
                subscription_id=contract.subscription_id,
                subject_ref=contract.subject_ref,
                policy_version=contract.policy_version,
                wording_sha256=contract.wording_sha256,
                requested_at=contract.requested_at,
            )
        case contracts.ConsentGiven():
            return ConsentGiven(
                subscription_id=contract.subscription_id,
                subject_ref=contract.subject_ref,
                given_at=contract.given_at,
                policy_version=contract.policy_version,
                wording_sha256=contract.wording_sha256,
                wording_text=contract.wording_text,
                method=contract.method,
            )
        case contracts.ConsentWithdrawn():
            return Withdrawn(
                subscription_id=contract.subscription_id,
                subject_ref=contract.subject_ref,
                withdrawn_at=contract.withdrawn_at,
                was_confirmed=contract.was_confirmed,
                method=contract.method,
                by=contract.by,
                withdrawn_by=contract.withdrawn_by,
            )
        case contracts.NewsletterSubscriptionExpired():
            return Expired(
                subscription_id=contract.subscription_id,
                subject_ref=contract.subject_ref,
                link_expired_at=contract.link_expired_at,
                expired_at=contract.expired_at,
            )
    raise UnexpectedEvent(f"{stored.ce_type} in newsletter stream {stored.stream_id}")


class SubscriptionRepository(EventSourcedRepository[Subscription, SubscriptionEvent]):
    """Subscriptions from their ``newsletter-<id>`` streams (`byggrygg_shared.repository`)."""

    def __init__(self, *, store: EventStore, cipher: FieldCipher) -> None:
        async def decode_row(stored: StoredEvent) -> SubscriptionEvent:
            return decode(stored)

        super().__init__(
            store=store,
            aggregate=Subscription,
            stream_of=subscription_stream,
            encode=lambda event: encode(event, cipher),
            decode=decode_row,
        )


# --- projection ---------------------------------------------------------------------------


async def project(conn: asyncpg.Connection, event: SubscriptionEvent, *, version: int) -> None:
    """Apply one event to ``newsletter_subscriptions`` (``version``: the stream's after it)."""
    match event:
        case Requested():
            if event.details is None:
                raise ValueError("a sign-up is projected from the command, with its details")
            await conn.execute(
                """
                INSERT INTO newsletter_subscriptions (subscription_id, subject_ref, name, email,
                    role, status, policy_version, wording_sha256, requested_at, version)
                VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9)
                ON CONFLICT (subscription_id) DO UPDATE SET name = $3, email = $4, role = $5,
                    policy_version = $6, wording_sha256 = $7, requested_at = $8, version = $9
                """,
                event.subscription_id,
                event.subject_ref,
                event.details.name,
                event.details.email,
                event.details.role,
                event.policy_version,
                event.wording_sha256,
                event.requested_at,
                version,
            )
        case ConsentGiven():
            await conn.execute(
                "UPDATE newsletter_subscriptions SET status = 'confirmed', confirmed_at = $2, "
                "method = $3, version = $4 WHERE subscription_id = $1",
                event.subscription_id,
                event.given_at,
                event.method,
                version,
            )
            await conn.execute(
                "DELETE FROM newsletter_confirmations WHERE subscription_id = $1",
                event.subscription_id,
            )
        case Withdrawn():
            # Off the list (R8): the personal fields go; the evidence columns stay.
            await conn.execute(
                "UPDATE newsletter_subscriptions SET status = 'withdrawn', withdrawn_at = $2, "
                "name = NULL, email = NULL, role = NULL, version = $3 WHERE subscription_id = $1",
                event.subscription_id,
                event.withdrawn_at,
                version,
            )
            await conn.execute(
                "DELETE FROM newsletter_confirmations WHERE subscription_id = $1",
                event.subscription_id,
            )
        case Expired():
            # Never confirmed: forgotten (R8). The confirmation row (a token hash, nothing
            # personal) stays, so the old link keeps answering "expired" rather than "unknown".
            await conn.execute(
                "UPDATE newsletter_subscriptions SET status = 'expired', expired_at = $2, "
                "name = NULL, email = NULL, role = NULL, version = $3 WHERE subscription_id = $1",
                event.subscription_id,
                event.expired_at,
                version,
            )


async def replace_confirmation(
    conn: asyncpg.Connection, *, subscription_id: UUID, token_hash: str, expires_at: datetime
) -> None:
    """The subscription's one valid confirmation token from now on (an older one stops)."""
    await conn.execute(
        "INSERT INTO newsletter_confirmations (token_hash, subscription_id, expires_at) "
        "VALUES ($1, $2, $3) ON CONFLICT (subscription_id) "
        "DO UPDATE SET token_hash = $1, expires_at = $3",
        token_hash,
        subscription_id,
        expires_at,
    )


@dataclass(frozen=True)
class Confirmation:
    subscription_id: UUID
    expires_at: datetime


async def confirmation_by_hash(conn: asyncpg.Connection, token_hash: str) -> Confirmation | None:
    row = await conn.fetchrow(
        "SELECT subscription_id, expires_at FROM newsletter_confirmations WHERE token_hash = $1",
        token_hash,
    )
    return None if row is None else Confirmation(row["subscription_id"], row["expires_at"])


async def open_subscription_for(conn: asyncpg.Connection, email: str) -> UUID | None:
    """The pending or confirmed subscription of an address, if any."""
    found = await conn.fetchval(
        "SELECT subscription_id FROM newsletter_subscriptions "
        "WHERE email = $1 AND status IN ('pending', 'confirmed') FOR UPDATE",
        email,
    )
    return None if found is None else UUID(str(found))


# --- queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    subscription_id: UUID
    name: str
    email: str
    role: str
    confirmed_at: datetime
    policy_version: str


async def recipients(conn: asyncpg.Connection | asyncpg.Pool) -> list[Recipient]:
    """The send list: confirmed, not withdrawn (R8). Nothing else can be on it."""
    rows = await conn.fetch(
        "SELECT subscription_id, name, email, role, confirmed_at, policy_version "
        "FROM newsletter_subscriptions WHERE status = 'confirmed' "
        "ORDER BY confirmed_at, subscription_id"
    )
    return [Recipient(**dict(row)) for row in rows]


@dataclass(frozen=True)
class SubscriptionView:
    subscription_id: UUID
    subject_ref: str
    status: str
    name: str | None
    email: str | None
    role: str | None
    policy_version: str
    wording_sha256: str
    method: str | None
    requested_at: datetime
    confirmed_at: datetime | None
    withdrawn_at: datetime | None
    expired_at: datetime | None


async def subscription_view(
    conn: asyncpg.Connection | asyncpg.Pool, subscription_id: UUID
) -> SubscriptionView | None:
    row = await conn.fetchrow(
        "SELECT subscription_id, subject_ref, status, name, email, role, policy_version, "
        "wording_sha256, method, requested_at, confirmed_at, withdrawn_at, expired_at "
        "FROM newsletter_subscriptions WHERE subscription_id = $1",
        subscription_id,
    )
    return None if row is None else SubscriptionView(**dict(row))
