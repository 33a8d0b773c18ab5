"""Test helpers that drive a privacy participant the way the orchestrator does: the Kafka
record of a command, its received form, producing records, reading the recorded replies, and
waiting for an outcome with a generous deadline.

Only tests import it, relatively, from ``services/<svc>/tests/<kind>/`` as
``from ....participant_testing import ...`` (like ``service_testing``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from byggrygg_shared.contracts.privacy import ParticipantReplied, PrivacyCommand
from byggrygg_shared.envelope import (
    EventMetadata,
    KafkaRecord,
    ReceivedEvent,
    from_kafka_record,
    kafka_record,
)
from byggrygg_shared.eventstore import EventStore, metadata_document
from byggrygg_shared.outbox import make_idempotent_producer
from byggrygg_shared.participant import reply_stream

DEADLINE_SECONDS = 60.0


async def eventually(check: Callable[[], Awaitable[bool]], *, what: str) -> None:
    """Poll `check` until it holds; fail naming `what` after a generous deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def command_record(command: PrivacyCommand, *, topic: str) -> KafkaRecord:
    """The record the orchestrator's outbox relay would publish for `command`."""
    return kafka_record(
        topic=topic,
        stream_id=f"privacy-request-{command.request_id}",
        ce_type=command.ce_type(),
        payload=command.model_dump(mode="json"),
        metadata=metadata_document(command, EventMetadata.new(subject_ref=command.subject_ref)),
        source_service="privacy-orchestrator",
    )


def received(command: PrivacyCommand) -> ReceivedEvent:
    """`command` as a participant's subscriber receives it."""
    record = command_record(command, topic="unused")
    return from_kafka_record(record.headers, record.value, key=record.key)


async def produce(bootstrap: str, *records: KafkaRecord) -> None:
    """Publish `records` with the platform's idempotent producer."""
    producer = make_idempotent_producer(bootstrap)
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(
                record.topic, value=record.value, key=record.key, headers=record.headers
            )
    finally:
        await producer.stop()


async def replies(pool: asyncpg.Pool, request_id: uuid.UUID) -> list[ParticipantReplied]:
    """The replies a participant recorded (in its own event store) for `request_id`."""
    async with pool.acquire() as conn:
        stored = await EventStore().load(conn, reply_stream(request_id))
    found = [event.contract() for event in stored]
    assert all(isinstance(reply, ParticipantReplied) for reply in found)
    return found  # type: ignore[return-value]
