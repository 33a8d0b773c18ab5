"""Outbox relay on real PostgreSQL and Kafka: order, restart safety, one active relay."""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from prometheus_client import REGISTRY

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.db import create_pool, transaction
from byggrygg_shared.envelope import EventMetadata, from_kafka_record
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.inbox import claim
from byggrygg_shared.outbox import OutboxRelay, make_idempotent_producer, relay_until_stopped

from ..conftest import eventually, on_topic

RELAY_SCRIPT = Path(__file__).with_name("relay_process.py")
ReadTopic = Callable[[str, int], Awaitable[list[ConsumerRecord[Any, Any]]]]


class StepRecorded(IntegrationEvent):
    event_type: ClassVar[str] = "no.byggrygg.relaytest.StepRecorded"
    source_service: ClassVar[str] = "relaytest"
    topic: ClassVar[str] = "relaytest.step.v1"

    stream: str
    step: int


store = EventStore()


async def append_steps(
    pool: asyncpg.Pool, contract: type[StepRecorded], streams: dict[str, int]
) -> None:
    """Append ``count`` steps to each stream, interleaving streams, one transaction each."""
    done = dict.fromkeys(streams, 0)
    while any(done[s] < n for s, n in streams.items()):
        for stream_id, total in streams.items():
            if done[stream_id] < total:
                async with transaction(pool) as conn:
                    await store.append(
                        conn,
                        stream_id=stream_id,
                        expected_version=done[stream_id],
                        events=[contract(stream=stream_id, step=done[stream_id] + 1)],
                        metadata=EventMetadata.new(),
                    )
                done[stream_id] += 1


