"""Fixtures of courses' integration tests: a migrated database of its own per test (courses
tables and the key ring in one fresh database), the real key ring, the real API in process with
tokens signed by a test key (the verifier knows its public half, as it would from identity's
JWKS), and a small client for the usual steps.

Root fixtures used: ``fresh_database`` (and ``kafka_bootstrap``/``new_topic`` in the Kafka tests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from byggrygg_shared.auth import TokenIssuer, TokenVerifier
from byggrygg_shared.keyring import create_master_key_file
from courses.bootstrap import Runtime, build_runtime, close_runtime, install
from courses.entrypoints.api import create_app
from courses.main import migrate_database
from courses.settings import CoursesSettings

from ....service_testing import asgi_client, migrated_database
from .support import People, Steps


@pytest.fixture
async def courses_dsn(fresh_database: str) -> str:
    """A fresh database migrated like production: alembic for courses, plus the key ring."""
    return await migrated_database(fresh_database, migrate_database)


@pytest.fixture
def settings(courses_dsn: str, tmp_path: Path) -> CoursesSettings:
    master_key = tmp_path / "keyring-master.key"
    create_master_key_file(master_key)
    return CoursesSettings(
        courses_database_url=courses_dsn,
        keyring_database_url=courses_dsn,
        keyring_master_key_file=master_key,
    )


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(Ed25519PrivateKey.generate())


@pytest.fixture
async def runtime(settings: CoursesSettings, issuer: TokenIssuer) -> AsyncIterator[Runtime]:
    verifier = TokenVerifier.from_public_keys([issuer.public_key])
    runtime = await build_runtime(settings, verifier=verifier)
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
    async with asgi_client(app, "courses") as client:
        yield client


@pytest.fixture
def people(issuer: TokenIssuer) -> People:
    return People(issuer)


@pytest.fixture
def steps(http: httpx.AsyncClient, runtime: Runtime, people: People) -> Steps:
    return Steps(http=http, runtime=runtime, people=people, staff=people.staff())
