"""The key ring database's schema and its migrations (DESIGN §4).

Two tables:

- ``keyring_subjects``: one row per subject that ever had a key or was erased. The row stays
  after erasure as a tombstone (``shredded_at`` set), so a later read of an old token answers
  "erased" and a later ``encrypt`` for that subject is refused.
- ``keyring_data_keys``: the wrapped AES-256 data key of each live subject. Erasure DELETEs the
  row: the key material is gone from the live table at once (and from disk when VACUUM reclaims
  the dead tuple; autovacuum does this, ``KeyRing.shred`` does not wait for it).

Migrations are plain SQL applied in order under an advisory lock and recorded in
``keyring_schema_version``; the SQLAlchemy ``METADATA`` below describes the result (the
data-inventory test reads it, and a test checks the migrated database matches it). Run with
``python -m byggrygg_shared.keyring_schema [DSN]`` (default: ``BYGGRYGG_KEYRING_DATABASE_URL``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Final

import asyncpg
import sqlalchemy as sa

__all__ = [
    "DATA_KEYS",
    "METADATA",
    "MIGRATIONS",
    "SUBJECTS",
    "migrate_keyring",
]

METADATA: Final = sa.MetaData()

SUBJECTS: Final = sa.Table(
    "keyring_subjects",
    METADATA,
    sa.Column("subject_ref", sa.Text, primary_key=True),
    sa.Column("key_id", sa.Text, nullable=True, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("shredded_at", sa.DateTime(timezone=True), nullable=True),
    comment="Subjects known to the key ring; a row with shredded_at is an erasure tombstone",
)

DATA_KEYS: Final = sa.Table(
    "keyring_data_keys",
    METADATA,
    sa.Column("key_id", sa.Text, primary_key=True),
    sa.Column("subject_ref", sa.Text, nullable=False, unique=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("master_key_id", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    comment="Per-subject AES-256 data keys, wrapped (AES-GCM) by the master key",
)

# (version, statements). Never edit an applied migration; append a new one.
MIGRATIONS: Final[tuple[tuple[int, tuple[str, ...]], ...]] = (
    (
        1,
        (
            """
            CREATE TABLE keyring_subjects (
                subject_ref text PRIMARY KEY,
                key_id text UNIQUE,
                created_at timestamptz NOT NULL,
                shredded_at timestamptz
            )
            """,
            """
            CREATE TABLE keyring_data_keys (
                key_id text PRIMARY KEY,
                subject_ref text NOT NULL UNIQUE,
                wrapped_key bytea NOT NULL,
                master_key_id text NOT NULL,
                created_at timestamptz NOT NULL
            )
            """,
            "COMMENT ON TABLE keyring_subjects IS "
            "'Subjects known to the key ring; a row with shredded_at is an erasure tombstone'",
            "COMMENT ON TABLE keyring_data_keys IS "
            "'Per-subject AES-256 data keys, wrapped (AES-GCM) by the master key'",
        ),
    ),
)

_LOCK_KEY: Final = 0x4252_5947_0B0C_0002


async def migrate_keyring(dsn: str) -> int:
    """Apply every pending migration to the key ring database; return its schema version."""
    conn: asyncpg.Connection = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            # Transaction-scoped: two services starting at once migrate one after the other.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS keyring_schema_version ("
                " version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            current = int(
                await conn.fetchval("SELECT coalesce(max(version), 0) FROM keyring_schema_version")
            )
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO keyring_schema_version (version) VALUES ($1)", version
                )
                current = version
            return current
    finally:
        await conn.close()


def main(argv: list[str]) -> int:
    """CLI: migrate the key ring database named on the command line or in the environment."""
    dsn = argv[1] if len(argv) > 1 else os.environ.get("BYGGRYGG_KEYRING_DATABASE_URL")
    if not dsn:
        print("usage: python -m byggrygg_shared.keyring_schema DSN", file=sys.stderr)
        return 2
    version = asyncio.run(migrate_keyring(dsn))
    print(f"keyring schema at version {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
