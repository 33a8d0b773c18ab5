"""The retention clock of correspondence (R9), run by consent itself: every ``interval`` it
deletes what is past its retention date unless a hold keeps it
(``correspondence_erasure.purge_expired_correspondence``; safe to run again and from several
processes: each item is re-checked under the person's lock in its own transaction).

"Today" comes from the dependencies' clock, so tests move time instead of waiting a year.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import asyncpg

from byggrygg_shared.background import every
from consent.service_layer.context import Dependencies
from consent.service_layer.correspondence_erasure import PurgeReport, purge_expired_correspondence

logger = logging.getLogger(__name__)


class CorrespondenceRetentionWorker:
    """Purges expired correspondence every ``interval`` until stopped (a task of ``serve``)."""

    def __init__(self, *, deps: Dependencies, interval: timedelta) -> None:
        self._deps = deps
        self._interval = interval

    async def run_once(self) -> PurgeReport:
        report = await purge_expired_correspondence(
            deps=self._deps, today=self._deps.clock().date()
        )
        if report.erased or report.kept:
            # Counts only: the items' ids and subjects stay out of the log.
            logger.info(
                "correspondence retention: %d erased, %d kept under a hold",
                len(report.erased),
                len(report.kept),
            )
        return report

    async def run(self, stop: asyncio.Event) -> None:
        """Purge every ``interval``; a failed pass is logged and the next one retries (an item
        is deleted in one transaction or not at all)."""
        await every(
            self._interval.total_seconds(),
            self.run_once,
            stop,
            name="correspondence retention",
            logger=logger,
            survives=(OSError, asyncpg.PostgresError),
        )
