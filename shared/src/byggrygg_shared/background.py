"""Runs a service's background workers (outbox relay, Kafka subscribers, ...) beside its API.

A worker is ``async def run(stop: asyncio.Event)`` that returns once ``stop`` is set. A
service's lifespan names its workers and enters `running`: each becomes a task named
``<service>-<name>``; on the way out ``stop`` is set and the workers get ``shutdown_timeout``
seconds to finish what they have in hand before the lifespan goes on (closing pools and so on).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any

__all__ = ["Worker", "running"]

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
