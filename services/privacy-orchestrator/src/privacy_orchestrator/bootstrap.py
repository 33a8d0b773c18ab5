"""The one place that builds the orchestrator's real objects from settings (STYLE: bootstrap).

`build_runtime` opens the database pool, loads (or on first start creates) the signing key
and builds the handlers' `Dependencies` and the token verifier; `install` puts them into a
FastAPI app; `service_lifespan` is what `serve` runs. Tests call `build_runtime` with their own
database, key file and verifier.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
from fastapi import FastAPI

from byggrygg_shared.auth import TokenVerifier, install_token_verifier, load_or_create_ed25519_key
from byggrygg_shared.db import create_pool
from byggrygg_shared.service_api import Lifespan
from byggrygg_shared.sources import Clock, utc_now
from privacy_orchestrator.domain.signing import RecordSigner
from privacy_orchestrator.entrypoints.api import create_app
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.settings import OrchestratorSettings

SERVICE = "privacy-orchestrator"


def load_signer(settings: OrchestratorSettings) -> RecordSigner:
    """The record signer with the key from the settings' file (created there on first start)."""
    return RecordSigner(load_or_create_ed25519_key(settings.privacy_orchestrator_signing_key_file))


@dataclass
class Runtime:
    """The live objects of one orchestrator process."""

    settings: OrchestratorSettings
    pool: asyncpg.Pool
    deps: Dependencies
    verifier: TokenVerifier

    async def check_database(self) -> None:
        # The chain head row exists only in a migrated database.
        async with self.pool.acquire() as conn:
            await self.deps.records.head(conn)


async def build_runtime(
    settings: OrchestratorSettings,
    *,
    clock: Clock = utc_now,
    verifier: TokenVerifier | None = None,
) -> Runtime:
    """Load the key, open the pool and build everything the API needs."""
    signer = load_signer(settings)
    pool = await create_pool(settings.privacy_orchestrator_database_url)
    return Runtime(
        settings=settings,
        pool=pool,
        deps=Dependencies(pool=pool, signer=signer, clock=clock),
        # Tokens are identity's: verified with its public keys from the JWKS URL.
        verifier=verifier
        or TokenVerifier.from_jwks_url(
            settings.jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        ),
    )


async def close_runtime(runtime: Runtime) -> None:
    await runtime.verifier.aclose()
    await runtime.pool.close()


def install(app: FastAPI, runtime: Runtime) -> None:
    """Make `runtime` the app's dependencies, token verifier and readiness checks."""
    app.state.deps = runtime.deps
    app.state.readiness = {"database": runtime.check_database}
    install_token_verifier(app, runtime.verifier)


def service_lifespan(settings: OrchestratorSettings) -> Lifespan:
    """The lifespan of a served orchestrator: runtime up, clean shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await build_runtime(settings)
        install(app, runtime)
        try:
            yield
        finally:
            await close_runtime(runtime)

    return lifespan


def create_service_app(settings: OrchestratorSettings) -> FastAPI:
    """The app `privacy-orchestrator serve` runs."""
    return create_app(lifespan=service_lifespan(settings))
