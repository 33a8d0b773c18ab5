"""Outbox relay publishing against a raw aiokafka producer (target: >= 50 % of raw).

Subject: ``OutboxRelay.publish_pending()`` draining ``messages`` unpublished event-store rows
to a scratch topic with the idempotent ``acks=all`` producer of ``make_idempotent_producer``,
timed until every row is acknowledged by the broker and marked ``published_at``.

Baseline: a plain ``AIOKafkaProducer`` with the same settings (idempotence, ``acks=all``, the
same batch size and linger) sending the very records the relay builds (same keys, values and
CloudEvents headers, from ``to_kafka_record``) to another scratch topic, all sends first and
then awaiting every acknowledgement.

The rows are written once through ``EventStore.append``; each repeat marks them unpublished
again (and vacuums) so every relay pass reads the same rows. Afterwards the topics' end
offsets are checked against the number of records each side should have produced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Final, cast

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from stats import DEFAULT_CLOCK, BenchMismatch, Clock, Comparison, Run
from timing import StepTimes, TimedPool, TimedProducer
from workload import plan_appends, routed_to

from byggrygg_shared.db import create_pool, transaction
from byggrygg_shared.envelope import KafkaRecord, to_kafka_record
from byggrygg_shared.eventstore import EVENT_COLUMNS, EventStore, StoredEvent, row_to_stored
from byggrygg_shared.outbox import OutboxRelay, make_idempotent_producer

__all__ = ["PRODUCER_SETTINGS", "RelayConfig", "bench_relay"]

TARGET_RATIO = 0.50
SOURCE_SERVICE: Final = "bench"
# Both producers get exactly these. They are aiokafka's defaults, which is what the services
# run with (make_idempotent_producer(bootstrap, client_id=...)); spelled out so a change of
# defaults shows up in the results.
PRODUCER_SETTINGS: Final[dict[str, Any]] = {
    "linger_ms": 0,
    "max_batch_size": 16384,
    "compression_type": None,
}


@dataclass(frozen=True)
class RelayConfig:
    """One relay benchmark over ``messages`` events, written ``events_per_append`` at a time."""

    messages: int
    repeats: int
    warmup_messages: int
    breakdown_messages: int
    partitions: int
    relay_batch_size: int = 500
    events_per_append: int = 100
    seed: int = 20250102


async def bench_relay(
    dsn: str,
    bootstrap: str,
    *,
    relay_topic: str,
    raw_topic: str,
    config: RelayConfig,
    clock: Clock = DEFAULT_CLOCK,
) -> Comparison:
    """Measure the relay on the database at ``dsn`` (which has ``events``) and the two topics."""
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        await _prefill(pool, relay_topic, config)
        stored = await _stored_events(pool)
        records = [
            to_kafka_record(event, topic=raw_topic, source_service=SOURCE_SERVICE)
            for event in stored
        ]
        relay_producer = make_idempotent_producer(
            bootstrap, client_id="bench-relay", **PRODUCER_SETTINGS
        )
        raw_producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="bench-raw",
            enable_idempotence=True,
            acks="all",
            **PRODUCER_SETTINGS,
        )
        async with AsyncExitStack() as producers:
            for producer in (relay_producer, raw_producer):
                await producer.start()
                producers.push_async_callback(producer.stop)
            relay = OutboxRelay(
                pool=pool,
                producer=relay_producer,
                source_service=SOURCE_SERVICE,
                batch_size=config.relay_batch_size,
            )
            await _time_relay(pool, relay, config.warmup_messages, clock)
            await _send_raw(raw_producer, records[: config.warmup_messages], clock)

            relay_runs: list[Run] = []
            raw_runs: list[Run] = []
            for repeat in range(config.repeats):
                # Alternate who goes first, so drift hits both alike.
                if repeat % 2 == 0:
                    relay_runs.append(await _time_relay(pool, relay, config.messages, clock))
                    raw_runs.append(await _send_raw(raw_producer, records, clock))
                else:
                    raw_runs.append(await _send_raw(raw_producer, records, clock))
                    relay_runs.append(await _time_relay(pool, relay, config.messages, clock))

            breakdown = await _breakdown(pool, relay_producer, stored, config, clock)
            barrier = await _send_raw_in_batches(
                raw_producer, records, config.relay_batch_size, clock
            )
    finally:
        await pool.close()

    relay_sends = config.warmup_messages + config.repeats * config.messages
    relay_sends += config.breakdown_messages
    raw_sends = config.warmup_messages + (config.repeats + 1) * config.messages
    await _check_delivered(bootstrap, {relay_topic: relay_sends, raw_topic: raw_sends}, config)

    return Comparison(
        name="outbox_relay_publish",
        unit="messages",
        subject_label="OutboxRelay.publish_pending",
        baseline_label="raw AIOKafkaProducer, same records",
        subject_runs=relay_runs,
        baseline_runs=raw_runs,
        target_ratio=TARGET_RATIO,
        references={
            f"raw producer awaiting all acks every {config.relay_batch_size} records "
            "(the relay's batch barrier)": [barrier]
        },
        details={
            "messages": config.messages,
            "partitions": config.partitions,
            "relay_batch_size": config.relay_batch_size,
            "producer_settings": {"enable_idempotence": True, "acks": "all", **PRODUCER_SETTINGS},
            "breakdown": breakdown,
        },
    )


async def _prefill(pool: asyncpg.Pool, topic: str, config: RelayConfig) -> None:
    contract = routed_to(topic)
    store = EventStore()
    plan = plan_appends(
        contract,
        transactions=-(-config.messages // config.events_per_append),
        events_per_tx=config.events_per_append,
        seed=config.seed,
    )
    for planned in plan:
        async with transaction(pool) as conn:
            await store.append(
                conn,
                stream_id=planned.stream_id,
                expected_version=0,
                events=planned.events,
                metadata=planned.metadata,
            )
    # Keep exactly `messages` rows (the last stream stays dense, just shorter), all marked
    # published: each timed pass first marks unpublished exactly the rows it must publish.
    await pool.execute("DELETE FROM events WHERE global_position > $1", config.messages)
    await pool.execute("UPDATE events SET published_at = now()")


async def _stored_events(pool: asyncpg.Pool) -> list[StoredEvent]:
    rows = await pool.fetch(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY global_position")
    return [row_to_stored(row) for row in rows]


async def _mark_unpublished(pool: asyncpg.Pool, count: int) -> None:
    await pool.execute(
        "UPDATE events SET published_at = NULL WHERE global_position IN "
        "(SELECT global_position FROM events ORDER BY global_position LIMIT $1)",
        count,
    )
    # The relay's partial index and the table should look like a fresh backlog, not like a
    # table full of dead tuples from the previous pass.
    await pool.execute("VACUUM (ANALYZE) events")


async def _time_relay(pool: asyncpg.Pool, relay: OutboxRelay, count: int, clock: Clock) -> Run:
    await _mark_unpublished(pool, count)
    start = clock()
    published = await relay.publish_pending()
    seconds = clock() - start
    left = await pool.fetchval("SELECT count(*) FROM events WHERE published_at IS NULL")
    if published != count or left != 0:
        raise BenchMismatch(f"relay published {published} of {count}, {left} left unpublished")
    return Run(count, seconds)


async def _send_raw(
    producer: AIOKafkaProducer, records: Sequence[KafkaRecord], clock: Clock
) -> Run:
    start = clock()
    deliveries = [
        await producer.send(
            record.topic, value=record.value, key=record.key, headers=record.headers
        )
        for record in records
    ]
    await asyncio.gather(*deliveries)
    return Run(len(records), clock() - start)


async def _send_raw_in_batches(
    producer: AIOKafkaProducer, records: Sequence[KafkaRecord], batch: int, clock: Clock
) -> Run:
    """The baseline with the relay's barrier: await all acks of each ``batch`` before the next."""
    start = clock()
    for offset in range(0, len(records), batch):
        await _send_raw(producer, records[offset : offset + batch], clock)
    return Run(len(records), clock() - start)


