"""Forget newsletter sign-ups that were never confirmed (R8: name, e-mail and role are kept
only with consent, and an unconfirmed sign-up is no consent).

Once a pending sign-up's confirmation link has expired (plus a short grace period), the purge:

1. in one transaction: records ``NewsletterSubscriptionExpired``, clears name, e-mail and role
   from the projection, drops the confirmation mail if it was never sent, and queues the
   sign-up's key (its ``subject_ref``) for destruction;
2. after the commit: destroys the queued keys in the key ring (crypto-shredding), so the
   sealed name, e-mail and role in the event store and on Kafka become unreadable, then
   removes them from the queue.

Order and restarts: the key is destroyed after the commit, because a sign-up renewed while
the purge looked at it (new link, new details sealed under the same key) must keep its key:
the transaction re-checks the sign-up under a row lock and commits only if it is still
expired. A crash between the two steps leaves the key in the queue, and the next run destroys
it (``shred`` is idempotent); a crash before the commit leaves the sign-up pending with an
expired link, and the next run finds it again. Each run does only what is left, so rerunning
changes nothing.

The key is queued only if it is the sign-up's own: consent makes a fresh ``subject_ref`` for
every sign-up, and the purge checks nothing else in consent names it (else the key might also
seal a confirmed consent's evidence; then it is left alone and a warning logged).

The old confirmation link keeps answering "expired" (410), as for any expired link: its
token hash, which is nothing personal, stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import asyncpg

from byggrygg_shared.eventstore import ConcurrentAppend
from byggrygg_shared.mail_outbox import cancel_unsent
from consent.adapters import unconfirmed_signups as signups
from consent.adapters.newsletter_store import SubscriptionRepository
from consent.domain.newsletter import ConfirmationStillValid, NotPending
from consent.service_layer.context import Dependencies
from consent.service_layer.newsletter import CONFIRMATION_MAIL_KIND, save_and_project

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeOutcome:
    """What one run did."""

    expired: int = 0  # sign-ups forgotten
    keys_destroyed: int = 0  # keys destroyed by this run (a rerun's already-destroyed: 0)
    keys_kept: int = 0  # keys left alone: their subject_ref is named elsewhere


async def _forget(deps: Dependencies, subscription_id: UUID, *, grace: timedelta) -> bool | None:
    """Forget one sign-up if it is still pending with an expired link. True: its key was
    queued; False: forgotten, key kept (named elsewhere); None: nothing to do (any more)."""
    now = deps.clock()
    repository = SubscriptionRepository(store=deps.store, cipher=deps.cipher)
    async with deps.unit_of_work() as conn:
        locked = await signups.lock_pending(conn, subscription_id)
        if locked is None or locked.link_expired_at > now - grace:
            return None  # confirmed, withdrawn, forgotten or renewed meanwhile
        subscription = await repository.get(conn, subscription_id)
        if subscription is None:
            return None
        try:
            subscription.expire(link_expired_at=locked.link_expired_at, now=now)
        except (NotPending, ConfirmationStillValid):
            return None
        await save_and_project(conn, deps, subscription)
        await cancel_unsent(conn, subject_ref=locked.subject_ref, kind=CONFIRMATION_MAIL_KIND)
        if await signups.subject_named_elsewhere(
            conn, subject_ref=locked.subject_ref, subscription_id=subscription_id
        ):
            logger.warning(
                "newsletter sign-up %s expired; its key is named elsewhere and is kept",
                subscription_id,
            )
            return False
        await signups.queue_key_shred(
            conn, subject_ref=locked.subject_ref, subscription_id=subscription_id, now=now
        )
    return True


async def _destroy_queued_keys(deps: Dependencies, *, batch_size: int) -> int:
    if deps.shredder is None:
        return 0  # built without a key ring: the keys wait in the queue
    destroyed = 0
    for subject_ref in await signups.queued_key_shreds(deps.pool, limit=batch_size):
        destroyed += int(await deps.shredder.shred(subject_ref))
        await signups.key_shred_done(deps.pool, subject_ref)
    return destroyed


async def purge_unconfirmed_signups(
    *, deps: Dependencies, grace: timedelta, batch_size: int = 100
) -> PurgeOutcome:
    """One run: forget the sign-ups whose link expired more than ``grace`` ago (up to
    ``batch_size``), then destroy the queued keys (this run's and any a crash left)."""
    expired = kept = 0
    candidates = await signups.expired_unconfirmed(
        deps.pool, cutoff=deps.clock() - grace, limit=batch_size
    )
    for subscription_id in candidates:
        try:
            queued = await _forget(deps, subscription_id, grace=grace)
        except ConcurrentAppend:
            continue  # a command on it committed first: the next run looks again
        if queued is not None:
            expired += 1
            kept += int(not queued)
    destroyed = await _destroy_queued_keys(deps, batch_size=batch_size)
    if expired or destroyed:
        logger.info(
            "newsletter purge: %d unconfirmed sign-ups forgotten, %d keys destroyed",
            expired,
            destroyed,
        )
    return PurgeOutcome(expired=expired, keys_destroyed=destroyed, keys_kept=kept)


class UnconfirmedSignupPurger:
    """Runs the purge every ``interval`` until stopped (a background task of ``serve``)."""

    def __init__(
        self,
        *,
        deps: Dependencies,
        grace: timedelta,
        interval: timedelta,
        batch_size: int = 100,
    ) -> None:
        self._deps = deps
        self._grace = grace
        self._interval = interval
        self._batch_size = batch_size

    async def run_once(self) -> PurgeOutcome:
        """One purge run (tests call this with their clock)."""
        return await purge_unconfirmed_signups(
            deps=self._deps, grace=self._grace, batch_size=self._batch_size
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Purge, then wait ``interval`` (or until ``stop``); database and key-ring errors are
        logged and the next run retries (nothing is lost: see the module docstring)."""
        while not stop.is_set():
            try:
                outcome = await self.run_once()
                if outcome.expired == self._batch_size:
                    continue  # a full batch: more may be waiting
            except (OSError, asyncpg.PostgresError) as error:
                logger.warning("newsletter purge failed: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._interval.total_seconds())
