"""The one place that builds identity's real objects from settings (STYLE: bootstrap).

`build_runtime` opens the database pools and builds the handlers' `Dependencies`, the token
issuer and verifier, and the privacy participant; `install` puts them into a FastAPI app.
`service_lifespan` is what `serve` runs: build, install, then keep the background workers
running until shutdown:

- the outbox relay (events and privacy replies to Kafka),
- the Kafka subscribers (`entrypoints/consumers.py`: the privacy orchestrator's commands),
- R2's clocks on ended customers' data (`service_layer/organisation_retention.py`).

Tests call `build_runtime` with their own databases and skip Kafka (or run the subscribers
themselves on a topic of their own).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
from fastapi import FastAPI

from byggrygg_shared.auth import (
    TokenIssuer,
    TokenVerifier,
    install_token_verifier,
    load_or_create_ed25519_key,
)
from byggrygg_shared.background import Worker
from byggrygg_shared.db import create_pool
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.keyring import KeyRing, load_master_key
from byggrygg_shared.outbox import RelayWorker
from byggrygg_shared.participant import Participant
from byggrygg_shared.service_api import Lifespan, served_lifespan
from byggrygg_shared.sources import Clock, IdSource, RandomIds, utc_now
from byggrygg_shared.subscriptions import Subscriptions
from identity.adapters.passwords import Argon2Passwords
from identity.adapters.repositories import OrganisationRepository, UserRepository
from identity.entrypoints.api import create_app
from identity.entrypoints.consumers import register_consumers
from identity.entrypoints.cors import SignInCors
from identity.service_layer.context import Dependencies, PasswordHashing, Policy
from identity.service_layer.organisation_retention import OrganisationRetentionWorker
from identity.service_layer.privacy_commands import IdentityPrivacy
from identity.settings import IdentitySettings

SERVICE = "identity"


@dataclass
class Runtime:
    """The live objects of one identity process."""

    settings: IdentitySettings
    pool: asyncpg.Pool
    keyring_pool: asyncpg.Pool
    keyring: KeyRing
    deps: Dependencies
    issuer: TokenIssuer
    verifier: TokenVerifier
    relay: RelayWorker
    participant: Participant
    subscriptions: Subscriptions | None = None

    async def check_database(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def check_keyring(self) -> None:
        await self.keyring_pool.fetchval("SELECT 1")

    async def check_consumers(self) -> None:
        if self.subscriptions is None:
            raise ConnectionError("the Kafka consumers are not running")
        await self.subscriptions.check()

    def subscriptions_for(self, **broker_options: Any) -> Subscriptions:
        """identity's subscribers on the configured topic and group (not yet started)."""
        return Subscriptions(
            bootstrap=self.settings.kafka_bootstrap,
            client_id=SERVICE,
            topic_prefix=self.settings.kafka_topic_prefix,
            register=register_consumers(
                self.participant,
                command_topic=self.settings.identity_privacy_command_topic,
                group_id=self.settings.identity_consumer_group,
            ),
            **broker_options,
        )


async def build_runtime(
    settings: IdentitySettings,
    *,
    clock: Clock = utc_now,
    ids: IdSource | None = None,
    passwords: PasswordHashing | None = None,
) -> Runtime:
    """Open the pools and build everything the API and the handlers need."""
    pool = await create_pool(settings.identity_database_url)
    try:
        keyring_pool = await create_pool(settings.keyring_database_url)
    except BaseException:
        await pool.close()
        raise
    keyring = KeyRing(keyring_pool, load_master_key(settings.keyring_master_key_file))
    store = EventStore()
    deps = Dependencies(
        pool=pool,
        organisations=OrganisationRepository(store=store, cipher=keyring),
        users=UserRepository(store=store, cipher=keyring),
        passwords=passwords or Argon2Passwords(),
        keys=keyring,
        clock=clock,
        ids=ids or RandomIds(),
        policy=Policy(
            terms_version=settings.identity_terms_version,
            bookkeeping_years=settings.bookkeeping_years,
            invitation_ttl=settings.invitation_ttl,
        ),
    )
    private_key = load_or_create_ed25519_key(settings.jwt_private_key_file)
    issuer = TokenIssuer(
        private_key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=settings.access_token_ttl,
        clock=clock,
    )
    # identity verifies its own tokens with its own public key: no HTTP call to itself.
    verifier = TokenVerifier.from_public_keys(
        [private_key.public_key()],
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        clock=clock,
    )
    return Runtime(
        settings=settings,
        pool=pool,
        keyring_pool=keyring_pool,
        keyring=keyring,
        deps=deps,
        issuer=issuer,
        verifier=verifier,
        relay=RelayWorker(
            pool=pool,
            bootstrap=settings.kafka_bootstrap,
            source_service=SERVICE,
            topic_prefix=settings.kafka_topic_prefix,
        ),
        participant=Participant(
            service=SERVICE,
            pool=pool,
            keyring=keyring,
            handler=IdentityPrivacy(deps, cipher=keyring, store=store),
            store=store,
            clock=clock,
            ids=deps.ids,
        ),
    )


async def close_runtime(runtime: Runtime) -> None:
    await runtime.pool.close()
    await runtime.keyring_pool.close()


def install(app: FastAPI, runtime: Runtime) -> None:
    """Make `runtime` the app's dependencies, token issuer and readiness checks."""
    app.state.deps = runtime.deps
    app.state.token_issuer = runtime.issuer
    app.state.access_token_seconds = int(runtime.settings.access_token_ttl.total_seconds())
    app.state.readiness = {
        "database": runtime.check_database,
        "keyring": runtime.check_keyring,
        "kafka": runtime.relay.check,
        "consumers": runtime.check_consumers,
    }
    install_token_verifier(app, runtime.verifier)


async def _run_subscriptions(runtime: Runtime, stop: asyncio.Event) -> None:
    runtime.subscriptions = runtime.subscriptions_for()
    await runtime.subscriptions.run(stop)


def background_workers(runtime: Runtime) -> dict[str, Worker]:
    """Every task a served identity runs beside its API, by name."""
    return {
        "outbox-relay": runtime.relay.run,
        "subscriptions": lambda stop: _run_subscriptions(runtime, stop),
        "organisation-retention": OrganisationRetentionWorker(
            deps=runtime.deps,
            interval=timedelta(seconds=runtime.settings.identity_retention_interval_seconds),
        ).run,
    }


def service_lifespan(settings: IdentitySettings) -> Lifespan:
    """The lifespan of a served identity: runtime, background workers, clean shutdown."""
    return served_lifespan(
        service=SERVICE,
        build=lambda: build_runtime(settings),
        install=install,
        workers=background_workers,
        close=close_runtime,
        shutdown_timeout=15.0,
    )


def create_service_app(settings: IdentitySettings) -> FastAPI:
    """The app `identity serve` runs."""
    app = create_app(lifespan=service_lifespan(settings))
    if settings.cors_origins:
        # Reporting's dashboard served directly signs in from its own origin (entrypoints/cors).
        app.add_middleware(SignInCors, origins=settings.cors_origins)
    return app
