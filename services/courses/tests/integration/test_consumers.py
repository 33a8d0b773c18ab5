"""Courses' consumer on a real Kafka broker: a LicenceGranted CloudEvent from identity enrols
the learner; a redelivery changes nothing; events of no interest are acknowledged and ignored;
a revoked licence ends the learner's access."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from byggrygg_shared.auth import Role
from byggrygg_shared.contracts import identity
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.envelope import EventMetadata, KafkaRecord, kafka_record
from byggrygg_shared.eventstore import metadata_document
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.outbox import make_idempotent_producer
from byggrygg_shared.subscriptions import Subscriptions
from courses.bootstrap import Runtime
from courses.entrypoints.consumers import register_consumers

from .support import Person, Steps, snapshot

DEADLINE_SECONDS = 60.0
Check = Callable[[], Awaitable[bool]]


async def eventually(check: Check, *, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def identity_record(event: IntegrationEvent, *, topic: str) -> KafkaRecord:
    """The record identity's outbox relay would publish for `event` (same shared code)."""
    user_id = getattr(event, "user_id")  # noqa: B009 - every user event has one
    metadata = EventMetadata.new(tenant_id=str(getattr(event, "organisation_id")))  # noqa: B009
    return kafka_record(
        topic=topic,
        stream_id=f"user-{user_id}",
        ce_type=event.ce_type(),
        payload=event.model_dump(mode="json"),
        metadata=metadata_document(event, metadata),
        source_service="identity",
    )


async def produce(bootstrap: str, *records: KafkaRecord) -> None:
    producer = make_idempotent_producer(bootstrap)
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(
                record.topic, value=record.value, key=record.key, headers=record.headers
            )
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)


def consumed_up_to(bootstrap: str, group: str, topic: str, count: int) -> Check:
    async def check() -> bool:
        return await committed(bootstrap, group, topic) >= count

    return check


def subscriptions(runtime: Runtime, bootstrap: str, topic: str, group: str) -> Subscriptions:
    return Subscriptions(
        bootstrap=bootstrap,
        client_id="courses-test",
        register=register_consumers(runtime.deps, user_topic=topic, group_id=group),
        backoff=Backoff(initial=0.01, maximum=0.05),
    )


async def rows(pool: asyncpg.Pool, query: str, *args: Any) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return list(await conn.fetch(query, *args))


async def test_a_licence_granted_on_kafka_enrols_and_a_redelivery_changes_nothing(
    steps: Steps, runtime: Runtime, kafka_bootstrap: str, new_topic: Any
) -> None:
    topic = await new_topic("identity-user")
    await new_topic(f"{topic}.dlq")
    group = f"courses-test-{uuid.uuid4().hex[:8]}"
    organisation = uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner: Person = steps.people.make(Role.LEARNER, organisation_id=organisation)
    licence_id = uuid4()
    granted = identity_record(
        identity.LicenceGranted(
            user_id=learner.user_id,
            subject_ref=learner.subject_ref,
            organisation_id=organisation,
            licence_id=licence_id,
            granted_by="admin",
        ),
        topic=topic,
    )
    ignored = identity_record(
        identity.UserProfileCorrected(
            user_id=learner.user_id,
            subject_ref=learner.subject_ref,
            organisation_id=organisation,
            corrected_fields=["phone"],
            name=None,
            email=None,
            phone="enc:v1:whatever:AAAA",
            gender=None,
            language=None,
            corrected_by="self",
        ),
        topic=topic,
    )
    await produce(kafka_bootstrap, granted, ignored)

    def consumed(count: int) -> Check:
        return consumed_up_to(kafka_bootstrap, group, topic, count)

    async with subscriptions(runtime, kafka_bootstrap, topic, group).running():
        await eventually(consumed(2), what="both events to be consumed")
        (enrolment,) = await steps.my_enrolments(learner)
        assert enrolment["course_id"] == course["course_id"]
        assert enrolment["origin"] == "licence"
        (started,) = await rows(
            runtime.pool,
            "SELECT metadata FROM events WHERE event_type = 'no.byggrygg.courses.EnrolmentStarted'",
        )
        granted_id = dict(granted.headers)["ce_id"].decode()
        assert started["metadata"]["causation_id"] == granted_id
        assert started["metadata"]["tenant_id"] == str(organisation)

        # The same record again (at-least-once delivery): nothing changes.
        before = await snapshot(runtime.pool)
        await produce(kafka_bootstrap, granted)
        await eventually(consumed(3), what="the redelivery to be consumed")
        assert await snapshot(runtime.pool) == before

        # The licence is revoked: access ends.
        revoked = identity_record(
            identity.LicenceRevoked(
                user_id=learner.user_id,
                subject_ref=learner.subject_ref,
                organisation_id=organisation,
                licence_id=licence_id,
                revoked_by="admin",
            ),
            topic=topic,
        )
        await produce(kafka_bootstrap, revoked)
        await eventually(consumed(4), what="the revocation to be consumed")
        (enrolment,) = await steps.my_enrolments(learner)
        assert enrolment["status"] == "ended"
        assert enrolment["end_reason"] == "licence_revoked"
