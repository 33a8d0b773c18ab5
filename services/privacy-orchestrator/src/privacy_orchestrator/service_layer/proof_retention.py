"""The retention of the requests' own proof (GDPR art. 5(1)(e), 5(2)): a request that ended
more than ``keep_for`` ago loses every link to its person; its completion record stays.

The orchestrator keeps, for each data-subject request, who it was about and who filed and
decided it: the proof that it was handled (art. 5(2), 12). That proof is personal data too,
so it has a clock of its own (``BYGGRYGG_PRIVACY_ORCHESTRATOR_REQUEST_PROOF_YEARS``, default
3: the general limitation period for claims under Norwegian law). When it runs out,
``adapters.proof_store`` deletes the request's links (projection, history, deliveries,
published commands, notice) in batches, each one transaction; the completion record (R19),
which holds no personal data, stays and the chain still verifies. Released legal holds go
after the same time. A subject under a hold in force keeps its requests: the follow-up
erasure when the hold is released needs the latest one.

After that, ``GET /requests/{id}`` answers 404 for the request; ``GET /records`` still has it.
The clock is the dependencies' (tests move it).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from byggrygg_shared.background import every
from byggrygg_shared.db import transaction
from privacy_orchestrator.adapters import proof_store
from privacy_orchestrator.service_layer.context import Dependencies

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProofPurge:
    """What one pass forgot (counts only)."""

    requests: int
    holds: int


class ProofRetentionWorker:
    """Forgets the proof of requests ended more than ``keep_for`` ago, every
    ``poll_interval`` seconds, ``batch_size`` requests per transaction."""

    def __init__(
        self,
        deps: Dependencies,
        *,
        keep_for: timedelta,
        poll_interval: float = 3600.0,
        batch_size: int = 500,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size is at least 1")
        self._deps = deps
        self._keep_for = keep_for
        self._poll_interval = poll_interval
        self._batch_size = batch_size

    async def purge(self) -> ProofPurge:
        """One pass: every request and released hold past the clock."""
        before = self._deps.clock() - self._keep_for
        requests = 0
        while True:
            async with transaction(self._deps.pool) as conn:
                forgotten = await proof_store.forget_ended_requests(
                    conn, before=before, limit=self._batch_size
                )
            requests += forgotten
            if forgotten < self._batch_size:
                break
        async with transaction(self._deps.pool) as conn:
            holds = await proof_store.forget_released_holds(conn, before=before)
        if requests or holds:
            logger.info("request proof past retention: %d requests, %d holds", requests, holds)
        return ProofPurge(requests=requests, holds=holds)

    async def run(self, stop: asyncio.Event) -> None:
        """The background worker: a pass every ``poll_interval`` seconds; it outlives any one
        bad pass."""
        await every(
            self._poll_interval, self.purge, stop, name="proof retention pass", logger=logger
        )
