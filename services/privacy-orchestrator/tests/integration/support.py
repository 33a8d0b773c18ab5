"""Shared steps of the integration tests, each written once: topics of a test's own for the
orchestrator's subscribers and its settings pointed at them, publishing records as a relay
does, reading the database, and polling until something holds."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID, uuid4

import asyncpg

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.envelope import KafkaRecord
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.outbox import make_idempotent_producer
from privacy_orchestrator.settings import OrchestratorSettings

T = TypeVar("T")

# What the ``headers`` fixture (conftest) gives: a principal's Authorization header.
Headers = Callable[[Principal], dict[str, str]]

DEADLINE_SECONDS = 60.0

# Short redelivery waits so a test's retried message is seen within its deadline.
FAST_BACKOFF = Backoff(initial=0.01, maximum=0.05)


@dataclass(frozen=True)
class OwnTopics:
    """The replies topic and identity's users and organisations topics, of one test's own."""

    replies: str
    users: str
    organisations: str


async def own_topics(new_topic: Callable[[str], Awaitable[str]]) -> OwnTopics:
    """Create the topics every subscriber reads (and their dead-letter topics) for one test,
    so nothing else's events reach it."""
    replies, users, organisations = [
        await new_topic(name) for name in ("privacy-replies", "identity-user", "identity-org")
    ]
    for name in (replies, users, organisations):
        await new_topic(f"{name}.dlq")
    return OwnTopics(replies, users, organisations)


def on_topics(
    settings: OrchestratorSettings, topics: OwnTopics, kafka_bootstrap: str, group: str
) -> OrchestratorSettings:
    """``settings`` reading ``topics`` in a consumer group of its own (prefix ``group``)."""
    return settings.model_copy(
        update={
            "kafka_bootstrap": kafka_bootstrap,
            "privacy_orchestrator_replies_topic": topics.replies,
            "privacy_orchestrator_user_topic": topics.users,
            "privacy_orchestrator_organisation_topic": topics.organisations,
            "privacy_orchestrator_consumer_group": f"{group}-{uuid.uuid4().hex[:8]}",
        }
    )


async def eventually(check: Callable[[], Awaitable[T]], what: str) -> T:
    """Poll ``await check()`` until it returns something truthy (a generous deadline, so
    nothing passes or fails on timing); that result."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def produce(bootstrap: str, records: list[KafkaRecord]) -> None:
    """Publish ``records`` in order, as a service's outbox relay does."""
    producer = make_idempotent_producer(bootstrap)
    await producer.start()
    try:
        for item in records:
            await producer.send_and_wait(
                item.topic, value=item.value, key=item.key, headers=item.headers
            )
    finally:
        await producer.stop()


async def rows(pool: asyncpg.Pool, query: str, *args: Any) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return list(await conn.fetch(query, *args))


async def value(pool: asyncpg.Pool, query: str, *args: Any) -> Any:
    async with pool.acquire() as conn:
        return await conn.fetchval(query, *args)


def person(*roles: Role, organisation_id: UUID | None = None) -> Principal:
    """A fresh principal with ``roles`` (and an organisation when given)."""
    return Principal(
        user_id=str(uuid4()),
        subject_ref="subj_" + uuid4().hex,
        organisation_id=None if organisation_id is None else str(organisation_id),
        roles=frozenset(roles),
    )


async def rewind_chain(dsn: str, *, to: int) -> None:
    """What a database superuser can do to the completion records: past the append-only
    trigger, delete every record after ``to`` and set the chain head back to record ``to``
    (the one attack the chain alone cannot show; anchors do)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("DELETE FROM completion_records WHERE sequence > $1", to)
        await conn.execute(
            "UPDATE record_chain_head SET (sequence, hash) = "
            "(SELECT sequence, hash FROM completion_records WHERE sequence = $1) WHERE id = 1",
            to,
        )
    finally:
        await conn.close()
