"""The shared fixtures give working, isolated PostgreSQL databases and Kafka topics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

# The root conftest's `new_topic` factory (not imported: conftest modules are not a package).
NewTopicFactory = Callable[..., Awaitable[str]]
RECEIVE_TIMEOUT_S = 30.0


async def test_fresh_database_is_empty_and_writable(fresh_database: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        user_tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert user_tables == 0
        await conn.execute("CREATE TABLE probe (id uuid PRIMARY KEY, note text NOT NULL)")
        row_id = uuid.uuid4()
        await conn.execute("INSERT INTO probe VALUES ($1, $2)", row_id, "hello")
        assert await conn.fetchval("SELECT note FROM probe WHERE id = $1", row_id) == "hello"
        assert await conn.fetchval("SELECT current_database()") != "postgres"
    finally:
        await conn.close()


async def test_each_test_gets_its_own_database(fresh_database: str, pg_admin_dsn: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        name = await conn.fetchval("SELECT current_database()")
    finally:
        await conn.close()
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        listed = await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name)
    finally:
        await admin.close()
    assert name.startswith("test_")
    assert listed == 1


async def test_new_topic_round_trips_a_message(
    new_topic: NewTopicFactory, kafka_bootstrap: str
) -> None:
    topic = await new_topic("infra.probe", partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            topic, key=b"aggregate-1", value=b'{"hello":"kafka"}', headers=[("ce_id", b"1")]
        )
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, sent.partition)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        received = await asyncio.wait_for(consumer.getone(), RECEIVE_TIMEOUT_S)
    finally:
        await consumer.stop()

    assert received.topic == topic
    assert received.key == b"aggregate-1"
    assert received.value == b'{"hello":"kafka"}'
    assert list(received.headers) == [("ce_id", b"1")]


async def test_dead_letter_sibling_keeps_the_exact_name(
    new_topic: NewTopicFactory, kafka_bootstrap: str
) -> None:
    topic = await new_topic("infra.events", partitions=3)
    dlq = await new_topic(f"{topic}.dlq")
    assert dlq == f"{topic}.dlq"

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics([topic, dlq])}
    finally:
        await admin.close()
    assert len(described[topic]["partitions"]) == 3
    assert len(described[dlq]["partitions"]) == 1
