"""What the crash tests need besides the harness: waiting for a condition, a service's
database, and exact reads of Kafka (a topic between two offsets, a consumer group's offsets).

A crash test must decide from what certainly happened, never from a guess about timing: it
waits for conditions with generous deadlines, and reads a topic up to the end offsets it had
once the producer's outbox was empty, so every record published so far is seen, duplicates
included.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from ..polling import eventually

DEADLINE_S = 90.0
POLL_S = 0.1

T = TypeVar("T")
Offsets: TypeAlias = dict[TopicPartition, int]
Record: TypeAlias = ConsumerRecord[bytes, bytes]

__all__ = ["eventually"]  # re-exported: the crash tests wait with the shared loop


@contextlib.asynccontextmanager
async def connected(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection to a service's database, as a test reads it (not through the service)."""
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def scalar(dsn: str, query: str, *args: object) -> Any:
    async with connected(dsn) as conn:
        return await conn.fetchval(query, *args)


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        pytest.fail(f"topic {topic} does not exist: run `make up`", pytrace=False)
    return [TopicPartition(topic, p["partition"]) for p in described["partitions"]]


async def end_offsets(bootstrap: str, topic: str) -> Offsets:
    """Where the next record of each partition of `topic` will be written."""
    partitions = await partitions_of(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def records_since(bootstrap: str, start: Offsets) -> list[Record]:
    """Every record from `start` up to the end offsets the partitions have now, per partition
    in offset order (what is published before this call is certainly in the answer)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = list(start)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for partition, offset in start.items():
            consumer.seek(partition, offset)
        found: list[Record] = []
        remaining = {p for p in partitions if ends[p] > start[p]}
        deadline = time.monotonic() + DEADLINE_S
        while remaining:
            if time.monotonic() > deadline:
                pytest.fail(f"could not read {sorted(map(str, remaining))}", pytrace=False)
            batches = await consumer.getmany(*remaining, timeout_ms=500)
            for partition, records in batches.items():
                found += [r for r in records if r.offset < ends[partition]]
                if records and records[-1].offset >= ends[partition] - 1:
                    remaining.discard(partition)
        return found
    finally:
        await consumer.stop()


def header(record: Record, name: str) -> str:
    values = [value for key, value in record.headers if key == name]
    return values[0].decode() if values else ""


def payload(record: Record) -> dict[str, Any]:
    return dict(json.loads(record.value or b"{}"))


async def group_members(bootstrap: str, group: str) -> int:
    """How many members consumer group `group` has (a killed one counts until its session
    times out)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    [described] = response.to_object()["groups"]
    return len(described["members"]) if described["error_code"] == 0 else 0


async def committed_offsets(bootstrap: str, group: str) -> Offsets:
    """The offsets consumer group `group` has committed, per partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {partition: meta.offset for partition, meta in committed.items()}


async def rewind_group(bootstrap: str, group: str, offsets: Offsets) -> None:
    """Commit `offsets` for `group` (which must have no member): its next consumer reads from
    there again. What a consumer killed before committing its offsets would see, at worst."""
    await eventually(
        lambda: _none_if(group_members(bootstrap, group), lambda members: members > 0),
        what=f"the killed member leaves consumer group {group} (session timeout)",
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(dict(offsets))
    finally:
        await consumer.stop()
    committed = await committed_offsets(bootstrap, group)
    assert {p: committed.get(p) for p in offsets} == offsets, "the group was not rewound"


async def delete_records_before(bootstrap: str, offsets: Offsets) -> Offsets:
    """Delete every record of each partition before its offset in `offsets`, as the topic's
    retention would; the partitions' new first offsets (what a consumer whose committed
    offset lies before them resets to)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deleted = await admin.delete_records(
            {
                partition: RecordsToDelete(before_offset=offset)
                for partition, offset in offsets.items()
            }
        )
    finally:
        await admin.close()
    return dict(deleted)


async def _none_if(value: Awaitable[T], rejected: Callable[[T], bool]) -> T | None:
    result = await value
    return None if rejected(result) else result
