"""The live projection's batches when the apply code fails (real Kafka and PostgreSQL).

- A record that makes the code raise (a bug, not a value the database refuses) costs its
  batch a few attempts with back-off, then goes alone to ``<topic>.dlq``: the rest of its
  batch is projected and the offsets move on (one bad record no longer stalls a partition).
- A failure of the infrastructure (the consumer's connection terminated, the connection
  reported gone), or of the schema the code expects (a column gone), dead-letters nothing,
  however long it lasts: the batch is applied again, in place and then read again from
  Kafka, until it goes through, and nothing is lost.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from byggrygg_shared.contracts import courses as contracts
from byggrygg_shared.envelope import KafkaRecord, from_kafka_record
from byggrygg_shared.messaging import Backoff
from reporting.bootstrap import Runtime
from reporting.service_layer import enrolment_rows

from ....participant_testing import eventually, produce
from .support import Enrolment
from .test_projection_kafka import (
    LEARNERS,
    NewTopic,
    Topics,
    caught_up,
    new_topics,
    projected,
    read_all,
    story_of,
    subscriptions,
)

MAX_ATTEMPTS = 3
PAUSE = 0.3  # the back-off between attempts here: long enough to be seen in the timings

Segment = Any  # enrolment_rows._Segment, private
ApplySegment = Callable[[asyncpg.Connection, Segment], Awaitable[None]]


@pytest.fixture
async def topics(new_topic: NewTopic) -> Topics:
    return await new_topics(new_topic)


def completion_of(records: list[KafkaRecord], learner: Enrolment) -> KafkaRecord:
    """The record of `learner`'s CourseCompleted."""
    for record in records:
        event = from_kafka_record(record.headers, record.value, key=record.key)
        if event.event_type == contracts.CourseCompleted.event_type:
            contract = event.contract()
            assert isinstance(contract, contracts.CourseCompleted)
            if contract.enrolment_id == learner.enrolment_id:
                return record
    raise LookupError("no completion of that learner")


def dead_letters_so_far(topic: str) -> float:
    return REGISTRY.get_sample_value("byggrygg_dlq_messages_total", {"topic": topic}) or 0


async def test_a_record_that_makes_the_code_raise_goes_alone_to_the_dlq_after_the_retries(
    runtime: Runtime, kafka_bootstrap: str, topics: Topics, monkeypatch: pytest.MonkeyPatch
) -> None:
    story, learners = story_of(topics)
    poisoned = learners[17]
    poison = completion_of(story.records, poisoned)
    # All there before the subscriber starts: the poison is read in a batch of many.
    await produce(kafka_bootstrap, *story.records)
    # (time, completions in the segment) of each call that met the poison
    calls: list[tuple[float, int]] = []
    apply_segment: ApplySegment = enrolment_rows._apply_segment

    async def with_a_bug(conn: asyncpg.Connection, segment: Segment) -> None:
        if poisoned.enrolment_id in segment.completed:
            calls.append((time.monotonic(), len(segment.completed)))
            raise TypeError("a bug this completion triggers")
        await apply_segment(conn, segment)

    monkeypatch.setattr(enrolment_rows, "_apply_segment", with_a_bug)
    dead_before = dead_letters_so_far(topics.enrolment)
    group = f"reporting-bug-{uuid.uuid4().hex[:8]}"
    pause = Backoff(initial=PAUSE, multiplier=1.0, maximum=PAUSE)

    async with subscriptions(
        runtime, topics, group, max_attempts=MAX_ATTEMPTS, backoff=pause
    ).running():

        async def all_but_the_poison_projected() -> bool:
            return await projected(runtime) == (2 * LEARNERS, LEARNERS - 1)

        await eventually(all_but_the_poison_projected, what="the rest of the batch projected")
        letters = await read_all(kafka_bootstrap, f"{topics.enrolment}.dlq", expect=1)
        await eventually(
            lambda: caught_up(kafka_bootstrap, group, topics.enrolment),
            what="every offset committed, the poison's too",
        )

    [letter] = letters
    assert letter.value == poison.value
    assert letter.key == poison.key
    headers = {name: value.decode() for name, value in letter.headers}
    assert headers["dlq_error_type"] == "builtins.TypeError"
    assert headers["dlq_error_message"] == "a bug this completion triggers"
    # MAX_ATTEMPTS times in its batch, then once alone.
    assert headers["dlq_attempts"] == str(MAX_ATTEMPTS + 1)
    assert headers["dlq_original_topic"] == topics.enrolment
    assert headers["dlq_consumer_group"] == group
    assert dead_letters_so_far(topics.enrolment) == dead_before + 1
    # The whole batch was tried MAX_ATTEMPTS times, after the back-off each time, then the
    # poison alone (a batch of one) right after the last.
    assert len(calls) == MAX_ATTEMPTS + 1
    *in_batch, (_, alone) = calls
    assert all(completions > 1 for _, completions in in_batch)
    assert alone == 1
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(calls)]
    assert all(gap >= PAUSE * 0.9 for gap in gaps[:-1]), gaps
    # The poisoned learner's other events were projected; only the completion is missing.
    row = await runtime.pool.fetchrow(
        "SELECT completed_at, (SELECT count(*) FROM answers a WHERE a.enrolment_id = $1) AS n "
        "FROM enrolments WHERE enrolment_id = $1",
        poisoned.enrolment_id,
    )
    assert row is not None
    assert (row["completed_at"], row["n"]) == (None, 2)


