"""A deployment's Kafka topic prefix (``kafka_topic_prefix``) on a real broker.

The outbox relay publishes an event stored under its contract's topic to ``<prefix><topic>``;
subscribers read ``<prefix><topic>`` and dead-letter to ``<prefix><topic>.dlq``. The unprefixed
topics exist too and must stay empty, so a prefix that is ignored fails the test instead of
hanging on a missing topic.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.broker.registrator import KafkaRegistrator

from byggrygg_shared.messaging import Backoff, event_from_message
from byggrygg_shared.outbox import RelayWorker
from byggrygg_shared.subscriptions import Subscriptions

from ..conftest import _partitions_of, eventually, on_topic
from .test_outbox_relay import StepRecorded, append_steps, first_deliveries

ReadTopic = Callable[[str, int], Awaitable[list[ConsumerRecord[Any, Any]]]]
FAST = Backoff(initial=0.01, multiplier=2, maximum=0.05)


def a_prefix() -> str:
    return f"pfx-{uuid.uuid4().hex[:8]}."


async def record_count(bootstrap: str, topic: str) -> int:
    """How many records ``topic`` holds (it must exist)."""
    partitions = await _partitions_of(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def test_the_relay_publishes_to_the_prefixed_topic_and_stores_the_contracts_topic(
    events_pool: asyncpg.Pool, kafka_bootstrap: str, new_topic: Any, read_topic: ReadTopic
) -> None:
    topic = await new_topic("prefix-relay")
    prefix = a_prefix()
    prefixed = await new_topic(f"{prefix}{topic}", exact=True)

    worker = RelayWorker(
        pool=events_pool, bootstrap=kafka_bootstrap, source_service="relaytest", topic_prefix=prefix
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await append_steps(events_pool, on_topic(StepRecorded, topic), {"s": 3})
        assert first_deliveries(await read_topic(prefixed, 3)) == {b"s": [1, 2, 3]}
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)

    assert await record_count(kafka_bootstrap, topic) == 0
    # The event store keeps the contract's topic: the prefix is configuration, not data.
    stored = await events_pool.fetch("SELECT metadata::text FROM events")
    assert {json.loads(row[0])["topic"] for row in stored} == {topic}


async def test_subscribers_read_the_prefixed_topic_and_dead_letter_to_its_dlq(
    kafka_bootstrap: str, new_topic: Any, read_topic: ReadTopic
) -> None:
    topic = await new_topic("prefix-subs")
    await new_topic(f"{topic}.dlq")
    prefix = a_prefix()
    prefixed = await new_topic(f"{prefix}{topic}", exact=True)
    prefixed_dlq = await new_topic(f"{prefixed}.dlq")
    group = f"prefixtest-{uuid.uuid4().hex[:8]}"
    seen: list[tuple[str, str]] = []

    def register(router: KafkaRegistrator) -> None:
        @router.subscriber(topic, group_id=group, auto_offset_reset="earliest")
        async def on_event(message: KafkaMessage) -> None:
            event = event_from_message(message)  # raises MalformedEvent on the poison record
            seen.append((event.id, message.raw_message.topic))

    subscriptions = Subscriptions(
        bootstrap=kafka_bootstrap,
        client_id="prefixtest",
        register=register,
        topic_prefix=prefix,
        backoff=FAST,
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(prefixed, value=b"not a cloudevent", key=b"poison")
        await producer.send_and_wait(
            prefixed,
            value=b"{}",
            key=b"k",
            headers=[
                ("ce_specversion", b"1.0"),
                ("ce_id", b"good-1"),
                ("ce_source", b"/services/prefixtest"),
                ("ce_type", b"no.byggrygg.prefixtest.Pinged.v1"),
                ("content-type", b"application/json"),
            ],
        )
    finally:
        await producer.stop()

    async with subscriptions.running():

        async def good_seen() -> bool:
            return seen == [("good-1", prefixed)]

        await eventually(good_seen, what="the good record of the prefixed topic")
        [dead] = await read_topic(prefixed_dlq, 1)

    assert dead.key == b"poison"
    assert dict(dead.headers)["dlq_original_topic"] == prefixed.encode()
    assert await record_count(kafka_bootstrap, f"{topic}.dlq") == 0
