"""Batches of courses' events applied in one go (real PostgreSQL): the same rows as applying
the events one by one, whatever order they are read in (redeliveries, a start read after its
completion, an answer after its erasure, a person erased on request); a record the database
refuses is reported alone and the rest of its batch applied; a batch that waits for an
erasure's subject lock holds nothing the erasure needs (no deadlock)."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiokafka.structs import ConsumerRecord

from byggrygg_shared.contracts.privacy import EraseSubject
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import KafkaRecord
from reporting.adapters.tables import READ_MODELS
from reporting.bootstrap import Runtime
from reporting.service_layer.privacy_commands import ReportingPrivacy
from reporting.service_layer.projection import (
    COURSE_EVENT_TYPES,
    Rejected,
    apply_or_isolate,
    decode_records,
    lock_subject,
)

from .support import START, CourseStory, Enrolment, apply_records
from .test_rebuild import snapshot

ORGS = (uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
ERASED = f"subj_{uuid.uuid4().hex}"  # erased on request before any of the events is read


def consumer_records(records: list[KafkaRecord]) -> list[ConsumerRecord[bytes, bytes]]:
    """`records` as a consumer reads them (one partition, offsets in order)."""
    return [
        ConsumerRecord(
            topic=record.topic,
            partition=0,
            offset=offset,
            timestamp=0,
            timestamp_type=0,
            key=record.key,
            value=record.value,
            checksum=None,
            serialized_key_size=len(record.key),
            serialized_value_size=len(record.value),
            headers=record.headers,
        )
        for offset, record in enumerate(records)
    ]


def story_with_every_kind_of_event() -> CourseStory:
    story = CourseStory()
    courses = [story.course(organisations=ORGS), story.course(organisations=ORGS[:1])]
    for index in range(9):
        course = courses[index % 2]
        at = START + timedelta(days=13 * index)
        learner = story.enrol(
            course, ORGS[index % 3], subject_ref=ERASED if index == 4 else None, at=at
        )
        story.answer(learner, course.choice, selected_option_ids=[course.options[0]], at=at)
        later = at + timedelta(days=35)
        # Answered again: the last answer is the one kept, its period the later month.
        story.answer(
            learner, course.choice, selected_option_ids=[course.options[index % 3]], at=later
        )
        story.answer(learner, course.scale, scale_value=1 + index % 5, at=at)
        story.answer(learner, course.text, free_text=f"enc:v1:key:{index}", at=at)
        if index % 2 == 0:
            story.complete(learner, at=later)
        if index % 3 == 1:
            story.end(learner, at=later + timedelta(days=3))
        if index % 3 == 2:
            story.erased_by_courses(learner, at=later + timedelta(days=5))
    return story


async def reset_read_models(pool: asyncpg.Pool) -> None:
    names = ", ".join(table.name for table in READ_MODELS)
    await pool.execute(f"TRUNCATE {names}")


async def apply_in_batches(
    pool: asyncpg.Pool, records: list[KafkaRecord], sizes: random.Random
) -> list[Rejected]:
    """Apply `records` as the live subscriber does: batches (of random sizes here), each
    decoded and applied in one transaction."""
    read = consumer_records(records)
    refused: list[Rejected] = []
    start = 0
    while start < len(read):
        batch = read[start : start + sizes.randint(1, 40)]
        decoded = decode_records(batch, COURSE_EVENT_TYPES)
        assert decoded.unreadable == ()
        async with transaction(pool) as conn:
            refused += [
                Rejected(r.position + start, r.error, r.attempts)
                for r in await apply_or_isolate(conn, decoded.items)
            ]
        start += len(batch)
    return refused


@pytest.mark.parametrize("seed", range(6))
async def test_batches_give_the_rows_of_one_event_at_a_time_in_any_order(
    runtime: Runtime, seed: int
) -> None:
    await runtime.pool.execute(
        "INSERT INTO erased_subjects (subject_ref, erased_at) VALUES ($1, now())", ERASED
    )
    story = story_with_every_kind_of_event()
    shuffle = random.Random(seed)
    # Read in an order of its own, some records twice (redelivered), once in courses' order.
    records = story.records + shuffle.sample(story.records, k=len(story.records) // 3)
    if seed:
        shuffle.shuffle(records)

    await apply_records(runtime.pool, records)  # one by one: the reference
    one_by_one = await snapshot(runtime.pool)
    await reset_read_models(runtime.pool)
    refused = await apply_in_batches(runtime.pool, records, shuffle)

    assert refused == []
    assert await snapshot(runtime.pool) == one_by_one
    # The story exercised what it should: answers, completions, ends, both kinds of unlinking.
    assert len(one_by_one["answers"]) == 27
    linked = [row for row in one_by_one["enrolments"] if row[4] is not None]
    assert 0 < len(linked) < 9


async def test_a_record_the_database_refuses_is_reported_alone_and_the_rest_applied(
    runtime: Runtime,
) -> None:
    story = CourseStory()
    course = story.course(organisations=ORGS[:1])
    kari = story.enrol(course, ORGS[0])
    story.answer(kari, course.scale, scale_value=3)
    # Valid by the contract, but no int4 holds it: the whole batch's statement fails.
    story.answer(kari, course.choice, selected_option_ids=[course.options[1]])
    refused_at = len(story.records)
    story.answer(kari, course.scale, scale_value=2**40)
    story.complete(kari)
    read = consumer_records(story.records)

    decoded = decode_records(read, COURSE_EVENT_TYPES)
    async with transaction(runtime.pool) as conn:
        refused = await apply_or_isolate(conn, decoded.items)

    [rejected] = refused
    assert (rejected.position, rejected.attempts) == (refused_at, 2)
    assert isinstance(rejected.error, asyncpg.DataError)
    answers = {
        row["question_id"]: row
        for row in await runtime.pool.fetch("SELECT question_id, scale_value FROM answers")
    }
    assert answers[course.scale]["scale_value"] == 3  # the refused answer changed nothing
    assert course.choice in answers
    assert (
        await runtime.pool.fetchval(
            "SELECT count(*) FROM enrolments WHERE completed_at IS NOT NULL"
        )
        == 1
    )


def erasure_of(learner: Enrolment) -> EraseSubject:
    return EraseSubject(
        request_id=uuid.uuid4(),
        participant="reporting",
        subject_ref=learner.subject_ref,
        organisation_id=learner.organisation_id,
        issued_at=datetime.now(UTC),
        holds=[],
    )


async def waiting_for_a_lock(pool: asyncpg.Pool) -> bool:
    """A transaction of this test's database waits for an advisory lock."""
    return bool(
        await pool.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    )


