"""The one place that builds reporting's real objects from settings (STYLE: bootstrap).

`build_runtime` opens the database pools and builds the handlers' `Dependencies`, the token
verifier and the privacy participant; `install` puts them into a FastAPI app.
`service_lifespan` is what `serve` runs: build, install, then keep the background workers
running until shutdown:

- the outbox relay (the participant's replies to Kafka),
- the Kafka subscribers (`entrypoints/consumers.py`, run by `byggrygg_shared.subscriptions`):
  courses' catalogue and enrolment topics into the read models, and the privacy
  orchestrator's commands (``Participant`` with ``service_layer.privacy_commands``), and
  the privacy topics' requests and replies into the ops read model.

Tests call `build_runtime` with their own databases and verifier, and skip Kafka.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

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
from reporting.adapters.kafka_health import KafkaProbe
from reporting.entrypoints.api import create_app
from reporting.entrypoints.consumers import register_all_consumers
from reporting.gc_policy import settle_heap
from reporting.service_layer.context import Dependencies
from reporting.service_layer.ops import Ops
from reporting.service_layer.privacy_commands import ReportingPrivacy
from reporting.settings import ReportingSettings

SERVICE = "reporting"


@dataclass
class Runtime:
    """The live objects of one reporting process."""

    settings: ReportingSettings
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

    async def check_consumers(self) -> None:
        if self.subscriptions is None:
            raise ConnectionError("the Kafka consumers are not running")
        await self.subscriptions.check()


async def build_runtime(
    settings: ReportingSettings,
    *,
    clock: Clock = utc_now,
    ids: IdSource | None = None,
    verifier: TokenVerifier | None = None,
) -> Runtime:
    """Open the pools and build everything the API, the handlers and the workers need."""
    pool = await create_pool(settings.reporting_database_url)
    try:
        keyring_pool = await create_pool(settings.keyring_database_url)
    except BaseException:
        await pool.close()
        raise
    # The participant seals export parts and shreds keys (crypto-shredding of free text).
    keyring = KeyRing(keyring_pool, load_master_key(settings.keyring_master_key_file))
    deps = Dependencies(
        pool=pool,
        store=EventStore(),
        clock=clock,
        ids=ids or RandomIds(),
        k_minimum=settings.reporting_k_minimum,
        statistics_period=settings.reporting_statistics_period,
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
        # Tokens are identity's: verified with its public keys from the JWKS URL.
        verifier=verifier
        or TokenVerifier.from_jwks_url(
            settings.jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        ),
        participant=Participant(
            service=SERVICE,
            pool=pool,
            keyring=keyring,
            handler=ReportingPrivacy(deps),
            store=deps.store,
            clock=clock,
            ids=deps.ids,
        ),
    )


async def close_runtime(runtime: Runtime) -> None:
    await runtime.verifier.aclose()
    await runtime.pool.close()
    await runtime.keyring_pool.close()


def install(app: FastAPI, runtime: Runtime) -> None:
    """Make `runtime` the app's dependencies, token verifier and readiness checks."""
    app.state.deps = runtime.deps
    app.state.ops = ops_of(runtime)  # the ops dashboard's queries
    # Where the dashboard page signs in when served directly (routers/dashboard_sign_in.py).
    app.state.dashboard_identity_url = runtime.settings.reporting_dashboard_identity_url
    app.state.readiness = {
        "database": runtime.check_database,
        "kafka": runtime.relay.check,
        "consumers": runtime.check_consumers,
    }
    install_token_verifier(app, runtime.verifier)


def ops_of(runtime: Runtime) -> Ops:
    """What the ops dashboard's routes query."""
    settings = runtime.settings
    return Ops(
        pool=runtime.pool,
        clock=runtime.deps.clock,
        kafka=KafkaProbe(settings.kafka_bootstrap, topic_prefix=settings.kafka_topic_prefix),
        at_risk_days=settings.reporting_ops_at_risk_days,
        reply_window_days=settings.reporting_ops_reply_window_days,
    )


async def _run_subscriptions(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run reporting's Kafka subscribers (registered in `entrypoints/consumers.py`), the
    start-up heap frozen first (`gc_policy`: the collector would walk it every few batches)."""
    settle_heap()
    runtime.subscriptions = Subscriptions(
        bootstrap=runtime.settings.kafka_bootstrap,
        client_id=SERVICE,
        topic_prefix=runtime.settings.kafka_topic_prefix,
        register=register_all_consumers(runtime),  # + the ops subscriber
    )
    await runtime.subscriptions.run(stop)


def background_workers(runtime: Runtime) -> dict[str, Worker]:
    """Every task a served reporting runs beside its API, by name."""
    return {
        "outbox-relay": runtime.relay.run,
        "subscriptions": lambda stop: _run_subscriptions(runtime, stop),
    }


def service_lifespan(settings: ReportingSettings) -> Lifespan:
    """The lifespan of a served reporting: runtime, background workers, clean shutdown."""
    return served_lifespan(
        service=SERVICE,
        build=lambda: build_runtime(settings),
        install=install,
        workers=background_workers,
        close=close_runtime,
        shutdown_timeout=10.0,
    )


def create_service_app(settings: ReportingSettings) -> FastAPI:
    """The app `reporting serve` runs."""
    return create_app(lifespan=service_lifespan(settings))
