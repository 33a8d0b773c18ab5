"""Rebuild the read models from offset zero of courses' topics, then swap them in (issue 6).

``reporting rebuild`` (``make rebuild-reporting``) runs ``rebuild``:

1. fresh, empty copies of the read models in the schema ``reporting_rebuild``
   (``adapters.rebuild_schema``);
2. a consumer of its own (a NEW consumer group, so the live group's offsets are untouched)
   reads every partition of the topics from the beginning up to the end offsets seen at the
   start, and applies them to the copies in batches, a transaction each, with the live
   subscribers' code path (``projection.decode_records`` and ``apply_or_isolate``);
   unqualified names resolve to the copies;
3. one transaction swaps: it locks the live read models (the live projection and the queries
   wait; ``rebuild_schema.lock_live_tables`` gives way and tries again rather than deadlock
   with a transaction that took the tables in another order), applies what arrived on the
   topics since step 2 started, applies the erasures made
   meanwhile (``erased_subjects``: a person erased during the rebuild stays unlinked), drops
   the live tables and moves the copies in. Waiting statements then resolve the names again
   and continue on the new tables; the live projection's upserts are idempotent, so events it
   applies again after the swap change nothing.

The ops read model (``ops_requests``, ``ops_replies``) is rebuilt the same way, in the same
batches, from the privacy topics ``privacy.requests.v1`` and ``privacy.replies.v1``
(``reporting rebuild`` includes them when the deployment has them).

Records the live subscribers dead-letter (not a CloudEvent, an invalid payload, a value the
database refuses) are skipped here and counted. A record that makes the code raise anything
else (a bug) stops the rebuild, its transaction rolled back and the live tables untouched,
where the live subscribers retry and then dead-letter it: a bug every record triggers would
otherwise swap in empty tables. The rebuild takes no subject locks
(``projection.apply_batch`` says why), so an erasure running during the swap waits for the
tables holding only its person's lock, and resumes on the new tables: no deadlock with it.
The result equals the live projection's (a test compares them).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from byggrygg_shared.db import create_pool
from byggrygg_shared.kafka_topics import existing_partitions
from reporting.adapters.rebuild_schema import (
    create_scratch_tables,
    lock_live_tables,
    swap_in,
    use_scratch_tables,
)
from reporting.service_layer.projection import (
    ALL_EVENT_TYPES,
    BATCH_MAX_RECORDS,
    apply_or_isolate,
    decode_records,
)
from reporting.settings import ReportingSettings


@dataclass(frozen=True)
class RebuildCounts:
    """How many records the rebuild read, applied to the read models, and skipped."""

    events: int
    applied: int
    skipped: int


@dataclass
class _Tally:
    events: int = 0
    applied: int = 0
    skipped: int = 0


Offsets = dict[TopicPartition, int]


async def _apply_until(
    consumer: AIOKafkaConsumer,
    conn: asyncpg.Connection,
    until: Offsets,
    tally: _Tally,
    *,
    in_own_transactions: bool,
) -> None:
    """Read every assigned partition up to `until` and apply the events to the scratch tables
    (each batch in a transaction of its own, or all in the caller's)."""
    while True:
        pending = [tp for tp, end in until.items() if await consumer.position(tp) < end]
        if not pending:
            return
        batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=BATCH_MAX_RECORDS)
        records: list[Record] = [
            record for tp, items in batches.items() for record in items if record.offset < until[tp]
        ]
        if not records:
            continue
        if in_own_transactions:
            async with conn.transaction():
                await _apply_records(conn, records, tally)
        else:
            await _apply_records(conn, records, tally)


Record: TypeAlias = ConsumerRecord[bytes, bytes]


async def _apply_records(
    conn: asyncpg.Connection, records: Sequence[Record], tally: _Tally
) -> None:
    await use_scratch_tables(conn)
    # Courses' events and the privacy topics' (the ops read model) alike, as live.
    decoded = decode_records(records, ALL_EVENT_TYPES)
    refused = await apply_or_isolate(conn, decoded.items, lock_subjects=False)
    tally.events += len(records)
    tally.skipped += len(decoded.unreadable) + len(refused)
    tally.applied += len(decoded.items) - len(refused)


async def _reapply_erasures(conn: asyncpg.Connection) -> None:
    """Unlink, in the scratch tables, every person erased while they were being filled."""
    await use_scratch_tables(conn)
    await conn.execute(
        "UPDATE answers SET free_text_token = NULL FROM enrolments e "
        "WHERE answers.enrolment_id = e.enrolment_id AND answers.free_text_token IS NOT NULL "
        "AND e.subject_ref IN (SELECT subject_ref FROM erased_subjects)"
    )
    await conn.execute(
        "UPDATE enrolments SET subject_ref = NULL, unlinked = true "
        "WHERE subject_ref IN (SELECT subject_ref FROM erased_subjects)"
    )


async def rebuild(
    pool: asyncpg.Pool, *, bootstrap: str, topics: Sequence[str], group_id: str
) -> RebuildCounts:
    """Replay `topics` (their full names, prefix included) from offset zero into fresh read
    models and swap them in; `group_id` must be a group nobody else uses."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    # They must exist: a rebuild from nothing is a mistake.
    partitions = await existing_partitions(bootstrap, topics)
    await consumer.start()
    tally = _Tally()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        first_end: Offsets = await consumer.end_offsets(partitions)
        async with pool.acquire() as conn:
            await create_scratch_tables(conn)
            await _apply_until(consumer, conn, first_end, tally, in_own_transactions=True)
            async with conn.transaction():
                await lock_live_tables(conn)
                # Under the lock nothing new reaches the live tables: catch up, then swap.
                final_end: Offsets = await consumer.end_offsets(partitions)
                await _apply_until(consumer, conn, final_end, tally, in_own_transactions=False)
                await _reapply_erasures(conn)
                await swap_in(conn)
        await consumer.commit()
    finally:
        await consumer.stop()
    return RebuildCounts(events=tally.events, applied=tally.applied, skipped=tally.skipped)


async def _existing(bootstrap: str, topics: Sequence[str]) -> list[str]:
    """Those of `topics` the cluster has (the ops read model's topics are optional,
    courses' are not)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        present = set(await admin.list_topics())
    finally:
        await admin.close()
    return [topic for topic in topics if topic in present]


async def rebuild_from_settings(settings: ReportingSettings) -> RebuildCounts:
    """``reporting rebuild``: the deployment's topics, a new consumer group of its own."""
    pool = await create_pool(settings.reporting_database_url)
    try:
        prefix = settings.kafka_topic_prefix
        return await rebuild(
            pool,
            bootstrap=settings.kafka_bootstrap,
            topics=[
                prefix + settings.reporting_catalogue_topic,
                prefix + settings.reporting_enrolment_topic,
                # the privacy topics, when the deployment has them.
                *await _existing(
                    settings.kafka_bootstrap,
                    [
                        prefix + settings.reporting_requests_topic,
                        prefix + settings.reporting_replies_topic,
                    ],
                ),
            ],
            group_id=f"{settings.reporting_consumer_group}.rebuild-{uuid.uuid4().hex[:12]}",
        )
    finally:
        await pool.close()
