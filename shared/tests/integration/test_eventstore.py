"""Event store on real PostgreSQL: optimistic concurrency, replay order, outbox state."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, ClassVar

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.registry import register
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import EventMetadata
from byggrygg_shared.eventstore import (
    OUTBOX_CHANNEL,
    AppendOutsideTransaction,
    ConcurrentAppend,
    EventStore,
)


@register
class CounterIncremented(IntegrationEvent):
    event_type: ClassVar[str] = "no.byggrygg.storetest.CounterIncremented"
    source_service: ClassVar[str] = "storetest"
    topic: ClassVar[str] = "storetest.counter.v1"

    by: int


@register
class CounterReset(IntegrationEvent):
    event_type: ClassVar[str] = "no.byggrygg.storetest.CounterReset"
    source_service: ClassVar[str] = "storetest"
    topic: ClassVar[str] = "storetest.counter.v1"


store = EventStore()


def inc(*amounts: int) -> list[CounterIncremented]:
    return [CounterIncremented(by=a) for a in amounts]


async def until_waiting_on_a_lock(
    pool: asyncpg.Pool, pid: int, pending: asyncio.Future[Any]
) -> None:
    """Return once backend ``pid`` waits on a lock (another transaction's uncommitted row)."""
    deadline = asyncio.get_running_loop().time() + 60
    while not await pool.fetchval(
        "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
    ):
        assert not pending.done(), "the append finished instead of waiting for the other writer"
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)


async def race(
    pool: asyncpg.Pool,
    *,
    first: list[int],
    second: list[int],
    first_commits: bool = True,
    retry: bool = False,
    second_at_end: bool = False,
) -> tuple[list[int] | ConcurrentAppend, list[IntegrationEvent]]:
    """Append ``first`` (uncommitted), then ``second``, both at version 0 of stream "race"
    (``second`` at the stream's end, whatever its version, with ``second_at_end``).

    ``second``'s statement is made to wait on ``first``'s rows; then ``first`` commits (or
    rolls back) and ``second``'s transaction COMMITS whatever its append did, so anything
    partial it left would persist. With ``retry``, a losing ``second`` is appended again at the
    actual version in the same transaction first. Returns ``second``'s outcome (the versions it
    wrote, or its ``ConcurrentAppend``) and the events stored in the stream afterwards.
    """
    async with pool.acquire() as conn_a, pool.acquire() as conn_b:
        tx_a, tx_b = conn_a.transaction(), conn_b.transaction()
        await tx_a.start()
        await tx_b.start()
        await store.append(
            conn_a,
            stream_id="race",
            expected_version=0,
            events=inc(*first),
            metadata=EventMetadata.new(),
        )
        append_b = asyncio.ensure_future(
            store.append(
                conn_b,
                stream_id="race",
                expected_version=None if second_at_end else 0,
                events=inc(*second),
                metadata=EventMetadata.new(),
            )
        )
        await until_waiting_on_a_lock(pool, conn_b.get_server_pid(), append_b)
        await (tx_a.commit() if first_commits else tx_a.rollback())
        outcome: list[int] | ConcurrentAppend
        try:
            outcome = [e.version for e in await append_b]
        except ConcurrentAppend as lost:
            outcome = lost
            if retry:
                await store.append(
                    conn_b,
                    stream_id="race",
                    expected_version=lost.actual_version,
                    events=inc(*second),
                    metadata=EventMetadata.new(),
                )
        assert await conn_b.fetchval("SELECT 1") == 1  # still usable either way
        await tx_b.commit()
    async with pool.acquire() as conn:
        events = await store.load(conn, "race")
    assert [e.version for e in events] == list(range(1, len(events) + 1))
    return outcome, [e.contract() for e in events]


