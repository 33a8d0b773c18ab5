"""A batch of participants' replies, recorded several requests per transaction.

The replies consumer reads the replies topic in batches (``entrypoints.consumers``) and hands
each batch here. The batch is grouped by request, in the order read, and the groups are
recorded ``requests_per_transaction`` requests at a time, each such chunk in ONE transaction
(``requests.record_replies_together``: one claim statement, the chunk's request rows locked
in id order, each request loaded once, saved once, completed with its own completion record,
R19), at most ``concurrency`` chunks at once. A contract end's burst of replies thus costs a
transaction per chunk, not one per request (``docs/decisions.md``, "The contract end's
throughput").

A chunk whose transaction fails is recorded again request by request, each request in a
transaction of its own, retried on its own with back-off (the others are not held up) and,
when it still fails, reported back (``BatchOutcome.failed``) so the consumer can dead-letter
exactly those replies. The consumer commits the batch's offsets only after this returns: a
crash re-reads the batch, and the inbox claims make a reply recorded before the crash a no-op
(at least once, effects once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from byggrygg_shared.contracts.privacy import ParticipantReplied
from byggrygg_shared.correlation import bound_correlation_id
from byggrygg_shared.envelope import ReceivedEvent
from byggrygg_shared.messaging import Backoff
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.requests import record_replies, record_replies_together

logger = logging.getLogger(__name__)

Reply = tuple[ParticipantReplied, ReceivedEvent]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class BatchPolicy:
    """How many requests share a transaction, how many transactions run at once, and how a
    failing request is retried."""

    concurrency: int = 8
    max_attempts: int = 5
    backoff: Backoff = field(default_factory=Backoff)
    requests_per_transaction: int = 50

    def __post_init__(self) -> None:
        if min(self.concurrency, self.max_attempts, self.requests_per_transaction) < 1:
            raise ValueError(
                "concurrency, max_attempts and requests_per_transaction are at least 1"
            )


@dataclass(frozen=True)
class FailedRequest:
    """The replies (their positions in the batch) of a request that could not be recorded."""

    request_id: UUID
    positions: tuple[int, ...]
    error: Exception
    attempts: int


@dataclass(frozen=True)
class BatchOutcome:
    """What a batch did: replies recorded, requests touched, requests that failed."""

    recorded: int
    requests: int
    failed: tuple[FailedRequest, ...] = ()


def group_by_request(replies: Sequence[Reply]) -> dict[UUID, list[int]]:
    """The batch's positions per request, each request's in the order read (the order its
    participants' replies arrived on their partition)."""
    groups: dict[UUID, list[int]] = {}
    for position, (reply, _) in enumerate(replies):
        groups.setdefault(reply.request_id, []).append(position)
    return groups


async def record_batch(
    deps: Dependencies,
    replies: Sequence[Reply],
    *,
    policy: BatchPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> BatchOutcome:
    """Record every reply of the batch, ``policy.requests_per_transaction`` requests per
    transaction, ``policy.concurrency`` transactions at once."""
    policy = policy or BatchPolicy()
    groups = list(group_by_request(replies).items())
    size = policy.requests_per_transaction
    chunks = [groups[start : start + size] for start in range(0, len(groups), size)]
    limit = asyncio.Semaphore(policy.concurrency)

    async def one(chunk: list[tuple[UUID, list[int]]]) -> list[int | FailedRequest]:
        async with limit:
            try:
                return [
                    await record_replies_together(
                        deps, [[replies[p] for p in positions] for _, positions in chunk]
                    )
                ]
            except Exception as error:  # recorded request by request below
                logger.warning(
                    "replies to %d requests failed together (%s): recording them one by one",
                    len(chunk),
                    type(error).__name__,
                )
            return [
                await _with_retries(
                    deps, request_id, [replies[p] for p in positions], positions, policy, sleep
                )
                for request_id, positions in chunk
            ]

    results = [
        result for chunk in await asyncio.gather(*(one(c) for c in chunks)) for result in chunk
    ]
    failed = tuple(result for result in results if isinstance(result, FailedRequest))
    recorded = sum(result for result in results if isinstance(result, int))
    return BatchOutcome(recorded=recorded, requests=len(groups), failed=failed)


async def _with_retries(
    deps: Dependencies,
    request_id: UUID,
    group: list[Reply],
    positions: list[int],
    policy: BatchPolicy,
    sleep: Sleep,
) -> int | FailedRequest:
    attempt = 0
    while True:
        attempt += 1
        try:
            # Every reply of a request carries its correlation id (the request's).
            with bound_correlation_id(group[0][1].correlation_id):
                return await record_replies(deps, group)
        except Exception as error:  # this request's failure must not cost the others theirs
            logger.warning(
                "replies for request %s failed, attempt %d/%d: %s",
                request_id,
                attempt,
                policy.max_attempts,
                type(error).__name__,
            )
            if attempt >= policy.max_attempts:
                return FailedRequest(request_id, tuple(positions), error, attempt)
            await sleep(policy.backoff.delay(attempt))
