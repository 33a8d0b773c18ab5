"""PostgreSQL access for every service: one asyncpg pool per database, one transaction per command.

Runtime queries use asyncpg directly (docs/decisions.md). A unit of work is one connection inside
one transaction: the event append, the projection update and the inbox row commit or roll back
together (DESIGN §2). Pools made here decode and encode ``json``/``jsonb`` values as Python
objects, so callers pass and receive dicts and lists, never pre-serialised strings.

Releasing a pooled connection normally costs one more round trip: asyncpg's session reset
(``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``), about a fifth of a one-event
command here. A unit of work that committed through ``transaction`` has nothing to reset:
everything it did ended with the transaction, provided it keeps to the rule below, so its
connection goes back without that query. Any other use of the pool (a rollback, a plain
``pool.acquire()`` such as the relay's LISTEN and advisory lock) still gets the full reset.

Rule for code inside ``transaction``: no session-level state. Use ``SET LOCAL``, never ``SET``;
``pg_advisory_xact_lock``, never ``pg_advisory_lock``; no ``LISTEN``. (Measured in
``make bench``: the append's unit of work.)

``create_all`` renders a SQLAlchemy ``MetaData`` as PostgreSQL DDL and runs it through asyncpg:
for tests and tools that need the tables without running alembic.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

__all__ = [
    "create_all",
    "create_database",
    "create_pool",
    "drop_database",
    "dsn_with_database",
    "render_ddl",
    "scratch_database",
    "transaction",
]


async def _init_connection(conn: asyncpg.Connection) -> None:
    # One codec for json and jsonb so no query has to remember to json.dumps its parameters.
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


# True while `transaction` releases a connection whose unit of work committed.
_COMMITTED_UNIT_OF_WORK: ContextVar[bool] = ContextVar("committed_unit_of_work", default=False)


async def _reset_session(conn: asyncpg.Connection) -> None:
    if _COMMITTED_UNIT_OF_WORK.get():
        return  # nothing outlives a committed transaction (see the module's rule)
    query = conn.get_reset_query()
    if query:
        await conn.execute(query)


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool on ``dsn`` whose connections map json/jsonb to Python objects."""
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, reset=_reset_session
    )
    if pool is None:  # asyncpg types the result as optional; it is only None when not awaited
        raise RuntimeError("asyncpg.create_pool returned no pool")
    return pool


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """Acquire a connection and open a transaction on it: the unit of work of one command.

    Commits when the block ends normally, rolls back when it raises.
    """
    conn: asyncpg.Connection
    committed = None  # the flag's token, set only once the transaction has committed
    try:
        async with pool.acquire() as conn:
            async with conn.transaction():
                yield conn
            committed = _COMMITTED_UNIT_OF_WORK.set(True)  # read by the release just below
    finally:
        if committed is not None:
            _COMMITTED_UNIT_OF_WORK.reset(committed)


def render_ddl(metadata: sa.MetaData) -> list[str]:
    """PostgreSQL ``CREATE TABLE``/``CREATE INDEX`` statements for every table of ``metadata``."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    statements: list[str] = []
    for table in metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)))
        statements.extend(
            str(CreateIndex(index).compile(dialect=dialect))
            for index in sorted(table.indexes, key=lambda i: str(i.name))
        )
    return statements


async def create_all(conn: asyncpg.Connection, metadata: sa.MetaData) -> None:
    """Create every table and index of ``metadata`` (no alembic; for tests and tools)."""
    async with conn.transaction():
        for statement in render_ddl(metadata):
            await conn.execute(statement)


def dsn_with_database(dsn: str, database: str) -> str:
    """``dsn`` pointed at another database on the same server."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


async def create_database(admin_dsn: str, name: str) -> str:
    """Create the empty database ``name`` (for tests, benchmarks and tools); return its DSN."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return dsn_with_database(admin_dsn, name)


async def drop_database(admin_dsn: str, name: str) -> None:
    """Drop ``name`` if it exists, even while something is still connected to it."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        # FORCE: a pool left open (a failed test, a killed process) must not keep it alive.
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def scratch_database(admin_dsn: str, name: str) -> AsyncIterator[str]:
    """A new empty database ``name`` for the block, dropped afterwards; yields its DSN."""
    dsn = await create_database(admin_dsn, name)
    try:
        yield dsn
    finally:
        await drop_database(admin_dsn, name)
