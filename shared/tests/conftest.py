"""Fixtures of the shared library's tests, built on the root conftest's real PostgreSQL/Kafka.

Root fixtures used: ``fresh_database`` (a new empty database, DSN), ``kafka_bootstrap`` and
``new_topic`` (a uniquely named topic, deleted afterwards).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

import asyncpg
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.db import create_all, create_pool
from byggrygg_shared.eventstore import events_table
from byggrygg_shared.inbox import inbox_table
from byggrygg_shared.keyring_schema import migrate_keyring

E = TypeVar("E", bound=type[IntegrationEvent])

# Every wait in these tests polls towards a generous deadline; none sleeps a fixed time.
DEADLINE_SECONDS = 60.0


def service_metadata() -> sa.MetaData:
    """What a service's tables.py holds for the shared parts: events + inbox."""
    metadata = sa.MetaData()
    events_table(metadata)
    inbox_table(metadata)
    return metadata


def on_topic(contract: E, topic: str) -> E:
    """A copy of ``contract`` routed to ``topic`` (tests use a fresh topic each)."""
    routed = type(contract.__name__, (contract,), {"topic": topic, "__module__": __name__})
    return cast(E, routed)


async def eventually(check: Callable[[], Awaitable[bool]], *, what: str) -> None:
    """Poll ``check`` until it is true or the deadline passes."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def events_dsn(fresh_database: str) -> str:
    """A fresh database holding a service's shared tables (events, inbox)."""
    conn = await asyncpg.connect(fresh_database)
    try:
        await create_all(conn, service_metadata())
    finally:
        await conn.close()
    return fresh_database


@pytest.fixture
async def events_pool(events_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(events_dsn, min_size=1, max_size=8)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def keyring_pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a freshly migrated key ring database."""
    await migrate_keyring(fresh_database)
    pool = await create_pool(fresh_database, min_size=1, max_size=8)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def read_topic(kafka_bootstrap: str) -> Callable[..., Awaitable[list[ConsumerRecord[Any, Any]]]]:
    """Reads a topic from the beginning until it has ``count`` records (all partitions)."""

    async def read(topic: str, count: int) -> list[ConsumerRecord[Any, Any]]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka_bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            group_id=None,
        )
        await consumer.start()
        try:
            partitions = await _partitions_of(kafka_bootstrap, topic)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            records: list[ConsumerRecord[Any, Any]] = []
            deadline = time.monotonic() + DEADLINE_SECONDS
            while len(records) < count:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{topic}: got {len(records)} of {count} records")
                batch = await consumer.getmany(timeout_ms=500)
                for part in batch.values():
                    records.extend(part)
            end = await consumer.end_offsets(partitions)
            assert sum(end.values()) == count, f"{topic} holds {sum(end.values())}, not {count}"
            return records
        finally:
            await consumer.stop()

    return read


async def _partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert description["error_code"] == 0, f"topic {topic} is not there"
    return [TopicPartition(topic, p["partition"]) for p in description["partitions"]]
