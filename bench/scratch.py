"""Scratch resources for one bench run: a database and Kafka topics, removed afterwards.

Names carry a random part, so a bench never touches a service's data and two runs (or a
test run at the same time) do not collide. Removal happens even when the bench fails.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import sqlalchemy as sa
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import UnknownTopicOrPartitionError, for_code

from byggrygg_shared import db
from byggrygg_shared.db import create_all
from byggrygg_shared.eventstore import events_table

__all__ = [
    "RAW_SCHEMA",
    "create_event_tables",
    "named_scratch_topics",
    "scratch_database",
    "scratch_topics",
    "unique",
]

# The raw baseline writes to `raw.events`: the same DDL as `events`, its own sequence.
RAW_SCHEMA = "raw"
TOPIC_READY_TIMEOUT_S = 30.0


def unique(prefix: str) -> str:
    """``prefix`` plus a random part, valid in database and topic names."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def scratch_database(admin_dsn: str, prefix: str = "bench_") -> AsyncIterator[str]:
    """Create an empty, uniquely named database, yield its DSN, drop it afterwards."""
    async with db.scratch_database(admin_dsn, unique(prefix)) as dsn:
        yield dsn


async def create_event_tables(dsn: str, *, with_raw: bool) -> None:
    """The event store's table and, for the baseline, an identically shaped ``raw.events``."""
    conn = await asyncpg.connect(dsn)
    try:
        metadata = sa.MetaData()
        events_table(metadata)
        await create_all(conn, metadata)
        if with_raw:
            await conn.execute(f"CREATE SCHEMA {RAW_SCHEMA}")
            raw_metadata = sa.MetaData(schema=RAW_SCHEMA)
            events_table(raw_metadata)
            await create_all(conn, raw_metadata)
    finally:
        await conn.close()


def _raise_for_errors(topic_errors: Sequence[Any], tolerated: tuple[int, ...] = ()) -> None:
    for topic_error in topic_errors:
        name, code = topic_error[0], topic_error[1]
        if code not in (0, *tolerated):
            raise for_code(code)(f"topic {name}")


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: Sequence[str], partitions: int
) -> None:
    # Creation returns before each partition has a leader; a producer would stall on it.
    deadline = time.monotonic() + TOPIC_READY_TIMEOUT_S
    while True:
        described = await admin.describe_topics(list(names))
        ready = {
            topic["topic"]
            for topic in described
            if topic["error_code"] == 0
            and len(topic["partitions"]) == partitions
            and all(p["leader"] >= 0 for p in topic["partitions"])
        }
        if ready >= set(names):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics without leaders after {TOPIC_READY_TIMEOUT_S}s")
        await asyncio.sleep(0.1)


@asynccontextmanager
async def scratch_topics(
    bootstrap: str, prefixes: Sequence[str], *, partitions: int
) -> AsyncIterator[list[str]]:
    """Create one topic per prefix (``<prefix><random>.v1``), yield the names, delete them."""
    names = [f"{prefix}{uuid.uuid4().hex[:12]}.v1" for prefix in prefixes]
    async with named_scratch_topics(bootstrap, dict.fromkeys(names, partitions)):
        yield names


@asynccontextmanager
async def named_scratch_topics(
    bootstrap: str, partitions: Mapping[str, int]
) -> AsyncIterator[None]:
    """Create the topics named in ``partitions`` (name: partition count), delete them afterwards.

    The names must be unique to this run already (a random prefix): nothing checks it here.
    """
    names = list(partitions)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, count, 1) for name, count in partitions.items()]
        )
        _raise_for_errors(response.topic_errors)
        for count in sorted(set(partitions.values())):
            same = [name for name in names if partitions[name] == count]
            await _wait_for_leaders(admin, same, count)
        yield
    finally:
        try:
            # Also after a partial creation: unknown names are fine, leftovers are not.
            response = await admin.delete_topics(names)
            _raise_for_errors(
                response.topic_error_codes, tolerated=(UnknownTopicOrPartitionError.errno,)
            )
        finally:
            await admin.close()
