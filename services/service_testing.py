"""Test helpers every service's tests share: a migrated fresh database, the API in process,
a movable clock, bearer headers, problem checks, table snapshots, the error classes a
service's error table must cover, a free port and the service's command line as a process.

Not part of any service or of the runtime library: only tests import it, relatively, from
``services/<svc>/tests/<kind>/`` as ``from ....service_testing import ...`` (pytest's
``--import-mode=importlib`` names test modules after their path from the repository root).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from byggrygg_shared.keyring_schema import migrate_keyring


async def migrated_database(dsn: str, migrate_database: Callable[[str], None]) -> str:
    """`dsn` migrated like production: the service's alembic revisions, plus the key ring."""
    # alembic's env runs its own event loop: give it a thread of its own.
    await asyncio.to_thread(migrate_database, dsn)
    await migrate_keyring(dsn)
    return dsn


@asynccontextmanager
async def asgi_client(app: FastAPI, host: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to `app` in process (no socket), at ``http://<host>``."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
        yield client


class MovableClock:
    """A clock the test can move forward (expiry, back-off); starts at the real time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with `status`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    return dict(body)


async def table_snapshot(
    pool: asyncpg.Pool, tables: Iterable[sa.Table]
) -> dict[str, tuple[int, str]]:
    """Row count and a digest of each of `tables`: equal snapshots before and after a request
    mean it wrote nothing there."""
    state: dict[str, tuple[int, str]] = {}
    async with pool.acquire() as conn:
        for table in tables:
            # Table names come from the services' own metadata, never from input.
            row = await conn.fetchrow(
                f"SELECT count(*) AS n, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)),"  # noqa: S608
                f" '') AS digest FROM {table.name} t"
            )
            state[table.name] = (row["n"], row["digest"])
    return state


def all_subclasses(base: type[Exception]) -> list[type[Exception]]:
    """Every subclass of `base`, at any depth (the errors a service's table must map)."""
    found: list[type[Exception]] = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(all_subclasses(sub))
    return found


def free_port() -> int:
    """A TCP port nobody listens on right now (for a server the test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run_cli(service: str, *args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run ``<service> <args>`` (its typer app) as a process; its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        f"from {service}.main import cli; cli()",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()
