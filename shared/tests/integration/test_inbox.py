"""Inbox on real PostgreSQL: a redelivered event changes nothing."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from byggrygg_shared.db import transaction
from byggrygg_shared.inbox import ClaimOutsideTransaction, claim, claim_many


@pytest.fixture
async def counter_pool(events_pool: asyncpg.Pool) -> asyncpg.Pool:
    await events_pool.execute("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)")
    await events_pool.execute("INSERT INTO counter VALUES (1, 0)")
    return events_pool


async def apply_increment(pool: asyncpg.Pool, event_id: str, *, consumer: str = "c") -> bool:
    """A non-idempotent effect (n = n + 1) made idempotent by the inbox."""
    async with transaction(pool) as conn:
        if not await claim(conn, consumer=consumer, event_id=event_id):
            return False
        await conn.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
        return True


async def count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT n FROM counter WHERE id = 1"))


async def test_a_redelivered_event_changes_nothing(counter_pool: asyncpg.Pool) -> None:
    assert await apply_increment(counter_pool, "e-1")
    assert not await apply_increment(counter_pool, "e-1")
    assert not await apply_increment(counter_pool, "e-1")
    assert await count(counter_pool) == 1


async def test_each_consumer_has_its_own_claims(counter_pool: asyncpg.Pool) -> None:
    assert await apply_increment(counter_pool, "e-1", consumer="projection-a")
    assert await apply_increment(counter_pool, "e-1", consumer="projection-b")
    assert await count(counter_pool) == 2


async def test_a_failed_effect_releases_its_claim_for_the_redelivery(
    counter_pool: asyncpg.Pool,
) -> None:
    class EffectFailed(Exception):
        pass

    async def effect_that_fails() -> None:
        async with transaction(counter_pool) as conn:
            assert await claim(conn, consumer="c", event_id="e-2")
            await conn.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
            raise EffectFailed

    with pytest.raises(EffectFailed):
        await effect_that_fails()
    assert await count(counter_pool) == 0
    assert await apply_increment(counter_pool, "e-2")
    assert await count(counter_pool) == 1


async def test_concurrent_deliveries_apply_once(counter_pool: asyncpg.Pool) -> None:
    results = await asyncio.gather(*(apply_increment(counter_pool, "e-3") for _ in range(6)))
    assert results.count(True) == 1
    assert await count(counter_pool) == 1


async def test_claim_outside_a_transaction_is_refused(events_pool: asyncpg.Pool) -> None:
    async with events_pool.acquire() as conn:
        with pytest.raises(ClaimOutsideTransaction):
            await claim(conn, consumer="c", event_id="e")


async def test_claiming_a_batch_returns_only_the_events_not_applied_before(
    events_pool: asyncpg.Pool,
) -> None:
    async with transaction(events_pool) as conn:
        assert await claim(conn, consumer="c", event_id="e-1")
    async with transaction(events_pool) as conn:
        fresh = await claim_many(conn, consumer="c", event_ids=["e-1", "e-2", "e-3"])
    assert fresh == {"e-2", "e-3"}
    async with transaction(events_pool) as conn:
        assert await claim_many(conn, consumer="c", event_ids=["e-2", "e-3"]) == set()
        assert await claim_many(conn, consumer="other", event_ids=["e-2"]) == {"e-2"}


async def test_a_batch_claim_outside_a_transaction_is_refused(events_pool: asyncpg.Pool) -> None:
    async with events_pool.acquire() as conn:
        with pytest.raises(ClaimOutsideTransaction):
            await claim_many(conn, consumer="c", event_ids=["e-1"])
