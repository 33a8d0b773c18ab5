"""Storage side of forgetting newsletter sign-ups that were never confirmed (R8): finding
them, locking one, checking its key scope is its own, and the queue of keys to destroy
(``newsletter_key_shreds``).

A sign-up's link expires at its confirmation row's ``expires_at``; a pending sign-up without
one (never expected) counts as expired since it was requested, so nothing pending is kept
forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from consent.adapters.newsletter_store import subscription_stream


async def expired_unconfirmed(
    conn: asyncpg.Connection | asyncpg.Pool, *, cutoff: datetime, limit: int
) -> list[UUID]:
    """Pending sign-ups whose link expired at or before ``cutoff``, oldest first."""
    rows = await conn.fetch(
        "SELECT s.subscription_id FROM newsletter_subscriptions s "
        "LEFT JOIN newsletter_confirmations c ON c.subscription_id = s.subscription_id "
        "WHERE s.status = 'pending' AND coalesce(c.expires_at, s.requested_at) <= $1 "
        "ORDER BY coalesce(c.expires_at, s.requested_at), s.subscription_id LIMIT $2",
        cutoff,
        limit,
    )
    return [row["subscription_id"] for row in rows]


@dataclass(frozen=True)
class LockedSignup:
    subject_ref: str
    link_expired_at: datetime


async def lock_pending(conn: asyncpg.Connection, subscription_id: UUID) -> LockedSignup | None:
    """Lock the sign-up's row if it is still pending, with its link's current expiry.

    Two statements on purpose: the expiry is read after the lock is held, so a sign-up renewed
    by a concurrent request (new link, committed while this waited) is seen with its new link.
    """
    subject_ref = await conn.fetchval(
        "SELECT subject_ref FROM newsletter_subscriptions "
        "WHERE subscription_id = $1 AND status = 'pending' FOR UPDATE",
        subscription_id,
    )
    if subject_ref is None:
        return None
    link_expired_at = await conn.fetchval(
        "SELECT coalesce(c.expires_at, s.requested_at) FROM newsletter_subscriptions s "
        "LEFT JOIN newsletter_confirmations c ON c.subscription_id = s.subscription_id "
        "WHERE s.subscription_id = $1",
        subscription_id,
    )
    return LockedSignup(subject_ref=str(subject_ref), link_expired_at=link_expired_at)


async def subject_named_elsewhere(
    conn: asyncpg.Connection, *, subject_ref: str, subscription_id: UUID
) -> bool:
    """Whether anything in consent but this sign-up names ``subject_ref``: another
    subscription (e.g. a confirmed consent), or an event outside the sign-up's stream.

    Consent makes a fresh subject_ref for every sign-up, so this is expected to be False; if
    it ever is True, destroying the key would destroy someone's consent evidence too.
    (The events check scans the events table; it only runs for sign-ups being forgotten.)
    """
    found = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM newsletter_subscriptions "
        "               WHERE subject_ref = $1 AND subscription_id <> $2) "
        "OR EXISTS (SELECT 1 FROM events WHERE stream_id <> $3 "
        "           AND (metadata->>'subject_ref' = $1 OR payload->>'subject_ref' = $1))",
        subject_ref,
        subscription_id,
        subscription_stream(subscription_id),
    )
    return bool(found)


async def queue_key_shred(
    conn: asyncpg.Connection, *, subject_ref: str, subscription_id: UUID, now: datetime
) -> None:
    """Queue the sign-up's key for destruction (in the transaction that forgets it)."""
    await conn.execute(
        "INSERT INTO newsletter_key_shreds (subject_ref, subscription_id, queued_at) "
        "VALUES ($1, $2, $3) ON CONFLICT (subject_ref) DO NOTHING",
        subject_ref,
        subscription_id,
        now,
    )


async def queued_key_shreds(conn: asyncpg.Connection | asyncpg.Pool, *, limit: int) -> list[str]:
    """Key scopes still to destroy, oldest first."""
    rows = await conn.fetch(
        "SELECT subject_ref FROM newsletter_key_shreds ORDER BY queued_at, subject_ref LIMIT $1",
        limit,
    )
    return [str(row["subject_ref"]) for row in rows]


async def key_shred_done(conn: asyncpg.Connection | asyncpg.Pool, subject_ref: str) -> None:
    """The key ring destroyed the key: nothing left to do for it."""
    await conn.execute("DELETE FROM newsletter_key_shreds WHERE subject_ref = $1", subject_ref)
