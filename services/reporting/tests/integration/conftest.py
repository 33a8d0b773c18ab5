"""Fixtures of reporting's integration tests: a migrated database of its own per test
(reporting's tables and the key ring in one fresh database), the real key ring, the real API
in process with tokens from a test issuer.

Root fixtures used: ``fresh_database`` (and ``kafka_bootstrap``/``new_topic`` in the Kafka
tests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from byggrygg_shared.auth import Principal, Role, TokenIssuer, TokenVerifier
from byggrygg_shared.keyring import create_master_key_file
from reporting.bootstrap import Runtime, build_runtime, close_runtime, install
from reporting.entrypoints.api import create_app
from reporting.main import migrate_database
from reporting.settings import ReportingSettings

from ....service_testing import MovableClock, asgi_client, bearer, migrated_database


@pytest.fixture
async def reporting_dsn(fresh_database: str) -> str:
    """A fresh database migrated like production: alembic for reporting, plus the key ring."""
    return await migrated_database(fresh_database, migrate_database)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def settings(reporting_dsn: str, tmp_path: Path) -> ReportingSettings:
    master_key = tmp_path / "keyring-master.key"
    create_master_key_file(master_key)
    return ReportingSettings(
        reporting_database_url=reporting_dsn,
        keyring_database_url=reporting_dsn,
        keyring_master_key_file=master_key,
    )


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(Ed25519PrivateKey.generate(), ttl=timedelta(days=30))


@pytest.fixture
async def runtime(
    settings: ReportingSettings, clock: MovableClock, issuer: TokenIssuer
) -> AsyncIterator[Runtime]:
    verifier = TokenVerifier.from_public_keys([issuer.public_key], clock=clock)
    runtime = await build_runtime(settings, clock=clock, verifier=verifier)
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
    async with asgi_client(app, "reporting") as client:
        yield client


TokenFor = Callable[..., dict[str, str]]


@pytest.fixture
def token_for(issuer: TokenIssuer) -> TokenFor:
    """Authorization headers of a caller with ``roles`` (default: platform staff)."""

    def headers(*roles: Role, user_id: str = "staff-1", organisation_id: str | None = None) -> Any:
        principal = Principal(
            user_id=user_id,
            subject_ref="subj_" + user_id.encode().hex().ljust(32, "0")[:32],
            organisation_id=organisation_id,
            roles=frozenset(roles or (Role.PLATFORM_STAFF,)),
        )
        return bearer(issuer.issue(principal))

    return headers
