"""Fixtures of the crash tests: a platform of their own per test, since each test kills and
restarts its processes (the session-wide ``platform`` of tests/conftest.py is shared by other
tests and must stay up).

- ``courses_platform``: identity and courses (tests/platform_processes.py), on state of this
  test only; ``courses_identity``: an identity client of it, logged in as platform staff.
- ``privacy_platform``: identity, courses, consent and the privacy orchestrator with the
  HeiHallo simulator, on state and topics of this test only; ``privacy_identity``: an identity
  client of it, logged in as platform staff.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio

from ..identity_client import IdentityApi
from ..platform_processes import Platform, running_platform


@pytest_asyncio.fixture
async def courses_platform(
    pg_admin_dsn: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    async with running_platform(
        ["courses"], admin_dsn=pg_admin_dsn, kafka_bootstrap=kafka_bootstrap, workdir=tmp_path
    ) as running:
        yield running


@contextlib.asynccontextmanager
async def staff_identity(platform: Platform) -> AsyncIterator[IdentityApi]:
    """An identity client of `platform`, logged in as its platform staff."""
    async with httpx.AsyncClient(base_url=platform.url("identity"), timeout=30.0) as http:
        api = IdentityApi(
            http=http, staff_email=platform.staff_email, staff_password=platform.staff_password
        )
        await api.log_in_staff()
        yield api


@contextlib.asynccontextmanager
async def privacy_platform_with(
    pg_admin_dsn: str, kafka_bootstrap: str, workdir: Path, extra_env: dict[str, str] | None = None
) -> AsyncIterator[Platform]:
    """identity, courses, consent and the orchestrator with HeiHallo, on state of their own."""
    async with running_platform(
        ["courses", "consent", "privacy-orchestrator"],
        admin_dsn=pg_admin_dsn,
        kafka_bootstrap=kafka_bootstrap,
        workdir=workdir,
        extra_env=extra_env,
    ) as running:
        yield running


@pytest_asyncio.fixture
async def courses_identity(courses_platform: Platform) -> AsyncIterator[IdentityApi]:
    async with staff_identity(courses_platform) as api:
        yield api


@pytest_asyncio.fixture
async def privacy_platform(
    pg_admin_dsn: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    async with privacy_platform_with(pg_admin_dsn, kafka_bootstrap, tmp_path) as running:
        yield running


@pytest_asyncio.fixture
async def privacy_identity(privacy_platform: Platform) -> AsyncIterator[IdentityApi]:
    async with staff_identity(privacy_platform) as api:
        yield api
