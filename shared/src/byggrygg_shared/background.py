"""Runs a service's background workers (outbox relay, Kafka subscribers, ...) beside its API.

A worker is ``async def run(stop: asyncio.Event)`` that returns once ``stop`` is set. A
service's lifespan names its workers and enters `running`: each becomes a task named
``<service>-<name>``; on the way out ``stop`` is set and the workers get ``shutdown_timeout``
seconds to finish what they have in hand before the lifespan goes on (closing pools and so on).

``every`` is the loop of the periodic workers (retention clocks, purges, time-outs): a pass,
then a wait, until ``stop``; a failed pass is logged and the next one retries. A worker whose
work is made due by a commit elsewhere (a delivery queued, a contract end recorded) is woken
by PostgreSQL's NOTIFY instead of waiting out its poll: ``notified`` listens on a channel,
``wait_for_any`` waits for the first of stop, the notification or the poll's interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from typing import Any

import asyncpg

__all__ = ["Worker", "every", "notified", "running", "wait_for_any"]

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
    wake: asyncio.Event | None = None,
) -> None:
    """Run ``one_pass``, then wait ``interval`` seconds (or until ``stop``), until ``stop`` is
    set. A pass that raises one of ``survives`` is logged as ``<name> failed: <error type>``
    (never its message: it may quote data) and the next pass retries; anything else ends the
    worker. Each pass must leave nothing half done (its own transactions).

    With ``wake`` (from ``notified``), a notification ends the wait early: the next pass
    runs at once."""
    while not stop.is_set():
        if wake is not None:
            wake.clear()  # before the pass: a commit during it is not missed
        try:
            await one_pass()
        except survives as error:
            logger.warning("%s failed: %s", name, type(error).__name__)
        await wait_for_any(stop, wake, interval)


async def wait_for_any(stop: asyncio.Event, wake: asyncio.Event | None, seconds: float) -> None:
    """Until ``stop`` or ``wake`` is set, or ``seconds`` passed."""
    waits = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waits.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)


@contextlib.asynccontextmanager
async def notified(
    pool: asyncpg.Pool, channel: str, *, logger: logging.Logger, what: str
) -> AsyncIterator[asyncio.Event]:
    """An event set by every NOTIFY on ``channel`` while the block runs, listened for on a
    connection of ``pool`` held for it. Without a listener (the database away at the start)
    the event is never set and the worker's poll alone finds its work, a little later."""
    wake = asyncio.Event()

    def on_notify(*_: object) -> None:
        wake.set()

    async with contextlib.AsyncExitStack() as stack:
        try:
            listener = await stack.enter_async_context(pool.acquire())
            await listener.add_listener(channel, on_notify)
            # Runs before the connection goes back to the pool: a pooled connection must not
            # keep this worker's listener.
            stack.push_async_callback(_stop_listening, listener, channel, on_notify)
        except (OSError, asyncpg.PostgresError) as error:
            logger.warning("%s: polling only (%s)", what, type(error).__name__)
        yield wake


async def _stop_listening(
    listener: asyncpg.Connection, channel: str, callback: Callable[..., object]
) -> None:
    if not listener.is_closed():
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await listener.remove_listener(channel, callback)
