"""The one place that builds courses' real objects from settings (STYLE: bootstrap).

`build_runtime` opens the database pools and builds the handlers' `Dependencies`, the token
verifier and the privacy participant; `install` puts them into a FastAPI app.
`service_lifespan` is what `serve` runs: build, install, then keep the background workers
running until shutdown:

- the outbox relay (events and privacy replies to Kafka),
- the Kafka subscribers (`entrypoints/consumers.py`, run by `byggrygg_shared.subscriptions`):
  identity's licences and the privacy orchestrator's commands.

Tests call `build_runtime` with their own databases and verifier, and skip Kafka (or run the
subscribers themselves on a topic of their own).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import FastAPI

from byggrygg_shared.auth import TokenVerifier, install_token_verifier
from byggrygg_shared.background import Worker
from byggrygg_shared.db import create_pool
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.keyring import KeyRing, load_master_key
from byggrygg_shared.outbox import RelayWorker
from byggrygg_shared.participant import Participant
from byggrygg_shared.service_api import Lifespan, served_lifespan
from byggrygg_shared.sources import Clock, IdSource, RandomIds, utc_now
from byggrygg_shared.subscriptions import Subscriptions
from courses.adapters.repositories import CourseRepository, EnrolmentRepository
from courses.entrypoints.api import create_app
from courses.entrypoints.consumers import register_consumers
from courses.service_layer.context import Dependencies
from courses.service_layer.privacy_commands import CoursesPrivacy
from courses.settings import CoursesSettings

SERVICE = "courses"


@dataclass
class Runtime:
    """The live objects of one courses process."""

    settings: CoursesSettings
    pool: asyncpg.Pool
    keyring_pool: asyncpg.Pool
    keyring: KeyRing
    deps: Dependencies
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
        """courses' subscribers on the configured topic and group (not yet started)."""
        return Subscriptions(
            bootstrap=self.settings.kafka_bootstrap,
            client_id=SERVICE,
            topic_prefix=self.settings.kafka_topic_prefix,
            register=register_consumers(
                self.deps,
                user_topic=self.settings.courses_user_topic,
                group_id=self.settings.courses_consumer_group,
                participant=self.participant,
                privacy_command_topic=self.settings.courses_privacy_command_topic,
            ),
            **broker_options,
        )


async def build_runtime(
    settings: CoursesSettings,
    *,
    clock: Clock = utc_now,
    ids: IdSource | None = None,
    verifier: TokenVerifier | None = None,
) -> Runtime:
    """Open the pools and build everything the API, the handlers and the workers need."""
    pool = await create_pool(settings.courses_database_url)
    try:
        keyring_pool = await create_pool(settings.keyring_database_url)
    except BaseException:
        await pool.close()
        raise
    keyring = KeyRing(keyring_pool, load_master_key(settings.keyring_master_key_file))
    store = EventStore()
    deps = Dependencies(
        pool=pool,
        courses=CourseRepository(store=store),
        enrolments=EnrolmentRepository(store=store, cipher=keyring),
        cipher=keyring,
        clock=clock,
        ids=ids or RandomIds(),
    )
    return Runtime(
        settings=settings,
        pool=pool,
        keyring_pool=keyring_pool,
        keyring=keyring,
        deps=deps,
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
            handler=CoursesPrivacy(deps, store=store),
            store=store,
            clock=clock,
            ids=deps.ids,
        ),
        # Tokens are identity's: verified with its public keys from the JWKS URL.
        verifier=verifier
        or TokenVerifier.from_jwks_url(
            settings.jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        ),
    )


async def close_runtime(runtime: Runtime) -> None:
    await runtime.verifier.aclose()
    await runtime.pool.close()
    await runtime.keyring_pool.close()


def install(app: FastAPI, runtime: Runtime) -> None:
    """Make `runtime` the app's dependencies, token verifier and readiness checks."""
    app.state.deps = runtime.deps
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
    """Every task a served courses runs beside its API, by name."""
    return {
        "outbox-relay": runtime.relay.run,
        "subscriptions": lambda stop: _run_subscriptions(runtime, stop),
    }


def service_lifespan(settings: CoursesSettings) -> Lifespan:
    """The lifespan of a served courses: runtime, background workers, clean shutdown."""
    return served_lifespan(
        service=SERVICE,
        build=lambda: build_runtime(settings),
        install=install,
        workers=background_workers,
        close=close_runtime,
        shutdown_timeout=15.0,
    )


def create_service_app(settings: CoursesSettings) -> FastAPI:
    """The app `courses serve` runs."""
    return create_app(lifespan=service_lifespan(settings))