async def _breakdown(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    stored: Sequence[StoredEvent],
    config: RelayConfig,
    clock: Clock,
) -> dict[str, Any]:
    """Per message: each database round trip and enqueue of a relay pass, the CPU of decoding
    rows and building envelopes (timed on the same rows outside the relay), and the rest, which
    is mostly waiting for the broker's acknowledgements."""
    count = config.breakdown_messages
    if count <= 0:
        return {}
    times = StepTimes(clock)
    relay = OutboxRelay(
        pool=cast(asyncpg.Pool, TimedPool(pool, times)),
        producer=cast(AIOKafkaProducer, TimedProducer(producer, times)),
        source_service=SOURCE_SERVICE,
        batch_size=config.relay_batch_size,
    )
    run = await _time_relay(pool, relay, count, clock)
    steps = times.per_unit_us(count)
    cpu = await _envelope_cpu(stored[:count], clock)
    for label, seconds in cpu.items():
        steps[label] = {"us": seconds / count * 1e6, "calls": 1.0}
    rest = run.seconds - times.total() - sum(cpu.values())
    steps["awaiting acks and other (rest)"] = {"us": rest / count * 1e6, "calls": 0.0}
    return {
        "per": "message",
        "units": count,
        "relay": {"total_us": run.seconds / count * 1e6, "steps": steps},
    }


async def _envelope_cpu(stored: Sequence[StoredEvent], clock: Clock) -> dict[str, float]:
    """CPU time of building the Kafka records, measured apart from any I/O."""
    start = clock()
    for event in stored:
        to_kafka_record(event, topic=event.topic, source_service=SOURCE_SERVICE)
    return {"to_kafka_record (CloudEvents headers)": clock() - start}


async def _check_delivered(bootstrap: str, expected: dict[str, int], config: RelayConfig) -> None:
    """Each topic holds exactly as many records as were acknowledged to its producer."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        for topic, count in expected.items():
            partitions = [TopicPartition(topic, p) for p in range(config.partitions)]
            offsets = await consumer.end_offsets(partitions)
            found = sum(offsets.values())
            if found != count:
                raise BenchMismatch(f"topic {topic} holds {found} records, expected {count}")
    finally:
        await consumer.stop()
