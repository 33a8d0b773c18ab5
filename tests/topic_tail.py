"""Read the newer records of one of a test session's Kafka topics, picking one's own.

A session's topics (`Platform.topic("identity.user.v1")`, its prefixed copy of a platform
topic) are shared by the session's tests, so a tail starts at the end offsets the topic had
when it was opened and callers pick their records by subject or key, waiting with a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

RecordTest = Callable[[ConsumerRecord[bytes, bytes]], bool]


class TopicTail:
    """Reads a topic from the end offsets it had when the tail was opened (only newer records),
    or from its beginning when asked.

    Other tests of the session write to the topic too; callers pick their records by subject.
    """

    def __init__(self, consumer: AIOKafkaConsumer, topic: str) -> None:
        self._consumer = consumer
        self._topic = topic

    @classmethod
    async def open(cls, bootstrap: str, topic: str, *, from_beginning: bool = False) -> TopicTail:
        """A tail of `topic` from its current end, or from its first offset when
        `from_beginning` (a session's own topics are small)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics([topic])
        finally:
            await admin.close()
        found = [t for t in described if t["topic"] == topic and t["error_code"] == 0]
        if not found:
            pytest.fail(
                f"topic {topic} does not exist: a test session creates its own copies of "
                "deploy/topics.toml (`make up` the unprefixed ones)",
                pytrace=False,
            )
        partitions = sorted(p["partition"] for p in found[0]["partitions"])
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        if from_beginning:
            await consumer.seek_to_beginning(*assigned)
            return cls(consumer, topic)
        ends = await consumer.end_offsets(assigned)
        for tp in assigned:
            consumer.seek(tp, ends[tp])
        return cls(consumer, topic)

    async def close(self) -> None:
        await self._consumer.stop()

    async def find(self, matches: RecordTest, *, deadline_s: float) -> ConsumerRecord[bytes, bytes]:
        """The first newer record `matches` accepts; fails the test after `deadline_s`."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            batches = await self._consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if matches(record):
                        return record
        pytest.fail(f"no matching record on {self._topic} within {deadline_s}s", pytrace=False)

    async def find_all(
        self, matches: RecordTest, *, count: int, deadline_s: float
    ) -> list[ConsumerRecord[bytes, bytes]]:
        """The first `count` newer records `matches` accepts, in the order read."""
        found: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            batches = await self._consumer.getmany(timeout_ms=500)
            for records in batches.values():
                found += [record for record in records if matches(record)]
            if len(found) >= count:
                return found
        pytest.fail(
            f"{len(found)} of {count} matching records on {self._topic} within {deadline_s}s",
            pytrace=False,
        )


def headers_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, bytes]:
    return {name: value for name, value in record.headers}


def everything_in(record: ConsumerRecord[bytes, bytes]) -> bytes:
    """Key, value, header names and header values of a record, as one byte string."""
    parts = [record.key or b"", record.value or b""]
    for name, value in record.headers:
        parts += [name.encode(), value]
    return b"\x00".join(parts)
