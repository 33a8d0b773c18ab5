"""Runs a service's background workers (outbox relay, Kafka subscribers, ...) beside its API.

A worker is ``async def run(stop: asyncio.Event)`` that returns once ``stop`` is set. A
service's lifespan names its workers and enters `running`: each becomes a task named
``<service>-<name>``; on the way out ``stop`` is set and the workers get ``shutdown_timeout``
seconds to finish what they have in hand before the lifespan goes on (closing pools and so on).

``every`` is the loop of the periodic workers (retention clocks, purges, time-outs): a pass,
then a wait, until ``stop``; a failed pass is logged and the next one retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from typing import Any

__all__ = ["Worker", "every", "running"]

Worker = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@contextlib.asynccontextmanager
async def running(
    workers: Mapping[str, Worker], *, service: str, shutdown_timeout: float
) -> AsyncIterator[None]:
    """Run `workers` as tasks while the block runs; stop them when it ends."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(worker(stop), name=f"{service}-{name}")
        for name, worker in workers.items()
    ]
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=shutdown_timeout)


async def every(
    interval: float,
    one_pass: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    *,
    name: str,
    logger: logging.Logger,
    survives: tuple[type[BaseException], ...] = (Exception,),
) -> None:
    """Run ``one_pass``, then wait ``interval`` seconds (or until ``stop``), until ``stop`` is
    set. A pass that raises one of ``survives`` is logged as ``<name> failed: <error type>``
    (never its message: it may quote data) and the next pass retries; anything else ends the
    worker. Each pass must leave nothing half done (its own transactions)."""
    while not stop.is_set():
        try:
            await one_pass()
        except survives as error:
            logger.warning("%s failed: %s", name, type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