async def test_append_then_load_replays_the_same_events_in_order(events_pool: asyncpg.Pool) -> None:
    meta = EventMetadata.new(correlation_id="c-1", subject_ref="subj_1")
    async with transaction(events_pool) as conn:
        first = await store.append(
            conn, stream_id="counter-1", expected_version=0, events=inc(1, 2), metadata=meta
        )
    async with transaction(events_pool) as conn:
        second = await store.append(
            conn,
            stream_id="counter-1",
            expected_version=2,
            events=inc(3),
            metadata=EventMetadata.new(correlation_id="c-2"),
        )

    async with events_pool.acquire() as conn:
        loaded = await store.load(conn, "counter-1")
        assert await store.stream_version(conn, "counter-1") == 3
        assert await store.stream_version(conn, "unknown") == 0
        assert [e.version for e in await store.load(conn, "counter-1", after_version=1)] == [2, 3]

    assert loaded == [*first, *second]
    assert [e.version for e in loaded] == [1, 2, 3]
    assert [e.contract() for e in loaded] == inc(1, 2, 3)
    assert [e.global_position for e in loaded] == sorted(e.global_position for e in loaded)
    assert all(e.published_at is None for e in loaded)
    assert loaded[0].event_id == str(meta.event_id)
    assert len({e.event_id for e in loaded}) == 3
    assert loaded[0].metadata["correlation_id"] == "c-1"
    assert loaded[0].metadata["subject_ref"] == "subj_1"
    assert loaded[0].topic == "storetest.counter.v1"


async def test_stale_expected_version_is_refused_and_writes_nothing(
    events_pool: asyncpg.Pool,
) -> None:
    async with transaction(events_pool) as conn:
        await store.append(
            conn, stream_id="s", expected_version=0, events=inc(1), metadata=EventMetadata.new()
        )
    with pytest.raises(ConcurrentAppend) as caught:
        async with transaction(events_pool) as conn:
            await store.append(
                conn, stream_id="s", expected_version=0, events=inc(9), metadata=EventMetadata.new()
            )
    assert (caught.value.stream_id, caught.value.expected_version, caught.value.actual_version) == (
        "s",
        0,
        1,
    )
    async with events_pool.acquire() as conn:
        assert [e.contract() for e in await store.load(conn, "s")] == inc(1)


async def test_two_concurrent_appends_at_the_same_version_exactly_one_wins(
    events_pool: asyncpg.Pool,
) -> None:
    """Both writers read version 0 before either commits; the unique index decides."""
    async with events_pool.acquire() as conn_a, events_pool.acquire() as conn_b:
        tx_a = conn_a.transaction()
        tx_b = conn_b.transaction()
        await tx_a.start()
        await tx_b.start()
        await store.append(
            conn_a,
            stream_id="race",
            expected_version=0,
            events=inc(1),
            metadata=EventMetadata.new(),
        )
        pid_b = conn_b.get_server_pid()
        append_b = asyncio.ensure_future(
            store.append(
                conn_b,
                stream_id="race",
                expected_version=0,
                events=inc(2),
                metadata=EventMetadata.new(),
            )
        )

        # B must really be inside its INSERT, waiting for A's uncommitted row.
        await until_waiting_on_a_lock(events_pool, pid_b, append_b)

        await tx_a.commit()
        with pytest.raises(ConcurrentAppend) as caught:
            await append_b
        assert caught.value.actual_version == 1
        # The loser's transaction is still usable: the lost race raised no database error.
        assert await conn_b.fetchval("SELECT 1") == 1
        await tx_b.rollback()

    async with events_pool.acquire() as conn:
        assert [e.contract() for e in await store.load(conn, "race")] == inc(1)


async def test_many_racing_writers_produce_one_winner_per_version(
    events_pool: asyncpg.Pool,
) -> None:
    async def writer(n: int) -> bool:
        try:
            async with transaction(events_pool) as conn:
                await store.append(
                    conn,
                    stream_id="crowd",
                    expected_version=0,
                    events=inc(n),
                    metadata=EventMetadata.new(),
                )
        except ConcurrentAppend:
            return False
        return True

    results = await asyncio.gather(*(writer(n) for n in range(8)))
    assert results.count(True) == 1
    async with events_pool.acquire() as conn:
        events = await store.load(conn, "crowd")
    assert len(events) == 1
    assert events[0].contract() == inc(results.index(True))[0]


