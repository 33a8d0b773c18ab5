"""Fixtures of the cross-service tests (tests/e2e, tests/security): the real identity process.

Root fixtures used: ``pg_admin_dsn``, ``kafka_bootstrap`` (/work/main/conftest.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from .identity_client import IdentityApi
from .identity_process import IdentityProcess, running_identity


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def identity_service(
    pg_admin_dsn: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[IdentityProcess]:
    """`identity serve` as a child process, on databases and secrets of this session only."""
    async with running_identity(
        admin_dsn=pg_admin_dsn,
        kafka_bootstrap=kafka_bootstrap,
        workdir=tmp_path_factory.mktemp("identity"),
    ) as service:
        yield service


@pytest_asyncio.fixture(loop_scope="session")
async def identity(identity_service: IdentityProcess) -> AsyncIterator[IdentityApi]:
    """A client of the running identity service, logged in as its platform staff account."""
    async with httpx.AsyncClient(base_url=identity_service.base_url, timeout=30.0) as http:
        api = IdentityApi(
            http=http,
            staff_email=identity_service.staff_email,
            staff_password=identity_service.staff_password,
        )
        await api.log_in_staff()
        yield api
