"""Fixtures of identity's integration tests: a migrated database of its own per test (identity
tables and the key ring in one fresh database), the real key ring, the real API in process,
and a small client that walks through the onboarding flow.

Root fixtures used: ``fresh_database``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from byggrygg_shared.keyring import create_master_key_file
from identity.adapters.passwords import Argon2Passwords
from identity.bootstrap import Runtime, build_runtime, close_runtime, install
from identity.entrypoints.api import create_app
from identity.main import migrate_database
from identity.service_layer.login import handle_create_staff
from identity.settings import IdentitySettings

from ....service_testing import MovableClock, asgi_client, migrated_database
from .support import PASSWORD, STAFF_EMAIL, TERMS, Flow


@pytest.fixture
async def identity_dsn(fresh_database: str) -> str:
    """A fresh database migrated like production: alembic for identity, plus the key ring."""
    return await migrated_database(fresh_database, migrate_database)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def settings(identity_dsn: str, tmp_path: Path) -> IdentitySettings:
    master_key = tmp_path / "keyring-master.key"
    create_master_key_file(master_key)
    return IdentitySettings(
        identity_database_url=identity_dsn,
        keyring_database_url=identity_dsn,
        keyring_master_key_file=master_key,
        jwt_private_key_file=tmp_path / "jwt-ed25519.pem",
        identity_terms_version=TERMS,
    )


@pytest.fixture
async def runtime(settings: IdentitySettings, clock: MovableClock) -> AsyncIterator[Runtime]:
    # Real argon2id with small parameters: the tests check behaviour, not hashing cost.
    passwords = Argon2Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    runtime = await build_runtime(settings, clock=clock, passwords=passwords)
    try:
        yield runtime
    finally:
        await close_runtime(runtime)


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    app = create_app()
    install(app, runtime)
    return app


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, "identity") as client:
        yield client


@pytest.fixture
async def flow(http: httpx.AsyncClient, runtime: Runtime) -> Flow:
    await handle_create_staff(deps=runtime.deps, email=STAFF_EMAIL, password=PASSWORD)
    flow = Flow(http=http, runtime=runtime)
    flow.staff_token = await flow.log_in(STAFF_EMAIL)
    return flow
