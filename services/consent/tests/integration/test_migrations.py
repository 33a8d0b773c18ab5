"""The alembic migrations produce exactly the schema of `adapters/tables.py`."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from consent.adapters.tables import METADATA
from consent.main import migrate_database, sqlalchemy_url


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection)
    return list(compare_metadata(context, METADATA))


async def test_migrated_schema_matches_the_metadata(fresh_database: str) -> None:
    await asyncio.to_thread(migrate_database, fresh_database)
    engine = create_async_engine(sqlalchemy_url(fresh_database))
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_migrating_twice_changes_nothing(fresh_database: str) -> None:
    await asyncio.to_thread(migrate_database, fresh_database)
    await asyncio.to_thread(migrate_database, fresh_database)
    engine = create_async_engine(sqlalchemy_url(fresh_database))
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()
