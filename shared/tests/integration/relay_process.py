"""A small service process for the relay crash tests: append events, relay them, die on cue.

Run as ``python relay_process.py DSN BOOTSTRAP TOPIC [--append N] [--streams S]
[--batch-size B] [--kill-after-acks K]``.

- ``--append N`` appends N events round-robin over S streams (one transaction per event) and
  commits them before the relay starts.
- ``--kill-after-acks K`` makes the process SIGKILL itself once K records have been
  acknowledged by the broker (K = 0: at the first send, before anything is produced). The kill
  lands after the broker's ack and before the relay marks the rows published: the worst case.
- Without it, the relay publishes everything pending and the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from typing import Any, ClassVar

from aiokafka import AIOKafkaProducer

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.db import create_pool, transaction
from byggrygg_shared.envelope import EventMetadata
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.outbox import OutboxRelay


class StepRecorded(IntegrationEvent):
    event_type: ClassVar[str] = "no.byggrygg.relaytest.StepRecorded"
    source_service: ClassVar[str] = "relaytest"
    topic: ClassVar[str] = "relaytest.step.v1"

    stream: str
    step: int


class KillingProducer(AIOKafkaProducer):  # type: ignore[misc]
    """A real idempotent producer that kills its process after ``kill_after`` broker acks."""

    def __init__(self, *, kill_after: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kill_after = kill_after
        self.sent: list[asyncio.Future[Any]] = []

    async def send(self, topic: str, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        if self.kill_after == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        future = await super().send(topic, *args, **kwargs)
        self.sent.append(future)
        if self.kill_after is not None and len(self.sent) >= self.kill_after:
            await asyncio.gather(*self.sent)  # the broker has these records now
            os.kill(os.getpid(), signal.SIGKILL)
        return future


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dsn")
    parser.add_argument("bootstrap")
    parser.add_argument("topic")
    parser.add_argument("--append", type=int, default=0)
    parser.add_argument("--streams", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--kill-after-acks", type=int, default=None)
    args = parser.parse_args()

    contract = type("StepRecorded", (StepRecorded,), {"topic": args.topic})
    pool = await create_pool(args.dsn, max_size=2)
    store = EventStore()
    for _ in range(args.append):
        async with transaction(pool) as conn:
            # The next step of the stream with the fewest events: round-robin, restart-safe.
            stream = await conn.fetchval(
                "SELECT s FROM generate_series(0, $1 - 1) AS s "
                "ORDER BY (SELECT count(*) FROM events WHERE stream_id = 's' || s), s LIMIT 1",
                args.streams,
            )
            stream_id = f"s{stream}"
            version = await store.stream_version(conn, stream_id)
            await store.append(
                conn,
                stream_id=stream_id,
                expected_version=version,
                events=[contract(stream=stream_id, step=version + 1)],
                metadata=EventMetadata.new(),
            )

    producer = KillingProducer(
        kill_after=args.kill_after_acks,
        bootstrap_servers=args.bootstrap,
        enable_idempotence=True,
        acks="all",
    )
    await producer.start()
    try:
        relay = OutboxRelay(
            pool=pool, producer=producer, source_service="relaytest", batch_size=args.batch_size
        )
        await relay.publish_pending()
    finally:
        await producer.stop()
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
