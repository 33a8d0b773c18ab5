"""FastStream consumers on a real broker: retries, dead letters, commit after processing."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import REGISTRY

from byggrygg_shared.envelope import MalformedEvent
from byggrygg_shared.messaging import Backoff, event_from_message, make_broker

from ..conftest import eventually

ReadTopic = Callable[[str, int], Awaitable[list[ConsumerRecord[Any, Any]]]]
FAST = Backoff(initial=0.01, multiplier=2, maximum=0.05)


def cloudevent_headers(event_id: str) -> list[tuple[str, bytes]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", event_id.encode()),
        ("ce_source", b"/services/dlqtest"),
        ("ce_type", b"no.byggrygg.dlqtest.Pinged.v1"),
        ("ce_correlationid", b"corr"),
        ("content-type", b"application/json"),
    ]


async def produce(bootstrap: str, topic: str, messages: list[tuple[str, bytes, bool]]) -> None:
    """(event id, value, as a CloudEvent?) in order, all on partition 0."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for event_id, value, is_cloudevent in messages:
            await producer.send_and_wait(
                topic,
                value=value,
                key=b"k",
                partition=0,
                headers=cloudevent_headers(event_id) if is_cloudevent else [],
            )
    finally:
        await producer.stop()


async def committed_offset(bootstrap: str, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)


async def test_poison_goes_to_the_dlq_with_the_error_and_later_messages_still_flow(
    kafka_bootstrap: str, new_topic: Any, read_topic: ReadTopic
) -> None:
    topic = await new_topic("dlq-src")
    dlq = await new_topic(f"{topic}.dlq")
    group = f"dlqtest-{uuid.uuid4().hex[:8]}"
    attempts: Counter[str] = Counter()
    processed: list[str] = []

    broker = make_broker(kafka_bootstrap, max_attempts=3, backoff=FAST)

    @broker.subscriber(topic, group_id=group, auto_offset_reset="earliest")
    async def handle(message: KafkaMessage) -> None:
        event = event_from_message(message)  # raises MalformedEvent for the non-CloudEvent
        attempts[event.id] += 1
        if event.data.get("poison"):
            raise RuntimeError("cannot handle event " + event.id)
        processed.append(event.id)

    await produce(
        kafka_bootstrap,
        topic,
        [
            ("good-1", b'{"n": 1}', True),
            ("poison", b'{"poison": true}', True),
            ("garbage", b"\x00not a cloudevent", False),
            ("good-2", b'{"n": 2}', True),
            ("good-3", b'{"n": 3}', True),
        ],
    )
    async with broker:
        await broker.start()

        async def all_committed() -> bool:
            return await committed_offset(kafka_bootstrap, group, topic) == 5

        await eventually(all_committed, what="the group to commit past every message")

    assert processed == ["good-1", "good-2", "good-3"]
    assert attempts["poison"] == 3  # retried up to max_attempts, no more
    assert attempts["good-1"] == attempts["good-2"] == 1

    assert REGISTRY.get_sample_value("byggrygg_dlq_messages_total", {"topic": topic}) == 2
    lag = {"group": group, "topic": topic, "partition": "0"}
    assert REGISTRY.get_sample_value("byggrygg_consumer_lag", lag) == 0

    letters = sorted(await read_topic(dlq, 2), key=lambda r: r.offset)
    poison, garbage = (dict(r.headers) for r in letters)

    assert letters[0].value == b'{"poison": true}'
    assert letters[0].key == b"k"
    assert poison["ce_id"] == b"poison"  # the original CloudEvent headers travel along
    assert poison["dlq_error_type"] == b"builtins.RuntimeError"
    assert poison["dlq_error_message"] == b"cannot handle event poison"
    assert poison["dlq_attempts"] == b"3"
    assert poison["dlq_original_topic"] == topic.encode()
    assert poison["dlq_original_partition"] == b"0"
    assert poison["dlq_original_offset"] == b"1"
    assert poison["dlq_consumer_group"] == group.encode()
    assert poison["dlq_failed_at"]

    # A malformed message cannot get better by retrying: dead-lettered at the first failure.
    assert letters[1].value == b"\x00not a cloudevent"
    assert garbage["dlq_error_type"] == f"{MalformedEvent.__module__}.MalformedEvent".encode()
    assert garbage["dlq_attempts"] == b"1"
    assert garbage["dlq_original_offset"] == b"2"


async def test_a_transient_failure_is_retried_and_never_dead_lettered(
    kafka_bootstrap: str, new_topic: Any, read_topic: ReadTopic
) -> None:
    topic = await new_topic("dlq-transient")
    dlq = await new_topic(f"{topic}.dlq")
    group = f"dlqtest-{uuid.uuid4().hex[:8]}"
    attempts: Counter[str] = Counter()
    processed: list[str] = []

    broker = make_broker(kafka_bootstrap, max_attempts=5, backoff=FAST)

    @broker.subscriber(topic, group_id=group, auto_offset_reset="earliest")
    async def handle(message: KafkaMessage) -> None:
        event = event_from_message(message)
        attempts[event.id] += 1
        if event.id == "flaky" and attempts[event.id] < 3:
            raise ConnectionError("database briefly away")
        processed.append(event.id)

    await produce(kafka_bootstrap, topic, [("flaky", b"{}", True), ("after", b"{}", True)])
    async with broker:
        await broker.start()

        async def all_committed() -> bool:
            return await committed_offset(kafka_bootstrap, group, topic) == 2

        await eventually(all_committed, what="the group to commit both messages")

    assert processed == ["flaky", "after"]  # order kept: the retry blocked the partition
    assert attempts["flaky"] == 3
    # The dead-letter publish would precede the commit; the commit happened, so this is final.
    assert await read_topic(dlq, 0) == []


async def test_a_failed_dead_letter_publish_is_not_committed_and_is_redelivered(
    kafka_bootstrap: str, new_topic: Any, read_topic: ReadTopic
) -> None:
    """NACK_ON_ERROR: if even the DLQ is unreachable, the message is consumed again."""
    topic = await new_topic("dlq-down")
    dlq = await new_topic(f"{topic}.dlq")
    group = f"dlqtest-{uuid.uuid4().hex[:8]}"
    attempts: Counter[str] = Counter()
    processed: list[str] = []
    dead_letter_calls = 0
    broker_ref: list[Any] = []

    async def flaky_dead_letters(
        *, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> None:
        nonlocal dead_letter_calls
        dead_letter_calls += 1
        if dead_letter_calls == 1:
            raise ConnectionError("dead-letter topic unreachable")
        await broker_ref[0].publish(value, topic=topic, key=key, headers=headers)

    broker = make_broker(
        kafka_bootstrap, max_attempts=2, backoff=FAST, dead_letters=flaky_dead_letters
    )
    broker_ref.append(broker)

    @broker.subscriber(topic, group_id=group, auto_offset_reset="earliest")
    async def handle(message: KafkaMessage) -> None:
        event = event_from_message(message)
        attempts[event.id] += 1
        if event.id == "poison":
            raise ValueError("always fails")
        processed.append(event.id)

    await produce(kafka_bootstrap, topic, [("poison", b"{}", True), ("next", b"{}", True)])
    async with broker:
        await broker.start()

        async def all_committed() -> bool:
            return await committed_offset(kafka_bootstrap, group, topic) == 2

        await eventually(all_committed, what="the group to commit both messages")

    assert dead_letter_calls == 2
    assert attempts["poison"] == 4  # two rounds of max_attempts: it was delivered again
    assert processed == ["next"]
    (letter,) = await read_topic(dlq, 1)
    assert dict(letter.headers)["dlq_attempts"] == b"2"
