"""The live projection's batches on real Kafka and PostgreSQL: poison records in a batch
(not a CloudEvent, an invalid payload, a value the database refuses) go alone to
``<topic>.dlq`` while the rest of their batch is projected; a batch whose transaction fails
is applied again and nothing is lost; a batch in hand is not committed until its transaction
committed (a kill -9 then re-reads it)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY

from byggrygg_shared.envelope import KafkaRecord, MalformedEvent
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.subscriptions import Subscriptions
from reporting.bootstrap import Runtime
from reporting.entrypoints import consumers
from reporting.service_layer import batch_attempts
from reporting.service_layer.projection import Decoded, lock_subject

from ....participant_testing import eventually, produce
from .support import CourseStory, Enrolment
from .test_projection_batches import waiting_for_a_lock

NewTopic = Callable[..., Awaitable[str]]
ORG = uuid.uuid4()
LEARNERS = 30
FAST = Backoff(initial=0.01, maximum=0.05)


class Topics:
    def __init__(self, catalogue: str, enrolment: str, commands: str) -> None:
        self.catalogue, self.enrolment, self.commands = catalogue, enrolment, commands


async def new_topics(new_topic: NewTopic) -> Topics:
    """Courses' topics of a test (the enrolment topic with two partitions and its .dlq)."""
    enrolment = await new_topic("reporting-enrolment", partitions=2)
    await new_topic(f"{enrolment}.dlq")
    return Topics(
        await new_topic("reporting-catalogue"), enrolment, await new_topic("reporting-commands")
    )


@pytest.fixture
async def topics(new_topic: NewTopic) -> Topics:
    return await new_topics(new_topic)


def story_of(topics: Topics) -> tuple[CourseStory, list[Enrolment]]:
    story = CourseStory(catalogue_topic=topics.catalogue, enrolment_topic=topics.enrolment)
    course = story.course(organisations=(ORG,))
    learners = []
    for index in range(LEARNERS):
        learner = story.enrol(course, ORG)
        story.answer(learner, course.scale, scale_value=1 + index % 5)
        story.answer(learner, course.choice, selected_option_ids=[course.options[index % 3]])
        story.complete(learner)
        learners.append(learner)
    return story, learners


def subscriptions(runtime: Runtime, topics: Topics, group: str, **options: Any) -> Subscriptions:
    return Subscriptions(
        bootstrap=runtime.settings.kafka_bootstrap,
        client_id="reporting-batch-test",
        register=consumers.register_consumers(
            runtime,
            group_id=group,
            catalogue_topic=topics.catalogue,
            enrolment_topic=topics.enrolment,
            privacy_command_topic=topics.commands,
        ),
        **{"backoff": FAST, **options},
    )