async def terminate_the_connection(killer: asyncpg.Connection, conn: asyncpg.Connection) -> None:
    """Terminate `conn`'s server process (and wait for it to be gone), as a crash or an
    operator would."""
    await killer.execute("SELECT pg_terminate_backend($1, 5000)", conn.get_server_pid())


async def report_the_connection_gone(killer: asyncpg.Connection, conn: asyncpg.Connection) -> None:
    """What asyncpg raises when the connection was lost mid-operation (the connection itself
    stays sound: only the error's kind decides)."""
    raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")


async def use_a_dropped_column(killer: asyncpg.Connection, conn: asyncpg.Connection) -> None:
    """What the code meets when a migration was rolled back under it: a column it writes is
    gone (UndefinedColumnError, class 42). Every record would fail alike, none is at fault."""
    await conn.execute("SELECT a_dropped_column FROM enrolments LIMIT 0")


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(terminate_the_connection, id="pg_terminate_backend"),
        pytest.param(report_the_connection_gone, id="ConnectionDoesNotExistError"),
        pytest.param(use_a_dropped_column, id="UndefinedColumnError"),
    ],
)
async def test_a_transient_failure_dead_letters_nothing_and_loses_nothing(
    runtime: Runtime,
    kafka_bootstrap: str,
    topics: Topics,
    monkeypatch: pytest.MonkeyPatch,
    fault: Callable[[asyncpg.Connection, asyncpg.Connection], Awaitable[None]],
) -> None:
    story, learners = story_of(topics)
    await produce(kafka_bootstrap, *story.records)
    target = learners[11].enrolment_id
    # Longer than every retry there is: the handler's attempts, then the middleware's in
    # place, then the batch is read again from Kafka, twice, before the fault goes away.
    lasting = 2 * MAX_ATTEMPTS + 1
    failed: list[int] = []
    succeeded: list[int] = []
    apply_segment: ApplySegment = enrolment_rows._apply_segment
    killer = await asyncpg.connect(runtime.settings.reporting_database_url)

    async def with_a_fault(conn: asyncpg.Connection, segment: Segment) -> None:
        if target in segment.completed:
            if len(failed) < lasting:
                failed.append(len(segment.completed))
                await fault(killer, conn)
            else:
                succeeded.append(len(segment.completed))
        await apply_segment(conn, segment)

    monkeypatch.setattr(enrolment_rows, "_apply_segment", with_a_fault)
    dead_before = dead_letters_so_far(topics.enrolment)
    group = f"reporting-fault-{uuid.uuid4().hex[:8]}"

    try:
        async with subscriptions(runtime, topics, group, max_attempts=MAX_ATTEMPTS).running():

            async def all_projected() -> bool:
                return await projected(runtime) == (2 * LEARNERS, LEARNERS)

            await eventually(all_projected, what="every record projected after the fault")
            await eventually(
                lambda: caught_up(kafka_bootstrap, group, topics.enrolment),
                what="every offset committed",
            )
            letters = await read_all(kafka_bootstrap, f"{topics.enrolment}.dlq", expect=0)
    finally:
        await killer.close()

    assert letters == []
    assert dead_letters_so_far(topics.enrolment) == dead_before
    assert len(failed) == lasting
    assert failed[0] > 1  # a batch, not a single record, met the fault
    assert succeeded  # and was applied once the fault was over
    assert await runtime.pool.fetchval("SELECT count(*) FROM enrolments") == LEARNERS
