"""The unit of work's connection handling: commit skips asyncpg's session reset, all else resets.

Skipping the reset is only sound because a unit of work leaves no session state (db.py's rule).
These tests make the skip observable by breaking that rule on purpose with a session-level
setting on a one-connection pool: after a commit it survives (no reset ran), after a rollback or
a plain acquire, session state is gone (the reset ran).
"""

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from byggrygg_shared.db import create_pool, transaction

PROBE = "SELECT current_setting('byggrygg.probe', true)"
SET_SESSION_PROBE = "SELECT set_config('byggrygg.probe', 'left behind', false)"


@pytest_asyncio.fixture(loop_scope="session")
async def one_connection_pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database, min_size=1, max_size=1)
    try:
        yield pool
    finally:
        await pool.close()


async def test_a_committed_unit_of_work_returns_its_connection_without_a_reset(
    one_connection_pool: asyncpg.Pool,
) -> None:
    async with transaction(one_connection_pool) as conn:
        await conn.execute(SET_SESSION_PROBE)
    async with one_connection_pool.acquire() as conn:
        assert await conn.fetchval(PROBE) == "left behind"


async def _fail_inside(pool: asyncpg.Pool, *statements: str) -> None:
    async with transaction(pool) as conn:
        for statement in statements:
            await conn.execute(statement)
        raise RuntimeError("the command failed")


async def _advisory_locks_held(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    )
    return count


async def test_a_rolled_back_unit_of_work_gets_the_full_reset(
    one_connection_pool: asyncpg.Pool,
) -> None:
    # A session advisory lock is not undone by a rollback: only the reset releases it.
    with pytest.raises(RuntimeError):
        await _fail_inside(one_connection_pool, "SELECT pg_advisory_lock(4242)")
    async with one_connection_pool.acquire() as conn:
        assert await _advisory_locks_held(conn) == 0


async def test_a_plain_acquire_is_reset_so_listeners_and_locks_do_not_leak(
    one_connection_pool: asyncpg.Pool,
) -> None:
    async with one_connection_pool.acquire() as conn:
        await conn.execute("LISTEN byggrygg_probe")
        assert await conn.fetchval("SELECT pg_try_advisory_lock(4242)")
    async with one_connection_pool.acquire() as conn:
        assert await conn.fetch("SELECT pg_listening_channels()") == []
        assert await _advisory_locks_held(conn) == 0


async def test_the_unit_of_work_commits_and_rolls_back(one_connection_pool: asyncpg.Pool) -> None:
    async with transaction(one_connection_pool) as conn:
        await conn.execute("CREATE TABLE probe (n int)")
        await conn.execute("INSERT INTO probe VALUES (1)")
    with pytest.raises(RuntimeError):
        await _fail_inside(one_connection_pool, "INSERT INTO probe VALUES (2)")
    async with one_connection_pool.acquire() as conn:
        assert await conn.fetchval("SELECT array_agg(n) FROM probe") == [1]
