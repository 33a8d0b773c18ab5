"""The alembic migrations produce exactly the schema of `adapters/tables.py`, with the chain
head in place and the record table append-only."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from byggrygg_shared.migrations import schema_differences
from privacy_orchestrator.adapters.tables import METADATA
from privacy_orchestrator.main import migrate_database


async def test_migrated_schema_matches_the_metadata(fresh_database: str) -> None:
    await asyncio.to_thread(migrate_database, fresh_database)
    assert await schema_differences(fresh_database, METADATA) == []


async def test_migrating_twice_changes_nothing(fresh_database: str) -> None:
    await asyncio.to_thread(migrate_database, fresh_database)
    await asyncio.to_thread(migrate_database, fresh_database)
    assert await schema_differences(fresh_database, METADATA) == []
    conn = await asyncpg.connect(fresh_database)
    try:
        rows = await conn.fetch("SELECT id, sequence, hash FROM record_chain_head")
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [(1, 0, "0" * 64)]


async def test_records_cannot_be_updated_deleted_or_truncated(fresh_database: str) -> None:
    await asyncio.to_thread(migrate_database, fresh_database)
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute(
            "INSERT INTO completion_records"
            " VALUES (1, gen_random_uuid(), '{}', 'h', 'p', 's', now())"
        )
        for statement in (
            "UPDATE completion_records SET record = '{\"x\":1}'",
            "DELETE FROM completion_records",
            "TRUNCATE completion_records",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)
        assert await conn.fetchval("SELECT record FROM completion_records") == "{}"
    finally:
        await conn.close()
