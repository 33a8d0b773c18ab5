"""Timing proxies for the breakdown runs: where the time of an append or a relay pass goes.

``TimedPool``, ``TimedConnection`` and ``TimedProducer`` wrap the real asyncpg pool,
connection and aiokafka producer and add the wall time of every awaited call to a
``StepTimes`` under a short label (the SQL statement's first words, ``BEGIN``, ``pool
release``, ...). They let the bench run the shared library's own code unchanged and still see
its round trips. The proxies cost a few microseconds per call, so the headline throughput is
always measured without them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer
from stats import DEFAULT_CLOCK, Clock

__all__ = ["StepTimes", "TimedConnection", "TimedPool", "TimedProducer", "statement_label"]

T = TypeVar("T")
_SPACE = re.compile(r"\s+")
_LABEL_CHARS = 44


def statement_label(query: str) -> str:
    """A short, stable label of a SQL statement: its first characters, whitespace collapsed."""
    text = _SPACE.sub(" ", query).strip()
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 3] + "..."


class StepTimes:
    """Total seconds and count per labelled step, in first-seen order."""

    def __init__(self, clock: Clock = DEFAULT_CLOCK) -> None:
        self.clock = clock
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def add(self, label: str, seconds: float) -> None:
        self.seconds[label] += seconds
        self.calls[label] += 1

    async def timed(self, label: str, call: Awaitable[T]) -> T:
        start = self.clock()
        try:
            return await call
        finally:
            self.add(label, self.clock() - start)

    def total(self) -> float:
        return sum(self.seconds.values())

    def per_unit_us(self, units: int) -> dict[str, dict[str, float]]:
        """Mean microseconds and calls of each step per unit of work (append, message)."""
        return {
            label: {
                "us": self.seconds[label] / units * 1e6,
                "calls": self.calls[label] / units,
            }
            for label in self.seconds
        }


class TimedTransaction:
    """``conn.transaction()`` whose start (BEGIN or SAVEPOINT) and end are timed."""

    def __init__(self, conn: asyncpg.Connection, times: StepTimes, **kwargs: Any) -> None:
        self._conn = conn
        self._times = times
        self._tx = conn.transaction(**kwargs)
        self._nested = False

    async def __aenter__(self) -> None:
        self._nested = self._conn.is_in_transaction()
        label = "SAVEPOINT" if self._nested else "BEGIN"
        await self._times.timed(label, self._tx.__aenter__())

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            label = "RELEASE SAVEPOINT" if self._nested else "COMMIT"
        else:
            label = "ROLLBACK TO SAVEPOINT" if self._nested else "ROLLBACK"
        await self._times.timed(label, self._tx.__aexit__(exc_type, exc, tb))


class TimedConnection:
    """An asyncpg connection whose queries are timed; everything else is passed through."""

    def __init__(self, conn: asyncpg.Connection, times: StepTimes) -> None:
        self._conn = conn
        self._times = times

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> list[asyncpg.Record]:
        result: list[asyncpg.Record] = await self._times.timed(
            statement_label(query), self._conn.fetch(query, *args, **kwargs)
        )
        return result

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._times.timed(
            statement_label(query), self._conn.fetchval(query, *args, **kwargs)
        )

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> str:
        result: str = await self._times.timed(
            statement_label(query), self._conn.execute(query, *args, **kwargs)
        )
        return result

    async def executemany(self, query: str, args: Any, **kwargs: Any) -> None:
        await self._times.timed(
            statement_label(query), self._conn.executemany(query, args, **kwargs)
        )

    def transaction(self, **kwargs: Any) -> TimedTransaction:
        return TimedTransaction(self._conn, self._times, **kwargs)


class TimedPool:
    """An asyncpg pool whose acquire and release (asyncpg resets the session) are timed."""

    def __init__(self, pool: asyncpg.Pool, times: StepTimes) -> None:
        self._pool = pool
        self._times = times

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[TimedConnection]:
        manager = self._pool.acquire()
        conn: asyncpg.Connection = await self._times.timed("pool acquire", manager.__aenter__())
        try:
            yield TimedConnection(conn, self._times)
        finally:
            # Releasing runs asyncpg's reset query (unlock, UNLISTEN, RESET ALL): a round trip.
            await self._times.timed("pool release (reset)", manager.__aexit__(None, None, None))


class TimedProducer:
    """An aiokafka producer whose ``send`` (the enqueue, not the broker's ack) is timed."""

    def __init__(self, producer: AIOKafkaProducer, times: StepTimes) -> None:
        self._producer = producer
        self._times = times

    def __getattr__(self, name: str) -> Any:
        return getattr(self._producer, name)

    async def send(self, topic: str, **kwargs: Any) -> Any:
        return await self._times.timed(
            "producer.send (enqueue, incl. waiting for batch space)",
            self._producer.send(topic, **kwargs),
        )