async def test_a_batch_waiting_for_an_erasure_holds_nothing_the_erasure_needs(
    runtime: Runtime,
) -> None:
    story = CourseStory()
    course = story.course(organisations=ORGS[:1])
    kari = story.enrol(course, ORGS[0])
    await apply_records(runtime.pool, story.records)
    # Kari's completion (a row of hers) comes before her answer in the batch.
    batch = CourseStory()
    batch.complete(kari)
    batch.answer(kari, course.text, free_text="enc:v1:key:a-token")
    decoded = decode_records(consumer_records(batch.records), COURSE_EVENT_TYPES)

    async def project() -> None:
        async with transaction(runtime.pool) as conn:
            await apply_or_isolate(conn, decoded.items)

    async with runtime.pool.acquire() as erasure:
        async with erasure.transaction():
            await lock_subject(erasure, kari.subject_ref)  # the erasure has begun
            projecting = asyncio.create_task(project())
            for _ in range(200):
                if await waiting_for_a_lock(runtime.pool):
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("the batch did not wait for Kari's lock")
            # The erasure goes on to Kari's rows: the batch, waiting, must hold none of them
            # (PostgreSQL would end one of the two with a deadlock error after 1 s).
            await asyncio.wait_for(
                ReportingPrivacy(runtime.deps).erase(erasure, erasure_of(kari)), 10
            )
        await asyncio.wait_for(projecting, 10)

    row = await runtime.pool.fetchrow("SELECT subject_ref, unlinked, completed_at FROM enrolments")
    assert row is not None
    assert (row["subject_ref"], row["unlinked"]) == (None, True)
    assert row["completed_at"] is not None
    # The answer came after the erasure committed: stored, but never with the free text.
    assert await runtime.pool.fetchval("SELECT count(*) FROM answers") == 1
    assert await runtime.pool.fetchval("SELECT count(free_text_token) FROM answers") == 0