async def unpublished(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events WHERE published_at IS NULL"))


def first_deliveries(records: list[ConsumerRecord[Any, Any]]) -> dict[bytes, list[int]]:
    """Per key, the steps in the order their first copy was delivered (duplicates dropped)."""
    seen: set[str] = set()
    per_key: dict[bytes, list[int]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = from_kafka_record(record.headers, record.value, key=record.key)
        if event.id not in seen:
            seen.add(event.id)
            per_key[record.key].append(event.data["step"])
    return per_key


async def test_publish_pending_sends_in_order_with_cloudevents_headers_and_marks_rows(
    events_pool: asyncpg.Pool, kafka_bootstrap: str, new_topic: Any, read_topic: ReadTopic
) -> None:
    topic = await new_topic("relay-order", partitions=3)
    contract = on_topic(StepRecorded, topic)
    await append_steps(events_pool, contract, {"a": 5, "b": 4, "c": 3})

    producer = make_idempotent_producer(kafka_bootstrap)
    await producer.start()
    try:
        relay = OutboxRelay(
            pool=events_pool, producer=producer, source_service="relaytest", batch_size=5
        )
        assert await relay.publish_pending() == 12
        assert await relay.publish_pending() == 0
    finally:
        await producer.stop()

    assert await unpublished(events_pool) == 0
    assert REGISTRY.get_sample_value("byggrygg_outbox_backlog", {"service": "relaytest"}) == 0
    published = REGISTRY.get_sample_value(
        "byggrygg_outbox_published_total", {"service": "relaytest", "topic": topic}
    )
    assert published == 12
    records = await read_topic(topic, 12)
    assert first_deliveries(records) == {b"a": [1, 2, 3, 4, 5], b"b": [1, 2, 3, 4], b"c": [1, 2, 3]}
    # One aggregate, one partition.
    partitions: dict[bytes, set[int]] = defaultdict(set)
    for record in records:
        partitions[record.key].add(record.partition)
    assert all(len(p) == 1 for p in partitions.values())
    headers = dict(records[0].headers)
    assert headers["ce_source"] == b"/services/relaytest"
    assert headers["ce_type"] == b"no.byggrygg.relaytest.StepRecorded.v1"
    async with events_pool.acquire() as conn:
        stored_ids = {e.event_id for s in ("a", "b", "c") for e in await store.load(conn, s)}
    assert {dict(r.headers)["ce_id"].decode() for r in records} == stored_ids


async def run_relay_process(dsn: str, bootstrap: str, topic: str, *args: str) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(RELAY_SCRIPT), dsn, bootstrap, topic, *args
    )
    return await asyncio.wait_for(process.wait(), timeout=120)


@pytest.mark.slow
async def test_relay_killed_at_any_point_loses_nothing_and_keeps_order(
    events_dsn: str,
    events_pool: asyncpg.Pool,
    kafka_bootstrap: str,
    new_topic: Any,
    read_topic: ReadTopic,
) -> None:
    topic = await new_topic("relay-crash", partitions=3)

    # 1. The service commits 30 events and is killed before its relay produces anything.
    code = await run_relay_process(
        events_dsn, kafka_bootstrap, topic, "--append", "30", "--kill-after-acks", "0"
    )
    assert code == -9
    assert await unpublished(events_pool) == 30

    # 2. Restarted, it commits 18 more and is killed mid-batch: 13 records acknowledged by the
    #    broker, only the first batch of 8 marked published.
    code = await run_relay_process(
        events_dsn,
        kafka_bootstrap,
        topic,
        "--append", "18", "--batch-size", "8", "--kill-after-acks", "13",
    )  # fmt: skip
    assert code == -9
    assert await unpublished(events_pool) == 48 - 8

    # 3. Restarted again, the relay publishes what is left and exits normally.
    code = await run_relay_process(events_dsn, kafka_bootstrap, topic, "--batch-size", "8")
    assert code == 0
    assert await unpublished(events_pool) == 0

    # Every event is on the topic; the 5 acknowledged-but-unmarked ones twice.
    records = await read_topic(topic, 48 + 5)
    ids = [dict(r.headers)["ce_id"] for r in records]
    assert len(set(ids)) == 48
    per_key = first_deliveries(records)
    assert sorted(per_key) == [b"s0", b"s1", b"s2"]
    for steps in per_key.values():
        assert steps == list(range(1, len(steps) + 1))
    assert sum(len(steps) for steps in per_key.values()) == 48

    # A consumer using the inbox applies each event exactly once despite the duplicates.
    await events_pool.execute(
        "CREATE TABLE applied (event_id text PRIMARY KEY, times int NOT NULL)"
    )
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = from_kafka_record(record.headers, record.value, key=record.key)
        async with transaction(events_pool) as conn:
            if await claim(conn, consumer="steps-projection", event_id=event.id):
                await conn.execute(
                    "INSERT INTO applied VALUES ($1, 1) "
                    "ON CONFLICT (event_id) DO UPDATE SET times = applied.times + 1",
                    event.id,
                )
    assert await events_pool.fetchval("SELECT count(*) FROM applied") == 48
    assert await events_pool.fetchval("SELECT max(times) FROM applied") == 1


async def test_run_wakes_on_notify_long_before_its_poll_interval(
    events_pool: asyncpg.Pool, kafka_bootstrap: str, new_topic: Any, read_topic: ReadTopic
) -> None:
    topic = await new_topic("relay-notify")
    contract = on_topic(StepRecorded, topic)
    producer = make_idempotent_producer(kafka_bootstrap)
    await producer.start()
    # A poll interval far beyond the test's deadline: only NOTIFY can wake the relay in time.
    relay = OutboxRelay(
        pool=events_pool, producer=producer, source_service="relaytest", poll_interval=3600
    )
    stop = asyncio.Event()
    running = asyncio.ensure_future(relay.run(stop))
    try:

        async def is_leader() -> bool:
            return relay.is_leader

        await eventually(is_leader, what="the relay to lead")
        await append_steps(events_pool, contract, {"x": 3})

        async def all_published() -> bool:
            return await unpublished(events_pool) == 0

        await eventually(all_published, what="the relay to publish after NOTIFY")
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=60)
        await producer.stop()
    assert first_deliveries(await read_topic(topic, 3)) == {b"x": [1, 2, 3]}


