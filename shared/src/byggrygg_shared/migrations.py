"""How every service runs its alembic migrations: the one copy of that wiring.

A service keeps only what is its own: ``services/<svc>/alembic.ini``, the revisions under
``services/<svc>/migrations/versions/`` and a two-line ``migrations/env.py`` naming its target
metadata. This module has the rest:

- `sqlalchemy_url`: the platform's asyncpg DSN in SQLAlchemy's form (alembic runs on
  SQLAlchemy's asyncpg dialect, the one PostgreSQL driver of the platform);
- `migrate`: ``alembic upgrade head`` for the service in a given folder (what ``<svc> migrate``
  and the tests' fresh databases run);
- `run_environment`: the body of every ``migrations/env.py`` (offline and online modes);
- `schema_differences`: what a migrated database has that its metadata does not, or lacks (a
  service's tests assert it is empty, so migrations and ``adapters/tables.py`` never drift).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from alembic import command, context
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

__all__ = [
    "NotPostgreSQL",
    "migrate",
    "run_environment",
    "schema_differences",
    "sqlalchemy_url",
]

_POSTGRESQL_SCHEMES: Final = frozenset({"postgres", "postgresql", "postgresql+asyncpg"})


class NotPostgreSQL(ValueError):
    """A database URL whose scheme is not PostgreSQL's (the CLIs report it as a bad setting)."""


def sqlalchemy_url(dsn: str) -> str:
    """The asyncpg DSN as a SQLAlchemy URL on the asyncpg dialect."""
    scheme, _, rest = dsn.partition("://")
    if scheme not in _POSTGRESQL_SCHEMES:
        raise NotPostgreSQL(f"not a PostgreSQL DSN scheme: {scheme}")
    return f"postgresql+asyncpg://{rest}"


def _alembic_config(service_root: Path, database_url: str) -> Config:
    config = Config(str(service_root / "alembic.ini"))
    config.set_main_option("script_location", str(service_root / "migrations"))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url))
    return config


def migrate(service_root: Path, database_url: str) -> None:
    """Bring the database of the service in `service_root` to its newest schema.

    `service_root` is the service's folder (``services/<svc>``), holding ``alembic.ini`` and
    ``migrations/``. Blocking: async callers run it in a thread.
    """
    command.upgrade(_alembic_config(service_root, database_url), "head")


def run_environment(target_metadata: sa.MetaData, *, database_url: Callable[[], str]) -> None:
    """Run the migrations alembic asked for: what a service's ``migrations/env.py`` calls.

    The URL is the one `migrate` set; run by hand (``alembic -c services/<svc>/alembic.ini``)
    it is `database_url()`, the same setting the service uses.
    """
    url = context.config.get_main_option("sqlalchemy.url") or sqlalchemy_url(database_url())
    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=target_metadata,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def run_with(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def run_online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(run_with)
        finally:
            await engine.dispose()

    asyncio.run(run_online())


async def schema_differences(database_url: str, metadata: sa.MetaData) -> list[Any]:
    """Alembic's differences between the database's schema and `metadata` (empty: they match)."""

    def compare(connection: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    engine = create_async_engine(sqlalchemy_url(database_url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()