async def test_a_rolled_back_unit_of_work_leaves_no_event(events_pool: asyncpg.Pool) -> None:
    class Boom(Exception):
        pass

    async def unit_of_work_that_fails() -> None:
        async with transaction(events_pool) as conn:
            await store.append(
                conn, stream_id="r", expected_version=0, events=inc(1), metadata=EventMetadata.new()
            )
            raise Boom

    with pytest.raises(Boom):
        await unit_of_work_that_fails()
    async with events_pool.acquire() as conn:
        assert await store.load(conn, "r") == []


async def test_append_needs_the_unit_of_works_transaction(events_pool: asyncpg.Pool) -> None:
    async with events_pool.acquire() as conn:
        with pytest.raises(AppendOutsideTransaction):
            await store.append(
                conn, stream_id="x", expected_version=0, events=inc(1), metadata=EventMetadata.new()
            )


async def test_commit_notifies_the_relay_channel(events_pool: asyncpg.Pool) -> None:
    received: asyncio.Queue[str] = asyncio.Queue()

    def on_notify(*args: object) -> None:
        received.put_nowait(str(args[3]))

    async with events_pool.acquire() as listener:
        await listener.add_listener(OUTBOX_CHANNEL, on_notify)
        async with transaction(events_pool) as conn:
            await store.append(
                conn,
                stream_id="n-1",
                expected_version=0,
                events=inc(1),
                metadata=EventMetadata.new(),
            )
        assert await asyncio.wait_for(received.get(), timeout=60) == "n-1"
        await listener.remove_listener(OUTBOX_CHANNEL, on_notify)


async def test_publish_again_queues_only_what_the_cause_caused_and_wakes_the_relay(
    events_pool: asyncpg.Pool,
) -> None:
    stream = f"again-{uuid.uuid4()}"
    cause, other = str(uuid.uuid4()), str(uuid.uuid4())
    async with transaction(events_pool) as conn:
        for caused_by, version in ((cause, 0), (other, 1)):
            await store.append(
                conn,
                stream_id=stream,
                expected_version=version,
                events=inc(version + 1),
                metadata=EventMetadata.new(causation_id=caused_by),
            )
        await conn.execute("UPDATE events SET published_at = now() WHERE stream_id = $1", stream)
    ids_before = await events_pool.fetch(
        "SELECT metadata->>'event_id' AS id FROM events WHERE stream_id = $1 ORDER BY version",
        stream,
    )

    received: asyncio.Queue[str] = asyncio.Queue()

    def on_notify(*args: object) -> None:
        received.put_nowait(str(args[3]))

    async with events_pool.acquire() as listener:
        await listener.add_listener(OUTBOX_CHANNEL, on_notify)
        async with transaction(events_pool) as conn:
            assert await store.publish_again(conn, stream_id=stream, caused_by=cause) == 1
        assert await asyncio.wait_for(received.get(), timeout=60) == stream
        await listener.remove_listener(OUTBOX_CHANNEL, on_notify)

    rows = await events_pool.fetch(
        "SELECT metadata->>'event_id' AS id, published_at IS NULL AS pending FROM events "
        "WHERE stream_id = $1 ORDER BY version",
        stream,
    )
    # The same events, not copies: the first (caused by `cause`) pending again, the other not.
    assert [row["id"] for row in rows] == [row["id"] for row in ids_before]
    assert [row["pending"] for row in rows] == [True, False]
    async with transaction(events_pool) as conn:
        assert await store.publish_again(conn, stream_id=stream, caused_by="nothing") == 0
    async with events_pool.acquire() as conn:
        with pytest.raises(AppendOutsideTransaction):
            await store.publish_again(conn, stream_id=stream, caused_by=cause)


async def test_payload_is_stored_as_given_json(events_pool: asyncpg.Pool) -> None:
    async with transaction(events_pool) as conn:
        await store.append(
            conn, stream_id="j", expected_version=0, events=inc(5), metadata=EventMetadata.new()
        )
    async with events_pool.acquire() as conn:
        row = await conn.fetchrow("SELECT payload, event_type, event_version FROM events")
    assert row is not None
    # create_pool's codec decodes jsonb into Python objects.
    assert row["payload"] == {"by": 5}
    assert (row["event_type"], row["event_version"]) == (CounterIncremented.event_type, 1)
    assert json.dumps(row["payload"]) == '{"by": 5}'


