"""The scratch schema a rebuild fills: the read models' tables, created from the metadata
(same columns, keys, indexes and comments as alembic's), and the swap that makes them live.

Tables are created from ``adapters.tables.READ_MODELS`` rather than copied with ``LIKE``:
copied indexes would get generated names, and the swapped-in tables must be exactly the
schema alembic migrates (the migrations test compares them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable, SetTableComment

from byggrygg_shared.messaging import Backoff
from reporting.adapters.tables import OPS_READ_MODELS, READ_MODELS

# Every table a rebuild drops and refills: courses' read models and the ops read
# model of the privacy topics.
REBUILT: Final[tuple[sa.Table, ...]] = (*READ_MODELS, *OPS_READ_MODELS)

REBUILD_SCHEMA: Final = "reporting_rebuild"
LIVE_SCHEMA: Final = "public"
_DIALECT: Final = postgresql.dialect()  # type: ignore[no-untyped-call]

# The swap's lock (``lock_live_tables``): each try waits at most LOCK_WAIT seconds for the
# tables, below PostgreSQL's default deadlock_timeout (1 s), so in a lock cycle the swap gives
# way before anybody is ended; about a minute of tries in all before it gives up.
LOCK_WAIT: Final = 0.2
LOCK_TRIES: Final = 60
LOCK_BACKOFF: Final = Backoff(initial=0.05, multiplier=2.0, maximum=1.0)


def _ddl(schema: str) -> list[str]:
    """CREATE statements of every read model in `schema`."""
    scratch = sa.MetaData()
    statements: list[str] = []
    for table in REBUILT:
        copy = table.to_metadata(scratch, schema=schema)
        statements.append(str(CreateTable(copy).compile(dialect=_DIALECT)))
        statements.extend(
            str(CreateIndex(index).compile(dialect=_DIALECT)) for index in copy.indexes
        )
        if copy.comment:
            statements.append(str(SetTableComment(copy).compile(dialect=_DIALECT)))
    return statements


async def create_scratch_tables(conn: asyncpg.Connection) -> None:
    """A fresh, empty ``reporting_rebuild`` schema with every read model (an abandoned
    rebuild's leftovers are dropped first)."""
    async with conn.transaction():
        await conn.execute(f"DROP SCHEMA IF EXISTS {REBUILD_SCHEMA} CASCADE")
        await conn.execute(f"CREATE SCHEMA {REBUILD_SCHEMA}")
        for statement in _ddl(REBUILD_SCHEMA):
            await conn.execute(statement)


async def use_scratch_tables(conn: asyncpg.Connection) -> None:
    """In the current transaction, unqualified read-model names mean the scratch tables; the
    other tables (``erased_subjects``) are still found in the live schema."""
    await conn.execute(f"SET LOCAL search_path TO {REBUILD_SCHEMA}, {LIVE_SCHEMA}")


async def lock_live_tables(
    conn: asyncpg.Connection,
    *,
    wait: float = LOCK_WAIT,
    tries: int = LOCK_TRIES,
    backoff: Backoff = LOCK_BACKOFF,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Stop the live projection and queries on the read models until the transaction ends
    (the first statement of the caller's transaction).

    ``LOCK TABLE`` takes its tables one after the other, while the live projection and the
    queries take them in orders of their own: a batch writes ``answers`` before it completes
    an enrolment in ``enrolments``, the statistics read ``answers JOIN enrolments``, catalogue
    and ops events come in any order. Holding the first tables while waiting for a later one
    could close a cycle with such a transaction, and PostgreSQL would end the swap (it waits
    first, so its deadlock check fires first) after the whole replay. So a try waits at most
    ``wait`` seconds (``lock_timeout``, below ``deadlock_timeout``'s 1 s), then gives back the
    tables it got (a savepoint) and, after a pause, tries again: the others' transactions are
    short. Raises ``LockNotAvailableError`` after ``tries`` tries.

    Erasures (``service_layer.privacy_commands``) are no such risk: they take a person's
    subject lock, which the swap never takes (the rebuild applies without subject locks,
    ``projection.apply_batch``), then ``enrolments`` and then ``answers``, the order of the
    list here. An erasure that waits for the tables resumes after the swap on the new ones.
    """
    names = ", ".join(f"{LIVE_SCHEMA}.{table.name}" for table in REBUILT)
    for attempt in range(1, tries + 1):
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = {round(wait * 1000)}")
                await conn.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
                # Back to the session's for the rest of the swap (kept on release).
                await conn.execute("SET LOCAL lock_timeout TO DEFAULT")
            return
        except (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError):
            # A deadlock error too: a server whose deadlock_timeout is shorter than `wait`
            # may end the swap before its lock_timeout does.
            if attempt >= tries:
                raise
        await sleep(backoff.delay(attempt))


async def swap_in(conn: asyncpg.Connection) -> None:
    """Replace the live read models by the scratch ones (inside the caller's transaction,
    after ``lock_live_tables``). Statements waiting on the old tables resolve the names again
    once the transaction commits, and find the new ones."""
    for table in reversed(REBUILT):
        await conn.execute(f"DROP TABLE {LIVE_SCHEMA}.{table.name}")
    for table in REBUILT:
        await conn.execute(f"ALTER TABLE {REBUILD_SCHEMA}.{table.name} SET SCHEMA {LIVE_SCHEMA}")
    await conn.execute(f"DROP SCHEMA {REBUILD_SCHEMA}")
