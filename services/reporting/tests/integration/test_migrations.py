"""The alembic migrations produce exactly the schema of `adapters/tables.py`."""

from __future__ import annotations

import asyncio

from byggrygg_shared.migrations import schema_differences
from reporting.adapters.tables import METADATA
from reporting.main import migrate_database


async def test_migrated_schema_matches_the_metadata(fresh_database: str) -> None:
    await asyncio.to_thread(migrate_database, fresh_database)
    assert await schema_differences(fresh_database, METADATA) == []


async def test_migrating_twice_changes_nothing(fresh_database: str) -> None:
    await asyncio.to_thread(migrate_database, fresh_database)
    await asyncio.to_thread(migrate_database, fresh_database)
    assert await schema_differences(fresh_database, METADATA) == []
