"""The live projection's attempts at one fetched batch: retried, then applied record by record.

Before the subscribers read batches, the broker's middleware retried a failing message with
back-off and then dead-lettered it, so a record that triggers a bug cost a few seconds, not
its partition. A batch cannot be dead-lettered in part by the middleware, so
``apply_with_attempts`` keeps that guarantee itself, with the same settings (the broker's
``RetryThenDeadLetter``: ``max_attempts``, ``backoff``):

1. each attempt applies the whole batch in a transaction of its own
   (``projection.apply_or_isolate``: a record the database refuses is isolated at once);
2. an attempt that fails with a bug (``failures``: neither a record's values nor transient)
   is followed by another after the back-off, the batch's rows rolled back in between;
3. the last attempt isolates those too: the batch is applied one record per savepoint and
   the records that still raise are returned (to be dead-lettered), the others committed.

A transient error (the connection, the server, a deadlock) raises from any attempt at once,
and no record is returned: the middleware retries the batch in place, then ``NACK_ON_ERROR``
reads it again from Kafka, as often as it takes. Records are returned only once their
transaction committed, so even a commit that fails dead-letters nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from byggrygg_shared.db import transaction
from byggrygg_shared.failures import is_transient
from byggrygg_shared.messaging import Backoff
from reporting.service_layer.projection import Projectable, Rejected, apply_or_isolate

__all__ = ["apply_with_attempts"]

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


async def apply_with_attempts(
    pool: asyncpg.Pool,
    items: Sequence[Projectable],
    *,
    max_attempts: int,
    backoff: Backoff,
    sleep: Sleep,
) -> list[Rejected]:
    """Apply ``items`` (a decoded batch) in up to ``max_attempts`` transactions; the records
    isolated by the one that committed (see the module docstring)."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be >= 1")
    attempt = 1
    while True:
        last = attempt >= max_attempts
        try:
            async with transaction(pool) as conn:
                return await apply_or_isolate(conn, items, bugs_too=last, failed_before=attempt - 1)
        except Exception as error:
            if last or is_transient(error):
                raise
            # Ids and types only: the error's text may quote a value.
            logger.warning(
                "projection batch of %d event(s) failed, attempt %d/%d: %s",
                len(items),
                attempt,
                max_attempts,
                type(error).__name__,
            )
        # Outside the handler: the next attempt's error is not chained to this one.
        await sleep(backoff.delay(attempt))
        attempt += 1
