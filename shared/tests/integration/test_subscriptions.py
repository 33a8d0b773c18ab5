"""Subscriptions on a real broker: consume, readiness, retry while Kafka is away, clean stop."""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.broker.registrator import KafkaRegistrator

from byggrygg_shared.messaging import ACK_POLICY, Backoff, event_from_message
from byggrygg_shared.subscriptions import Subscriptions

from ..conftest import eventually

FAST = Backoff(initial=0.01, multiplier=2, maximum=0.05)


def cloudevent_headers(event_id: str) -> list[tuple[str, bytes]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", event_id.encode()),
        ("ce_source", b"/services/subtest"),
        ("ce_type", b"no.byggrygg.subtest.Pinged.v1"),
        ("content-type", b"application/json"),
    ]


async def produce(bootstrap: str, topic: str, event_ids: list[str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for event_id in event_ids:
            await producer.send_and_wait(
                topic, value=b"{}", key=b"k", headers=cloudevent_headers(event_id)
            )
    finally:
        await producer.stop()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_registered_subscribers_consume_and_report_ready_until_stopped(
    kafka_bootstrap: str, new_topic: Any
) -> None:
    topic = await new_topic("subs")
    await new_topic(f"{topic}.dlq")
    group = f"subtest-{uuid.uuid4().hex[:8]}"
    seen: list[str] = []
    registrations = 0

    def register(broker: KafkaRegistrator) -> None:
        nonlocal registrations
        registrations += 1

        @broker.subscriber(topic, group_id=group, auto_offset_reset="earliest")
        async def on_event(message: KafkaMessage) -> None:
            seen.append(event_from_message(message).id)

    subscriptions = Subscriptions(
        bootstrap=kafka_bootstrap, client_id="subtest", register=register, backoff=FAST
    )
    with pytest.raises(ConnectionError):
        await subscriptions.check()  # not started: not ready

    await produce(kafka_bootstrap, topic, ["before-start"])
    async with subscriptions.running():
        await subscriptions.check()  # raises if not ready
        await produce(kafka_bootstrap, topic, ["after-start"])

        async def both_seen() -> bool:
            return seen == ["before-start", "after-start"]

        await eventually(both_seen, what="both events to be consumed")
        broker = subscriptions.broker
        assert broker is not None
        assert broker.running

    assert registrations == 1
    assert not broker.running  # stopped on leaving the block
    assert subscriptions.broker is None
    with pytest.raises(ConnectionError):
        await subscriptions.check()


async def test_an_unreachable_kafka_is_retried_and_stop_still_ends_the_run() -> None:
    registrations = 0

    def register(broker: KafkaRegistrator) -> None:
        nonlocal registrations
        registrations += 1

        @broker.subscriber("never.v1", group_id="subtest", auto_offset_reset="earliest")
        async def on_event(message: KafkaMessage) -> None:
            raise AssertionError("nothing can arrive from a broker that is not there")

    subscriptions = Subscriptions(
        bootstrap=f"127.0.0.1:{closed_port()}",
        client_id="subtest-unreachable",
        register=register,
        retry_interval=0.05,
        request_timeout_ms=1000,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(subscriptions.run(stop))

    async def retried() -> bool:
        return registrations >= 2

    await eventually(retried, what="a second start attempt with a fresh broker")
    assert not task.done()
    with pytest.raises(ConnectionError):
        await subscriptions.check()

    stop.set()
    await asyncio.wait_for(task, timeout=30)
    assert not subscriptions.started.is_set()


async def test_a_message_in_hand_is_not_committed_while_another_subscriber_commits(
    kafka_bootstrap: str, new_topic: Any
) -> None:
    """Two subscribers of one group (as every service has): while the first still handles its
    message, the second's messages are handled and committed, and the first's offset is not.

    Regression: FastStream 0.7 gives a router's subscribers the router's ack policy, which
    defaulted to ACK_FIRST (auto-commit of what was fetched): a kill -9 then lost the message
    in hand (a participant's reply, seen in tests/faults/test_privacy_crash.py)."""
    slow_topic, fast_topic = await new_topic("subs-slow"), await new_topic("subs-fast")
    group = f"subtest-{uuid.uuid4().hex[:8]}"
    in_hand, release = asyncio.Event(), asyncio.Event()
    fast_seen: list[str] = []

    def register(broker: KafkaRegistrator) -> None:
        @broker.subscriber(slow_topic, group_id=group, auto_offset_reset="earliest")
        async def on_slow(message: KafkaMessage) -> None:
            in_hand.set()
            await release.wait()

        @broker.subscriber(fast_topic, group_id=group, auto_offset_reset="earliest")
        async def on_fast(message: KafkaMessage) -> None:
            fast_seen.append(event_from_message(message).id)

    subscriptions = Subscriptions(
        bootstrap=kafka_bootstrap, client_id="subtest", register=register, backoff=FAST
    )
    async with subscriptions.running():
        broker = subscriptions.broker
        assert broker is not None
        assert {subscriber.ack_policy for subscriber in broker.subscribers} == {ACK_POLICY}
        await produce(kafka_bootstrap, slow_topic, ["slow-1"])
        await eventually(lambda: _is_set(in_hand), what="the slow message in hand")
        await produce(kafka_bootstrap, fast_topic, ["fast-1", "fast-2"])

        async def fast_committed() -> bool:
            committed = await committed_offsets(kafka_bootstrap, group)
            return committed.get(TopicPartition(fast_topic, 0)) == 2

        await eventually(fast_committed, what="the fast subscriber's offsets committed")
        # Longer than aiokafka's auto-commit interval (5 s): an auto-committing consumer
        # would have committed the slow message's offset by now.
        for _ in range(16):
            committed = await committed_offsets(kafka_bootstrap, group)
            assert TopicPartition(slow_topic, 0) not in committed, committed
            await asyncio.sleep(0.5)
        release.set()

        async def slow_committed() -> bool:
            committed = await committed_offsets(kafka_bootstrap, group)
            return committed.get(TopicPartition(slow_topic, 0)) == 1

        await eventually(slow_committed, what="the slow message committed once handled")
    assert fast_seen == ["fast-1", "fast-2"]


async def _is_set(event: asyncio.Event) -> bool:
    return event.is_set()


async def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {partition: meta.offset for partition, meta in committed.items() if meta.offset >= 0}
