"""The scratch schema a rebuild fills: the read models' tables, created from the metadata
(same columns, keys, indexes and comments as alembic's), and the swap that makes them live.

Tables are created from ``adapters.tables.READ_MODELS`` rather than copied with ``LIKE``:
copied indexes would get generated names, and the swapped-in tables must be exactly the
schema alembic migrates (the migrations test compares them).
"""

from __future__ import annotations

from typing import Final

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable, SetTableComment

from reporting.adapters.tables import OPS_READ_MODELS, READ_MODELS

# Every table a rebuild drops and refills: courses' read models and the ops read
# model of the privacy topics.
REBUILT: Final[tuple[sa.Table, ...]] = (*READ_MODELS, *OPS_READ_MODELS)

REBUILD_SCHEMA: Final = "reporting_rebuild"
LIVE_SCHEMA: Final = "public"
_DIALECT: Final = postgresql.dialect()  # type: ignore[no-untyped-call]


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


async def lock_live_tables(conn: asyncpg.Connection) -> None:
    """Stop the live projection and queries on the read models until the transaction ends."""
    names = ", ".join(f"{LIVE_SCHEMA}.{table.name}" for table in REBUILT)
    await conn.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")


async def swap_in(conn: asyncpg.Connection) -> None:
    """Replace the live read models by the scratch ones (inside the caller's transaction,
    after ``lock_live_tables``). Statements waiting on the old tables resolve the names again
    once the transaction commits, and find the new ones."""
    for table in reversed(REBUILT):
        await conn.execute(f"DROP TABLE {LIVE_SCHEMA}.{table.name}")
    for table in REBUILT:
        await conn.execute(f"ALTER TABLE {REBUILD_SCHEMA}.{table.name} SET SCHEMA {LIVE_SCHEMA}")
    await conn.execute(f"DROP SCHEMA {REBUILD_SCHEMA}")