# A history: a list of appends, each (stream index, amounts appended in one transaction).
histories = st.lists(
    st.tuples(st.integers(0, 3), st.lists(st.integers(-5, 5), min_size=1, max_size=4)),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(history=histories)
async def test_replaying_any_history_gives_back_exactly_what_was_appended(
    events_pool: asyncpg.Pool, history: list[tuple[int, list[int]]]
) -> None:
    run = uuid.uuid4()  # the database outlives the examples: fresh streams for each
    expected: dict[str, list[int]] = {}
    for stream_index, amounts in history:
        stream_id = f"{run}-{stream_index}"
        async with transaction(events_pool) as conn:
            await store.append(
                conn,
                stream_id=stream_id,
                expected_version=len(expected.get(stream_id, [])),
                events=inc(*amounts),
                metadata=EventMetadata.new(),
            )
        expected.setdefault(stream_id, []).extend(amounts)

    async with events_pool.acquire() as conn:
        for stream_id, amounts in expected.items():
            events = await store.load(conn, stream_id)
            assert [e.contract() for e in events] == inc(*amounts)
            assert [e.version for e in events] == list(range(1, len(amounts) + 1))
            assert await store.stream_version(conn, stream_id) == len(amounts)


async def test_a_longer_append_losing_to_a_shorter_one_leaves_nothing_partial(
    events_pool: asyncpg.Pool,
) -> None:
    """B's versions 2 and 3 are free, version 1 is taken: none of B's rows may survive."""
    outcome, stored = await race(events_pool, first=[1], second=[7, 8, 9])
    assert isinstance(outcome, ConcurrentAppend)
    assert (outcome.expected_version, outcome.actual_version) == (0, 1)
    assert stored == inc(1)

    # The versions B briefly held are free again: the next writer gets them.
    async with transaction(events_pool) as conn:
        appended = await store.append(
            conn,
            stream_id="race",
            expected_version=1,
            events=inc(2, 3),
            metadata=EventMetadata.new(),
        )
    assert [e.version for e in appended] == [2, 3]


async def test_the_loser_of_a_partial_race_can_retry_in_the_same_transaction(
    events_pool: asyncpg.Pool,
) -> None:
    """The versions the loser held and gave back are free again inside its own transaction."""
    outcome, stored = await race(events_pool, first=[1], second=[7, 8, 9], retry=True)
    assert isinstance(outcome, ConcurrentAppend)
    assert stored == inc(1, 7, 8, 9)


async def test_a_multi_event_append_losing_every_version_writes_nothing(
    events_pool: asyncpg.Pool,
) -> None:
    outcome, stored = await race(events_pool, first=[1, 2, 3], second=[7, 8])
    assert isinstance(outcome, ConcurrentAppend)
    assert outcome.actual_version == 3
    assert stored == inc(1, 2, 3)


async def test_a_waiting_append_wins_when_the_first_writer_rolls_back(
    events_pool: asyncpg.Pool,
) -> None:
    outcome, stored = await race(events_pool, first=[1], second=[7, 8], first_commits=False)
    assert outcome == [1, 2]
    assert stored == inc(7, 8)


async def test_an_expected_version_beyond_the_stream_is_refused(
    events_pool: asyncpg.Pool,
) -> None:
    """Versions must stay dense: appending at 5 to a stream at 1 would leave a gap."""
    async with transaction(events_pool) as conn:
        await store.append(
            conn, stream_id="g", expected_version=0, events=inc(1), metadata=EventMetadata.new()
        )
    async with transaction(events_pool) as conn:
        with pytest.raises(ConcurrentAppend) as caught:
            await store.append(
                conn, stream_id="g", expected_version=5, events=inc(2), metadata=EventMetadata.new()
            )
        assert caught.value.actual_version == 1
        # Same transaction, right version: the refusal left the unit of work usable.
        await store.append(
            conn, stream_id="g", expected_version=1, events=inc(2), metadata=EventMetadata.new()
        )
    async with events_pool.acquire() as conn:
        assert [e.contract() for e in await store.load(conn, "g")] == inc(1, 2)


async def test_appends_in_one_transaction_see_each_other(events_pool: asyncpg.Pool) -> None:
    async with transaction(events_pool) as conn:
        await store.append(
            conn, stream_id="t", expected_version=0, events=inc(1), metadata=EventMetadata.new()
        )
        with pytest.raises(ConcurrentAppend):
            await store.append(
                conn, stream_id="t", expected_version=0, events=inc(2), metadata=EventMetadata.new()
            )
        await store.append(
            conn, stream_id="t", expected_version=1, events=inc(3), metadata=EventMetadata.new()
        )
    async with events_pool.acquire() as conn:
        assert [e.contract() for e in await store.load(conn, "t")] == inc(1, 3)


@pytest.mark.parametrize("first_commits", [True, False])
async def test_an_append_at_the_end_that_loses_a_race_goes_after_the_winner(
    events_pool: asyncpg.Pool, first_commits: bool
) -> None:
    outcome, events = await race(
        events_pool, first=[1], second=[2, 3], first_commits=first_commits, second_at_end=True
    )
    if first_commits:
        assert (outcome, events) == ([2, 3], inc(1, 2, 3))
    else:
        assert (outcome, events) == ([1, 2], inc(2, 3))


async def test_an_append_at_the_end_takes_the_next_versions_whatever_they_are(
    events_pool: asyncpg.Pool,
) -> None:
    async with transaction(events_pool) as conn:
        first = await store.append(
            conn, stream_id="e", expected_version=None, events=inc(1), metadata=EventMetadata.new()
        )
        await store.append(
            conn, stream_id="e", expected_version=1, events=inc(2), metadata=EventMetadata.new()
        )
        more = await store.append(
            conn,
            stream_id="e",
            expected_version=None,
            events=inc(3, 4),
            metadata=EventMetadata.new(),
        )
    assert [e.version for e in first] == [1]
    assert [(e.version, e.contract()) for e in more] == list(zip([3, 4], inc(3, 4), strict=True))
    async with events_pool.acquire() as conn:
        loaded = await store.load(conn, "e")
    assert [(e.version, e.contract()) for e in loaded] == list(
        zip([1, 2, 3, 4], inc(1, 2, 3, 4), strict=True)
    )
    assert [e.global_position for e in loaded[2:]] == [e.global_position for e in more]


def appended_count(event_type: str) -> float:
    value = REGISTRY.get_sample_value(
        "byggrygg_events_appended_total", {"service": "storetest", "event_type": event_type}
    )
    return value or 0.0


async def test_appended_events_are_counted_per_type_and_refusals_are_not(
    events_pool: asyncpg.Pool,
) -> None:
    before = (
        appended_count(CounterIncremented.event_type),
        appended_count(CounterReset.event_type),
    )
    async with transaction(events_pool) as conn:
        await store.append(
            conn,
            stream_id="m",
            expected_version=0,
            events=[*inc(1, 2), CounterReset(), *inc(3)],
            metadata=EventMetadata.new(),
        )
        with pytest.raises(ConcurrentAppend):
            await store.append(
                conn, stream_id="m", expected_version=0, events=inc(4), metadata=EventMetadata.new()
            )
    after = (appended_count(CounterIncremented.event_type), appended_count(CounterReset.event_type))
    assert (after[0] - before[0], after[1] - before[1]) == (3, 1)


async def test_returned_events_equal_what_a_reader_loads(events_pool: asyncpg.Pool) -> None:
    """The append hands back the dicts it serialised; they must match the stored JSON."""
    meta = EventMetadata.new(correlation_id="c", causation_id="k", tenant_id="t1")
    async with transaction(events_pool) as conn:
        appended = await store.append(
            conn,
            stream_id="eq",
            expected_version=0,
            events=[*inc(1), CounterReset(), *inc(-2)],
            metadata=meta,
        )
    async with events_pool.acquire() as conn:
        loaded = await store.load(conn, "eq")
    assert appended == loaded
    assert [e.event_type for e in loaded] == [
        CounterIncremented.event_type,
        CounterReset.event_type,
        CounterIncremented.event_type,
    ]
    assert loaded[0].metadata["dataschema"] == CounterIncremented.dataschema()
    assert loaded[1].metadata["dataschema"] == CounterReset.dataschema()
