"""The retention scheduler (R2, R6, DESIGN §5): when a contract end's export offer is over, it
files an erasure for every known subject of the organisation. Before that, ``reminder`` ahead
of the offer's end, it reminds the organisation's contact persons (``offer_notices``).

A pass first ends every offer whose time ran out (one short transaction), then works through
the contract ends under erasure, one at a time per process (an advisory lock held by the
pass's transaction: two orchestrator processes never work on the same one). It reads the next
chunk of the organisation's subjects after the cursor, in subject-ref order, and files them
in ``concurrency`` batches of at most ``batch_size`` subjects, each batch one transaction of
its own on its own connection (bounded transactions, and the database works on several at
once). A batch commits its requests (their history, their commands in the outbox) together
with its count on the contract end. Once every batch of the chunk has committed, the cursor
moves past the chunk.

A crash loses at most the batches in hand; the cursor has not moved, so the next pass reads
the same chunk again, and each subject's trigger id (``contract_subject_trigger``) makes a
subject already filed a no-op: nothing is filed twice, nothing counted twice. The scheduler
itself talks to PostgreSQL only: the commands reach Kafka through the outbox relay.

The clock is the dependencies' (tests move it); a pass runs every ``poll_interval`` seconds,
and at once when a contract end is recorded or an offer declined (NOTIFY on commit,
``contract_end_store.RETENTION_CHANNEL``): an offer of 0 days or declined does not wait out
the poll. An offer that runs out on its date is found by the next poll.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from uuid import UUID

from byggrygg_shared.background import every, notified
from byggrygg_shared.db import transaction
from privacy_orchestrator.adapters import contract_end_store, subject_directory
from privacy_orchestrator.domain.triggers import Trigger, contract_subject_trigger
from privacy_orchestrator.service_layer import offer_notices
from privacy_orchestrator.service_layer.automatic import file_automatic_erasure
from privacy_orchestrator.service_layer.context import Dependencies

logger = logging.getLogger(__name__)


class RetentionScheduler:
    """Files the erasures of contract ends whose export offer is over, batch by batch."""

    def __init__(
        self,
        deps: Dependencies,
        *,
        batch_size: int = 200,
        concurrency: int = 1,
        poll_interval: float = 30.0,
        reminder: timedelta = timedelta(0),
    ) -> None:
        if batch_size < 1 or concurrency < 1:
            raise ValueError("batch_size and concurrency must be at least 1")
        self._deps = deps
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._reminder = reminder

    async def run_due(self) -> int:
        """Remind of offers about to end, then file every erasure that is due now; how many
        requests were filed."""
        await offer_notices.remind_ending_offers(self._deps, ahead=self._reminder)
        await self.end_expired_offers()
        filed = 0
        while (chunk := await self.file_next_chunk()) is not None:
            filed += chunk
        return filed

    async def end_expired_offers(self) -> int:
        """Every export offer whose time ran out is over: erasure starts; how many."""
        async with transaction(self._deps.pool) as conn:
            expired = await contract_end_store.expire_offers(conn, self._deps.clock())
        if expired:
            logger.info("%d export offers ran out: erasure starts", expired)
        return expired

    async def file_next_chunk(self) -> int | None:
        """The next chunk of one contract end under erasure; how many requests it filed, or
        None when no contract end (that no other process works on) is under erasure."""
        deps = self._deps
        chunk_size = self._batch_size * self._concurrency
        async with transaction(deps.pool) as conn:
            progress = await contract_end_store.take_erasing(conn)
            if progress is None:
                return None
            subjects = await subject_directory.subjects_after(
                conn, progress.organisation_id, after=progress.cursor, limit=chunk_size
            )
            batches = [
                subjects[start : start + self._batch_size]
                for start in range(0, len(subjects), self._batch_size)
            ]
            results = await asyncio.gather(
                *(
                    self._file_batch(progress.contract_end_id, progress.organisation_id, batch)
                    for batch in batches
                ),
                return_exceptions=True,
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                raise failures[0]  # the cursor stays: the next pass takes the chunk again
            if subjects:
                await contract_end_store.advance(
                    conn, progress.contract_end_id, cursor=subjects[-1]
                )
            if len(subjects) < chunk_size:
                await contract_end_store.finish(conn, progress.contract_end_id, deps.clock())
                await subject_directory.forget_contacts(conn, progress.organisation_id)
                logger.info(
                    "contract end of organisation %s: every erasure filed",
                    progress.organisation_id,
                )
        return sum(r for r in results if isinstance(r, int))

    async def _file_batch(
        self, contract_end_id: UUID, organisation_id: UUID, subjects: list[str]
    ) -> int:
        """One transaction: each subject's erasure, and the count on the contract end."""
        deps = self._deps
        filed = 0
        async with transaction(deps.pool) as conn:
            for subject_ref in subjects:
                request_id = await file_automatic_erasure(
                    conn,
                    deps,
                    subject_ref=subject_ref,
                    organisation_id=organisation_id,
                    trigger=Trigger.CONTRACT_ENDED.value,
                    trigger_id=contract_subject_trigger(contract_end_id, subject_ref),
                )
                filed += request_id is not None
            if filed:
                await contract_end_store.count_filed(conn, contract_end_id, filed)
        return filed

    async def run(self, stop: asyncio.Event) -> None:
        """The background worker: a pass every ``poll_interval`` seconds; it outlives any one
        bad pass."""
        async with notified(
            self._deps.pool,
            contract_end_store.RETENTION_CHANNEL,
            logger=logger,
            what="retention scheduler",
        ) as wake:
            await every(
                self._poll_interval,
                self.run_due,
                stop,
                name="retention pass",
                logger=logger,
                wake=wake,
            )
