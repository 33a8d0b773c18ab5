"""The ops read model is rebuildable from offset zero of the privacy topics (real Kafka and
PostgreSQL): the rebuilt rows equal the live projection's, even after the live rows were
lost, and the swapped-in tables are exactly alembic's schema."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from byggrygg_shared.migrations import schema_differences
from reporting.adapters.tables import METADATA, OPS_READ_MODELS
from reporting.bootstrap import Runtime
from reporting.service_layer.rebuild import rebuild

from ....participant_testing import produce
from .test_ops_read_model import apply, reply, state

NewTopic = Callable[..., Awaitable[str]]


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    found: dict[str, list[tuple[object, ...]]] = {}
    for table in OPS_READ_MODELS:
        rows = await pool.fetch(f"SELECT * FROM {table.name}")
        found[table.name] = sorted((tuple(row.values()) for row in rows), key=repr)
    return found


async def test_a_rebuild_restores_the_ops_read_model(
    runtime: Runtime, reporting_dsn: str, kafka_bootstrap: str, new_topic: NewTopic
) -> None:
    catalogue = await new_topic("reporting-catalogue")
    enrolments = await new_topic("reporting-enrolment")
    requests = await new_topic("reporting-requests", partitions=2)
    replies = await new_topic("reporting-replies", partitions=3)
    now = datetime.now(UTC)
    records = []
    for index in range(6):
        request_id = uuid.uuid4()
        started = now + timedelta(minutes=index)
        records += [
            state(request_id, "received", at=started - timedelta(minutes=1), topic=requests),
            state(request_id, "in_progress", at=started, topic=requests),
            reply(request_id, "identity", at=started + timedelta(seconds=index), topic=replies),
            reply(request_id, "courses", at=started + timedelta(seconds=9), topic=replies),
        ]
        if index % 2:
            records.append(
                state(request_id, "completed", at=started + timedelta(hours=1), topic=requests)
            )
    await produce(kafka_bootstrap, *records)
    await apply(runtime.pool, *records)
    live = await snapshot(runtime.pool)
    assert len(live["ops_requests"]) == 6
    assert len(live["ops_replies"]) == 12
    # The live rows are lost: the topics still have everything.
    await runtime.pool.execute("DELETE FROM ops_replies; DELETE FROM ops_requests")

    counts = await rebuild(
        runtime.pool,
        bootstrap=kafka_bootstrap,
        topics=[catalogue, enrolments, requests, replies],
        group_id=f"reporting-ops-rebuild-{uuid.uuid4().hex[:8]}",
    )

    assert (counts.events, counts.applied, counts.skipped) == (len(records), len(records), 0)
    assert await snapshot(runtime.pool) == live
    differences = await schema_differences(reporting_dsn, METADATA)
    assert [d for d in differences if "keyring" not in repr(d)] == []