async def projected(runtime: Runtime) -> tuple[int, int]:
    answers = await runtime.pool.fetchval("SELECT count(*) FROM answers")
    completed = await runtime.pool.fetchval(
        "SELECT count(*) FROM enrolments WHERE completed_at IS NOT NULL"
    )
    return int(answers), int(completed)


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """`group` committed the end offset of every partition of `topic` that has records."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(2)]
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    offsets = await committed(bootstrap, group, topic)
    return all(offsets.get(tp.partition) == end for tp, end in ends.items() if end)


async def read_all(bootstrap: str, topic: str, *, expect: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[Any] = []
    try:

        async def enough() -> bool:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(batch)
            return len(found) >= expect

        await eventually(enough, what=f"{expect} record(s) on {topic}")
        # nothing more than expected arrives (a record dead-lettered twice would)
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            found.extend(batch)
    finally:
        await consumer.stop()
    return found


def spy_on_decoding(monkeypatch: pytest.MonkeyPatch) -> list[Decoded]:
    """Every batch the subscriber decodes."""
    seen: list[Decoded] = []
    decode = consumers.decode_records

    def recording(records: Any, accepted: frozenset[str]) -> Decoded:
        seen.append(decode(records, accepted))
        return seen[-1]

    monkeypatch.setattr(consumers, "decode_records", recording)
    return seen


async def test_poison_records_are_dead_lettered_alone_and_the_rest_of_their_batch_projected(
    runtime: Runtime, kafka_bootstrap: str, topics: Topics, monkeypatch: pytest.MonkeyPatch
) -> None:
    story, learners = story_of(topics)
    good = story.records[:]
    per = learners[20]
    answer = good[3 + 4 * 3 + 1]  # a scale answer: the poison rides on its key and headers
    garbage = KafkaRecord(topics.enrolment, answer.key, b"\x00not a cloudevent", [])
    invalid = KafkaRecord(topics.enrolment, answer.key, b"{}", answer.headers)
    # Valid by the contract, but no int4 holds it: the database refuses it.
    refused = CourseStory(catalogue_topic=topics.catalogue, enrolment_topic=topics.enrolment)
    refused.answer(per, per.course.scale, scale_value=2**40)
    poison = [garbage, invalid, *refused.records]
    # All there before the subscriber starts: its first fetches are batches of many.
    await produce(
        kafka_bootstrap,
        *good[:40],
        garbage,
        *good[40:70],
        invalid,
        *good[70:100],
        *refused.records,
        *good[100:],
    )
    batches = spy_on_decoding(monkeypatch)
    dlq_metric = {"topic": topics.enrolment}
    dead_before = REGISTRY.get_sample_value("byggrygg_dlq_messages_total", dlq_metric) or 0
    group = f"reporting-batch-{uuid.uuid4().hex[:8]}"

    async with subscriptions(runtime, topics, group).running():

        async def all_projected() -> bool:
            return await projected(runtime) == (2 * LEARNERS, LEARNERS)

        await eventually(all_projected, what="every good record projected")
        letters = await read_all(kafka_bootstrap, f"{topics.enrolment}.dlq", expect=3)

        await eventually(
            lambda: caught_up(kafka_bootstrap, group, topics.enrolment),
            what="every offset committed, the poison's too",
        )

    # A poison record was read in one batch with good ones, which were projected all the same.
    assert any(batch.unreadable and batch.items for batch in batches)
    assert max(len(batch.items) + len(batch.unreadable) for batch in batches) > 10
    assert sorted(letter.value for letter in letters) == sorted(p.value for p in poison)
    by_value = {letter.value: dict(letter.headers) for letter in letters}
    kinds = {value: headers["dlq_error_type"].decode() for value, headers in by_value.items()}
    assert kinds[garbage.value] == f"{MalformedEvent.__module__}.MalformedEvent"
    assert kinds[invalid.value].endswith(".InvalidEventPayload")
    assert kinds[refused.records[0].value] == "asyncpg.exceptions.DataError"
    refused_headers = by_value[refused.records[0].value]
    assert str(2**40).encode() not in refused_headers["dlq_error_message"]  # value-free
    for headers in by_value.values():
        assert headers["dlq_original_topic"] == topics.enrolment.encode()
        assert headers["dlq_consumer_group"] == group.encode()
    assert REGISTRY.get_sample_value("byggrygg_dlq_messages_total", dlq_metric) == dead_before + 3
    # Per's refused answer changed nothing: the scale answer projected before it stands.
    scale = await runtime.pool.fetchval(
        "SELECT scale_value FROM answers WHERE enrolment_id = $1 AND question_id = $2",
        per.enrolment_id,
        per.course.scale,
    )
    assert scale == 1 + 20 % 5
    for partition in (0, 1):
        lag = {"group": group, "topic": topics.enrolment, "partition": str(partition)}
        assert REGISTRY.get_sample_value("byggrygg_consumer_lag", lag) == 0


@pytest.mark.parametrize(
    "max_attempts",
    [
        pytest.param(1, id="read-again-from-kafka"),  # the middleware gives up: nack, seek back
        pytest.param(3, id="retried-in-place"),
    ],
)
async def test_a_batch_whose_transaction_fails_is_applied_again_and_nothing_is_lost(
    runtime: Runtime,
    kafka_bootstrap: str,
    topics: Topics,
    monkeypatch: pytest.MonkeyPatch,
    max_attempts: int,
) -> None:
    story, _ = story_of(topics)
    await produce(kafka_bootstrap, *story.records)
    calls: list[set[str]] = []
    apply = batch_attempts.apply_or_isolate

    async def fails_the_first_time(conn: asyncpg.Connection, items: Any, **options: Any) -> Any:
        calls.append({item.event.id for item in items})
        refused = await apply(conn, items, **options)  # the batch's rows are written...
        if len(calls) == 1:
            raise ConnectionResetError("the database went away")  # ...then it fails
        return refused

    monkeypatch.setattr(batch_attempts, "apply_or_isolate", fails_the_first_time)
    group = f"reporting-batch-{uuid.uuid4().hex[:8]}"

    async with subscriptions(runtime, topics, group, max_attempts=max_attempts).running():

        async def all_projected() -> bool:
            return await projected(runtime) == (2 * LEARNERS, LEARNERS)

        await eventually(all_projected, what="every record projected after the failure")

        await eventually(
            lambda: caught_up(kafka_bootstrap, group, topics.enrolment),
            what="every offset committed",
        )

    failed, *after = calls
    assert len(failed) > 1  # a batch, not a single record, failed
    assert failed <= set().union(*after)  # every record of it was applied again
    assert await runtime.pool.fetchval("SELECT count(*) FROM enrolments") == LEARNERS
    dlq_metric = {"topic": topics.enrolment}
    assert not REGISTRY.get_sample_value("byggrygg_dlq_messages_total", dlq_metric)


async def test_a_batch_in_hand_is_not_committed_before_its_transaction_commits(
    runtime: Runtime, kafka_bootstrap: str, topics: Topics
) -> None:
    story = CourseStory(catalogue_topic=topics.catalogue, enrolment_topic=topics.enrolment)
    course = story.course(organisations=(ORG,))
    kari = story.enrol(course, ORG)  # one learner: her records share a key and a partition
    for value in (1, 2, 3, 4, 5):
        story.answer(kari, course.scale, scale_value=value)
    await produce(kafka_bootstrap, *story.records)
    group = f"reporting-batch-{uuid.uuid4().hex[:8]}"

    async with runtime.pool.acquire() as erasure:
        # An erasure of Kari holds her lock: the batch with her events waits for it.
        held = erasure.transaction()
        await held.start()
        await lock_subject(erasure, kari.subject_ref)
        async with subscriptions(runtime, topics, group).running():

            async def in_hand() -> bool:
                return await waiting_for_a_lock(runtime.pool)

            await eventually(in_hand, what="a batch waiting for the erasure")
            # Longer than aiokafka's auto-commit interval (5 s): an auto-committing consumer
            # would have committed the batch in hand by now.
            for _ in range(12):
                offsets = await committed(kafka_bootstrap, group, topics.enrolment)
                assert all(offset <= 0 for offset in offsets.values()), offsets
                await asyncio.sleep(0.5)
            await held.rollback()

            await eventually(
                lambda: caught_up(kafka_bootstrap, group, topics.enrolment),
                what="the batch committed once applied",
            )
    assert await runtime.pool.fetchval("SELECT scale_value FROM answers") == 5