async def test_only_one_relay_is_active_and_a_standby_takes_over(
    events_dsn: str,
    events_pool: asyncpg.Pool,
    kafka_bootstrap: str,
    new_topic: Any,
    read_topic: ReadTopic,
) -> None:
    topic = await new_topic("relay-standby", partitions=2)
    contract = on_topic(StepRecorded, topic)
    pools = [await create_pool(events_dsn, max_size=2) for _ in range(2)]
    producers = [make_idempotent_producer(kafka_bootstrap) for _ in range(2)]
    for producer in producers:
        await producer.start()
    relays = [
        OutboxRelay(
            pool=pool,
            producer=producer,
            source_service="relaytest",
            batch_size=3,
            poll_interval=0.2,
            standby_interval=0.2,
        )
        for pool, producer in zip(pools, producers, strict=True)
    ]
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.ensure_future(r.run(s)) for r, s in zip(relays, stops, strict=True)]
    try:

        async def one_leads() -> bool:
            return any(r.is_leader for r in relays)

        await eventually(one_leads, what="a leader")
        assert [r.is_leader for r in relays].count(True) == 1
        # While one leads, a one-off pass elsewhere stands back instead of racing it.
        other = OutboxRelay(pool=events_pool, producer=producers[0], source_service="relaytest")
        assert await other.publish_pending() == 0

        await append_steps(events_pool, contract, {"p": 4, "q": 4})

        async def drained() -> bool:
            return await unpublished(events_pool) == 0

        await eventually(drained, what="the leader to publish")

        leader = next(i for i, r in enumerate(relays) if r.is_leader)
        stops[leader].set()
        await asyncio.wait_for(tasks[leader], timeout=60)
        standby = relays[1 - leader]

        async def standby_leads() -> bool:
            return standby.is_leader

        await eventually(standby_leads, what="the standby to take over")
        await append_steps(events_pool, contract, {"r": 3})
        await eventually(drained, what="the new leader to publish")
    finally:
        for stop in stops:
            stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
        for producer in producers:
            await producer.stop()
        for pool in pools:
            await pool.close()

    per_key = first_deliveries(await read_topic(topic, 11))
    assert per_key == {b"p": [1, 2, 3, 4], b"q": [1, 2, 3, 4], b"r": [1, 2, 3]}


async def test_a_service_relay_waits_for_the_broker_then_publishes_until_stopped(
    events_pool: asyncpg.Pool, kafka_bootstrap: str, new_topic: Any, read_topic: ReadTopic
) -> None:
    # No broker listens on this port: the relay keeps retrying instead of failing the service.
    stop, connected = asyncio.Event(), asyncio.Event()
    unreachable = make_idempotent_producer("127.0.0.1:1", request_timeout_ms=500)
    waiting = asyncio.create_task(
        relay_until_stopped(
            pool=events_pool,
            producer=unreachable,
            source_service="relaytest",
            stop=stop,
            connected=connected,
            retry_interval=0.1,
        )
    )
    await asyncio.sleep(1.0)
    assert not waiting.done()
    assert not connected.is_set()
    stop.set()
    await asyncio.wait_for(waiting, timeout=30)

    topic = await new_topic("relay-service", partitions=1)
    stop, connected = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(
        relay_until_stopped(
            pool=events_pool,
            producer=make_idempotent_producer(kafka_bootstrap),
            source_service="relaytest",
            stop=stop,
            connected=connected,
        )
    )
    await asyncio.wait_for(connected.wait(), timeout=60)
    await append_steps(events_pool, on_topic(StepRecorded, topic), {"s": 3})
    assert first_deliveries(await read_topic(topic, 3)) == {b"s": [1, 2, 3]}
    stop.set()
    await asyncio.wait_for(running, timeout=30)
    assert await unpublished(events_pool) == 0
