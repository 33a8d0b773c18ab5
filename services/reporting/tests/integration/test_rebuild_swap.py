"""The rebuild's swap next to the live projection and an erasure (real Kafka and PostgreSQL).

The swap locks the live read models one table after the other. A live batch that wrote
``answers`` and then completes an enrolment in ``enrolments`` takes them in the other order:
with the swap holding ``enrolments`` and waiting for ``answers``, that closed a cycle, and
PostgreSQL ended one of the two (DeadlockDetectedError), the swap after its whole replay.
The swap now gives way and tries again (``rebuild_schema.lock_live_tables``): all of them
complete. An erasure waiting for the swap's tables meanwhile, holding its person's lock, is no
party to such a cycle (the swap takes no subject locks); its effect is in the swapped tables.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

import asyncpg

from byggrygg_shared.db import transaction
from reporting.bootstrap import Runtime
from reporting.service_layer.privacy_commands import ReportingPrivacy
from reporting.service_layer.projection import (
    COURSE_EVENT_TYPES,
    apply_or_isolate,
    decode_records,
)
from reporting.service_layer.rebuild import RebuildCounts, rebuild

from ....participant_testing import eventually, produce
from .support import CourseStory, apply_records
from .test_projection_batches import ORGS, consumer_records, erasure_of

NewTopic = Callable[..., Awaitable[str]]


class PausedAfterAnswers:
    """A live batch's connection that stops right after its statement into ``answers`` (so
    holding that table) until ``go`` is set; everything else goes to the real connection."""

    def __init__(self, conn: asyncpg.Connection, go: asyncio.Event) -> None:
        self._conn = conn
        self._go = go
        self.holding_answers = asyncio.Event()

    async def execute(self, query: str, *args: Any) -> str:
        status: str = await self._conn.execute(query, *args)
        if query.startswith("INSERT INTO answers") and not self.holding_answers.is_set():
            self.holding_answers.set()
            await self._go.wait()
        return status

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


async def waiting_for_tables(pool: asyncpg.Pool) -> int:
    """How many transactions of this test's database wait for a table's lock."""
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'relation' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    )


async def test_the_swap_completes_beside_a_batch_holding_answers_and_an_erasure(
    runtime: Runtime, kafka_bootstrap: str, new_topic: NewTopic
) -> None:
    catalogue = await new_topic("reporting-catalogue")
    enrolments = await new_topic("reporting-enrolment")
    story = CourseStory(catalogue_topic=catalogue, enrolment_topic=enrolments)
    course = story.course(organisations=ORGS[:1])
    kari = story.enrol(course, ORGS[0])
    per = story.enrol(course, ORGS[0])
    story.answer(kari, course.scale, scale_value=4)
    story.answer(per, course.text, free_text="enc:v1:key:per")
    await apply_records(runtime.pool, story.records)  # the live projection so far
    # The live batch in hand: Kari answers again, then completes (answers, then enrolments).
    batch = CourseStory(catalogue_topic=catalogue, enrolment_topic=enrolments)
    batch.answer(kari, course.choice, selected_option_ids=[course.options[1]])
    batch.complete(kari)
    await produce(kafka_bootstrap, *story.records, *batch.records)
    decoded = decode_records(consumer_records(batch.records), COURSE_EVENT_TYPES)
    go = asyncio.Event()

    async def live_batch(paused: list[PausedAfterAnswers]) -> None:
        async with transaction(runtime.pool) as conn:
            paused.append(PausedAfterAnswers(conn, go))
            await apply_or_isolate(cast(asyncpg.Connection, paused[0]), decoded.items)

    async def erasure() -> None:
        async with transaction(runtime.pool) as conn:
            await ReportingPrivacy(runtime.deps).erase(conn, erasure_of(per))

    async def swap() -> RebuildCounts:
        return await rebuild(
            runtime.pool,
            bootstrap=kafka_bootstrap,
            topics=[catalogue, enrolments],
            group_id=f"reporting-rebuild-{uuid.uuid4().hex[:8]}",
        )

    paused: list[PausedAfterAnswers] = []
    projecting = asyncio.create_task(live_batch(paused))
    await eventually(lambda: _holding(paused), what="the batch holding answers, not yet enrolments")
    rebuilding = asyncio.create_task(swap())

    async def swap_waits_for_answers() -> bool:
        return await waiting_for_tables(runtime.pool) >= 1

    await eventually(swap_waits_for_answers, what="the swap waiting for the batch's answers")
    erasing = asyncio.create_task(erasure())

    async def erasure_waits_or_is_done() -> bool:
        return erasing.done() or await waiting_for_tables(runtime.pool) >= 2

    await eventually(erasure_waits_or_is_done, what="the erasure waiting for the swap")
    go.set()  # the batch goes on to Kari's enrolment, which the swap may hold
    done = await asyncio.wait_for(
        asyncio.gather(projecting, erasing, rebuilding, return_exceptions=True), 60
    )

    failures = [outcome for outcome in done if isinstance(outcome, BaseException)]
    assert failures == []
    counts = done[2]
    assert isinstance(counts, RebuildCounts)
    assert counts.events == len(story.records) + len(batch.records)
    # The swapped-in tables: Kari's answers and completion, Per erased.
    kari_row = await runtime.pool.fetchrow(
        "SELECT subject_ref, completed_at FROM enrolments WHERE enrolment_id = $1",
        kari.enrolment_id,
    )
    assert kari_row is not None
    assert kari_row["subject_ref"] == kari.subject_ref
    assert kari_row["completed_at"] is not None
    assert (
        await runtime.pool.fetchval(
            "SELECT count(*) FROM answers WHERE enrolment_id = $1", kari.enrolment_id
        )
        == 2
    )
    per_row = await runtime.pool.fetchrow(
        "SELECT subject_ref, unlinked FROM enrolments WHERE enrolment_id = $1", per.enrolment_id
    )
    assert per_row is not None
    assert (per_row["subject_ref"], per_row["unlinked"]) == (None, True)
    assert (
        await runtime.pool.fetchval(
            "SELECT count(free_text_token) FROM answers WHERE enrolment_id = $1",
            per.enrolment_id,
        )
        == 0
    )
    assert await runtime.pool.fetchval(
        "SELECT count(*) FROM erased_subjects WHERE subject_ref = $1", per.subject_ref
    )


async def _holding(paused: list[PausedAfterAnswers]) -> bool:
    return bool(paused) and paused[0].holding_answers.is_set()
