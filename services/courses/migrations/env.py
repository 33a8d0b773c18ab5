"""Alembic environment of courses: the target metadata is `courses.adapters.tables.METADATA`
(courses' tables plus the shared events and inbox tables). Runs on SQLAlchemy's asyncpg
dialect, the one PostgreSQL driver of the platform."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from courses.adapters.tables import METADATA

config = context.config
target_metadata = METADATA


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    # Run by hand: the same setting the service uses, in SQLAlchemy's URL form.
    from courses.main import sqlalchemy_url
    from courses.settings import CoursesSettings

    return sqlalchemy_url(CoursesSettings().courses_database_url)


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_with)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(_run_online())
