"""PostgreSQL access for every service: one asyncpg pool per database, one transaction per command.

Runtime queries use asyncpg directly (docs/decisions.md). A unit of work is one connection inside
one transaction: the event append, the projection update and the inbox row commit or roll back
together (DESIGN §2). Pools made here decode and encode ``json``/``jsonb`` values as Python
objects, so callers pass and receive dicts and lists, never pre-serialised strings.

``create_all`` renders a SQLAlchemy ``MetaData`` as PostgreSQL DDL and runs it through asyncpg:
for tests and tools that need the tables without running alembic.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

__all__ = ["create_all", "create_pool", "render_ddl", "transaction"]


async def _init_connection(conn: asyncpg.Connection) -> None:
    # One codec for json and jsonb so no query has to remember to json.dumps its parameters.
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool on ``dsn`` whose connections map json/jsonb to Python objects."""
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection
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
    async with pool.acquire() as conn, conn.transaction():
        yield conn


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
