"""The participant time-out worker (R13, DESIGN §5): a participant that has not replied within
the time-out gets its command again, then is escalated.

Every ``poll_interval`` it finds the in-progress requests waiting too long on a participant
(the ``requests`` projection keeps when each command was last sent) and hands each to
``requests.chase_participants``, one transaction per request under its row lock: the same
command again (the same CloudEvent id: a participant that already carried it out finds the
id in its inbox, does nothing twice and publishes its recorded reply again, same event id, so
a reply lost on its way arrives now and one already recorded is discarded by the inbox; one
that never got the command, e.g. it was down past the topic's retention or dead-lettered it
before claiming it, carries it out now), at most ``max_resends`` times, then the participant
shows as escalated (``GET /requests?escalated=true``) and the request waits for an operator;
it never completes without the reply. A held request is not chased.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Final

from byggrygg_shared.background import every
from privacy_orchestrator.adapters import request_actions
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.requests import chase_participants

logger = logging.getLogger(__name__)

BATCH: Final = 100


class ParticipantTimeoutWorker:
    """Chases late participants of in-progress requests every ``poll_interval`` seconds."""

    def __init__(
        self,
        deps: Dependencies,
        *,
        reply_within: timedelta,
        max_resends: int,
        poll_interval: float = 60.0,
    ) -> None:
        self._deps = deps
        self._reply_within = reply_within
        self._max_resends = max_resends
        self._poll_interval = poll_interval

    async def chase_due(self) -> int:
        """One pass: how many participants were sent their command again or escalated."""
        deps = self._deps
        async with deps.pool.acquire() as conn:
            due = await request_actions.waiting_on_participants(
                conn, sent_before=deps.clock() - self._reply_within, limit=BATCH
            )
        acted = 0
        for request_id in due:
            acted += await chase_participants(
                deps, request_id, reply_within=self._reply_within, max_resends=self._max_resends
            )
        return acted

    async def run(self, stop: asyncio.Event) -> None:
        """The background worker: a pass every ``poll_interval`` seconds; it outlives any one
        bad pass."""
        await every(
            self._poll_interval,
            self.chase_due,
            stop,
            name="participant time-out pass",
            logger=logger,
        )
