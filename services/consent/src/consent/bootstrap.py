"""The one place that builds consent's real objects from settings (STYLE: bootstrap).

`build_runtime` opens the database pools and builds the handlers' `Dependencies`, the token
verifier and the mail sender; `install` puts them into a FastAPI app. `service_lifespan` is
what `serve` runs: build, install, then keep the background workers running until shutdown:

- the outbox relay (events to Kafka),
- the mail sender (mail outbox to SMTP),
- the purge of never-confirmed newsletter sign-ups (R8, `service_layer/newsletter_expiry.py`),
- the retention clock of correspondence (R9, `service_layer/correspondence_retention.py`):
  deletes what is past its retention date unless a hold keeps it,
- the Kafka subscribers (`entrypoints/consumers.py`, run by `byggrygg_shared.subscriptions`):
  ``ContractEnded`` and the privacy orchestrator's commands (``Participant`` with
  ``service_layer.privacy_commands.ConsentPrivacy``).

Tests call `build_runtime` with their own databases, verifier and mail transport, and skip
Kafka.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from fastapi import FastAPI

from byggrygg_shared.auth import TokenVerifier, install_token_verifier
from byggrygg_shared.background import Worker
from byggrygg_shared.db import create_pool
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.keyring import KeyRing, create_master_key_file, load_master_key
from byggrygg_shared.outbox import RelayWorker
from byggrygg_shared.participant import Participant
from byggrygg_shared.service_api import Lifespan, served_lifespan
from byggrygg_shared.sources import Clock, IdSource, RandomIds, utc_now
from byggrygg_shared.subscriptions import Subscriptions
from consent.adapters.smtp import SmtpTransport
from consent.entrypoints.api import create_app
from consent.entrypoints.consumers import register_consumers
from consent.metrics import mail_metrics
from consent.service_layer.context import Dependencies, Links, Policy
from consent.service_layer.correspondence_retention import CorrespondenceRetentionWorker
from consent.service_layer.mail import MailSender, MailTransport
from consent.service_layer.newsletter_expiry import UnconfirmedSignupPurger
from consent.service_layer.privacy_commands import ConsentPrivacy
from consent.settings import ConsentSettings

SERVICE = "consent"


def load_link_key(settings: ConsentSettings) -> bytes:
    """The secret that signs one-click links; created (32 random bytes) on first start."""
    create_master_key_file(settings.consent_link_key_file)
    return load_master_key(settings.consent_link_key_file)


@dataclass
class Runtime:
    """The live objects of one consent process."""

    settings: ConsentSettings
    pool: asyncpg.Pool
    keyring_pool: asyncpg.Pool
    keyring: KeyRing
    deps: Dependencies
    verifier: TokenVerifier
    mail_sender: MailSender
    signup_purger: UnconfirmedSignupPurger
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


async def build_runtime(
    settings: ConsentSettings,
    *,
    clock: Clock = utc_now,
    ids: IdSource | None = None,
    verifier: TokenVerifier | None = None,
    mail_transport: MailTransport | None = None,
) -> Runtime:
    """Open the pools and build everything the API, the handlers and the workers need."""
    pool = await create_pool(settings.consent_database_url)
    try:
        keyring_pool = await create_pool(settings.keyring_database_url)
    except BaseException:
        await pool.close()
        raise
    keyring = KeyRing(keyring_pool, load_master_key(settings.keyring_master_key_file))
    deps = Dependencies(
        pool=pool,
        store=EventStore(),
        cipher=keyring,
        clock=clock,
        ids=ids or RandomIds(),
        links=Links(public_url=settings.public_url, signing_key=load_link_key(settings)),
        policy=Policy(
            confirmation_ttl=settings.confirmation_ttl,
            correspondence_retention_years=settings.consent_correspondence_retention_years,
        ),
        shredder=keyring,
    )
    mail_sender = MailSender(
        pool=pool,
        transport=mail_transport
        or SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            timeout=settings.smtp_timeout_seconds,
        ),
        sender_address=settings.consent_mail_from,
        clock=clock,
        metrics=mail_metrics,
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
        mail_sender=mail_sender,
        signup_purger=UnconfirmedSignupPurger(
            deps=deps,
            grace=settings.unconfirmed_grace,
            interval=settings.unconfirmed_purge_interval,
        ),
        participant=Participant(
            service=SERVICE,
            pool=pool,
            keyring=keyring,
            handler=ConsentPrivacy(deps),
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
    app.state.visitor_cookie_secure = runtime.settings.consent_visitor_cookie_secure
    app.state.readiness = {
        "database": runtime.check_database,
        "keyring": runtime.check_keyring,
        "kafka": runtime.relay.check,
        "mail": runtime.mail_sender.check,
        "consumers": runtime.check_consumers,
    }
    install_token_verifier(app, runtime.verifier)


async def _run_subscriptions(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run consent's Kafka subscribers (registered in `entrypoints/consumers.py`)."""
    runtime.subscriptions = Subscriptions(
        bootstrap=runtime.settings.kafka_bootstrap,
        client_id=SERVICE,
        topic_prefix=runtime.settings.kafka_topic_prefix,
        register=register_consumers(
            runtime,
            group_id=runtime.settings.consent_consumer_group,
            privacy_command_topic=runtime.settings.consent_privacy_command_topic,
        ),
    )
    await runtime.subscriptions.run(stop)


def background_workers(runtime: Runtime) -> dict[str, Worker]:
    """Every task a served consent runs beside its API, by name."""
    return {
        "outbox-relay": runtime.relay.run,
        "mail-sender": runtime.mail_sender.run,
        "newsletter-purge": runtime.signup_purger.run,
        "subscriptions": lambda stop: _run_subscriptions(runtime, stop),
        "correspondence-retention": CorrespondenceRetentionWorker(
            deps=runtime.deps,
            interval=timedelta(
                seconds=runtime.settings.consent_correspondence_purge_interval_seconds
            ),
        ).run,
    }


def service_lifespan(settings: ConsentSettings) -> Lifespan:
    """The lifespan of a served consent: runtime, background workers, clean shutdown."""
    return served_lifespan(
        service=SERVICE,
        build=lambda: build_runtime(settings),
        install=install,
        workers=background_workers,
        close=close_runtime,
        shutdown_timeout=10.0,
    )


def create_service_app(settings: ConsentSettings) -> FastAPI:
    """The app `consent serve` runs."""
    return create_app(lifespan=service_lifespan(settings))
