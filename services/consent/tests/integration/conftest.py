"""Fixtures of consent's integration tests: a migrated database of its own per test (consent
tables and the key ring in one fresh database), the real key ring, a real SMTP server in
process (aiosmtpd), the real API in process with tokens from a test issuer.

Root fixtures used: ``fresh_database``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from byggrygg_shared.auth import Principal, Role, TokenIssuer, TokenVerifier
from byggrygg_shared.keyring import create_master_key_file
from consent.bootstrap import Runtime, build_runtime, close_runtime, install
from consent.entrypoints.api import create_app
from consent.main import migrate_database
from consent.settings import ConsentSettings

from ....service_testing import MovableClock, asgi_client, bearer, free_port, migrated_database
from .correspondence_support import Env
from .support import MailSink

PUBLIC_URL = "http://consent.test/api/consent"


@pytest.fixture
async def consent_dsn(fresh_database: str) -> str:
    """A fresh database migrated like production: alembic for consent, plus the key ring."""
    return await migrated_database(fresh_database, migrate_database)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def mail_sink() -> AsyncIterator[MailSink]:
    sink = MailSink(free_port())
    await sink.start()
    try:
        yield sink
    finally:
        await sink.stop()


@pytest.fixture
def settings(consent_dsn: str, tmp_path: Path, mail_sink: MailSink) -> ConsentSettings:
    master_key = tmp_path / "keyring-master.key"
    create_master_key_file(master_key)
    return ConsentSettings(
        consent_database_url=consent_dsn,
        keyring_database_url=consent_dsn,
        keyring_master_key_file=master_key,
        consent_link_key_file=tmp_path / "links.key",
        consent_public_url=PUBLIC_URL,
        smtp_host="127.0.0.1",
        smtp_port=mail_sink.port,
        smtp_timeout_seconds=5.0,
    )


@pytest.fixture
def issuer() -> TokenIssuer:
    """Signs tokens the way identity does, with a key of the test's own. Long-lived, so the
    tests may move their clock forward by days and still use them."""
    return TokenIssuer(Ed25519PrivateKey.generate(), ttl=timedelta(days=30))


@pytest.fixture
async def runtime(
    settings: ConsentSettings, clock: MovableClock, issuer: TokenIssuer
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
    async with asgi_client(app, "consent") as client:
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


@pytest.fixture
def staff(token_for: TokenFor) -> dict[str, str]:
    return token_for(Role.PLATFORM_STAFF)


PublishPolicy = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def publish_policy(http: httpx.AsyncClient, staff: dict[str, str], clock: MovableClock) -> Any:
    """Publish a policy version through the API (effective today unless told)."""

    async def publish(
        version: str = "2025-1",
        *,
        text: str = "Personvernerklæring.",
        effective_on: date | None = None,
    ) -> dict[str, Any]:
        response = await http.post(
            "/policies",
            json={
                "version": version,
                "text": text,
                "effective_on": (effective_on or clock().date()).isoformat(),
            },
            headers=staff,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    return publish


@pytest.fixture
def consent_env(
    runtime: Runtime,
    http: httpx.AsyncClient,
    clock: MovableClock,
    mail_sink: MailSink,
    staff: dict[str, str],
    token_for: TokenFor,
) -> Env:
    """The fixtures above in one object (the correspondence and complaint tests use it)."""
    return Env(
        runtime=runtime,
        http=http,
        clock=clock,
        smtp=mail_sink,
        staff=staff,
        token_for=token_for,
    )
