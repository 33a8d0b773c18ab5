"""The one place that builds the orchestrator's real objects from settings (STYLE: bootstrap).

`build_runtime` opens the database pool, loads (or on first start creates) the signing key
and builds the handlers' `Dependencies` and the token verifier; `install` puts them into a
FastAPI app; `service_lifespan` is what `serve` runs: build, install, then keep the background
workers running until shutdown:

- the outbox relay (the privacy commands to the participants' topics),
- the Kafka subscribers of the participants' replies and of identity's user and organisation
  topics (automatic erasures, R6; `entrypoints/consumers.py`),
- the delivery worker of the signed requests to sub-processors (R13); HeiHallo is registered
  on first start (R12).
- the expiry worker of access exports (R14): deletes them when their time is up.
- the retention scheduler (R2, R6): files the erasures of a contract end whose export offer
  is over.
- the mail sender (R10): hands the kept-data notices in the mail outbox to SMTP.
- the participant time-out (R13): sends a late participant its command again, then
  escalates it.

Tests call `build_runtime` with their own database, key file and verifier, and run the
subscribers themselves on a topic of their own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from byggrygg_shared.auth import TokenVerifier, install_token_verifier, load_or_create_ed25519_key
from byggrygg_shared.background import Worker
from byggrygg_shared.db import create_pool
from byggrygg_shared.keyring import KeyRing, load_master_key
from byggrygg_shared.mail_outbox import MailMetrics, MailSender, SmtpTransport
from byggrygg_shared.outbox import RelayWorker
from byggrygg_shared.service_api import Lifespan, served_lifespan
from byggrygg_shared.sources import Clock, IdSource, RandomIds, utc_now
from byggrygg_shared.subscriptions import Subscriptions
from privacy_orchestrator.adapters.webhook_client import WebhookClient
from privacy_orchestrator.domain.signing import RecordSigner
from privacy_orchestrator.domain.subprocessors import DeliveryPolicy
from privacy_orchestrator.entrypoints.api import create_app
from privacy_orchestrator.entrypoints.consumers import ReplyBatching, register_consumers
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.exports import ExportExpiryWorker
from privacy_orchestrator.service_layer.participant_timeouts import ParticipantTimeoutWorker
from privacy_orchestrator.service_layer.proof_retention import ProofRetentionWorker
from privacy_orchestrator.service_layer.record_checkpoints import CheckpointPublisher
from privacy_orchestrator.service_layer.reply_batches import BatchPolicy
from privacy_orchestrator.service_layer.retention import RetentionScheduler
from privacy_orchestrator.service_layer.subprocessors import (
    DeliveryWorker,
    SubProcessorContext,
    seed_heihallo,
)
from privacy_orchestrator.service_layer.triggers import TriggerSettings
from privacy_orchestrator.settings import OrchestratorSettings

SERVICE = "privacy-orchestrator"
# byggrygg_privacy_orchestrator_mails_sent{kind}, ..._mail_send_failures{error}, ..._mail_backlog
MAIL_METRICS = MailMetrics.register("privacy_orchestrator")


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
    relay: RelayWorker
    keyring_pool: asyncpg.Pool
    subprocessors: SubProcessorContext
    subscriptions: Subscriptions | None = None

    async def check_database(self) -> None:
        # The chain head row exists only in a migrated database.
        async with self.pool.acquire() as conn:
            await self.deps.records.head(conn)

    async def check_consumers(self) -> None:
        if self.subscriptions is None:
            raise ConnectionError("the Kafka consumers are not running")
        await self.subscriptions.check()

    def subscriptions_for(self, **broker_options: Any) -> Subscriptions:
        """The orchestrator's subscribers on the configured topic and group (not started)."""
        return Subscriptions(
            bootstrap=self.settings.kafka_bootstrap,
            client_id=SERVICE,
            topic_prefix=self.settings.kafka_topic_prefix,
            register=register_consumers(
                self.deps,
                replies_topic=self.settings.privacy_orchestrator_replies_topic,
                group_id=self.settings.privacy_orchestrator_consumer_group,
                triggers_from=trigger_settings(self.settings),
                batching=reply_batching(self.settings),
            ),
            **broker_options,
        )


async def build_runtime(
    settings: OrchestratorSettings,
    *,
    clock: Clock = utc_now,
    ids: IdSource | None = None,
    verifier: TokenVerifier | None = None,
    participants: tuple[str, ...] | None = None,
    delivery_policy: DeliveryPolicy | None = None,
) -> Runtime:
    """Load the key, open the pool and build everything the API needs; register HeiHallo
    if it is not yet registered (R12)."""
    signer = load_signer(settings)
    pool = await create_pool(
        settings.privacy_orchestrator_database_url,
        max_size=settings.privacy_orchestrator_pool_size,
    )
    try:
        keyring_pool = await create_pool(settings.keyring_database_url)
        keyring = KeyRing(keyring_pool, load_master_key(settings.keyring_master_key_file))
    except BaseException:
        await pool.close()
        raise
    policy = delivery_policy or delivery_policy_of(settings)
    subprocessors = SubProcessorContext(
        pool=pool,
        client=WebhookClient(
            httpx.AsyncClient(timeout=policy.timeout.total_seconds()), clock=clock
        ),
        policy=policy,
        clock=clock,
    )
    await seed_heihallo(
        subprocessors,
        endpoint_url=settings.subprocessor_sim_url.rstrip("/") + "/privacy-requests",
        signing_secret_file=settings.subprocessor_sim_orchestrator_secret_file,
        callback_secret_file=settings.subprocessor_sim_secret_file,
    )
    return Runtime(
        settings=settings,
        pool=pool,
        deps=Dependencies(
            pool=pool,
            signer=signer,
            clock=clock,
            ids=ids or RandomIds(),
            participants=participants,
            keyring=keyring,
            subprocessors=subprocessors,
            callback_base_url=settings.privacy_orchestrator_public_url.rstrip("/"),
            export_ttl=timedelta(hours=settings.privacy_orchestrator_export_ttl_hours),
        ),
        keyring_pool=keyring_pool,
        subprocessors=subprocessors,
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
    )


def trigger_settings(settings: OrchestratorSettings) -> TriggerSettings:
    """Where identity's and consent's events come from, and how long a contract end's export
    offer runs."""
    return TriggerSettings(
        user_topic=settings.privacy_orchestrator_user_topic,
        organisation_topic=settings.privacy_orchestrator_organisation_topic,
        complaint_topic=settings.privacy_orchestrator_complaint_topic,
        export_offer_days=settings.privacy_orchestrator_contract_export_offer_days,
    )


def reply_batching(settings: OrchestratorSettings) -> ReplyBatching:
    """How the replies consumer reads and records its batches, from the settings."""
    return ReplyBatching(
        max_records=settings.privacy_orchestrator_replies_batch_size,
        policy=BatchPolicy(concurrency=settings.privacy_orchestrator_replies_concurrency),
    )


def delivery_policy_of(settings: OrchestratorSettings) -> DeliveryPolicy:
    """The retry and escalation rules of sub-processor requests, from the settings."""
    return DeliveryPolicy(
        max_attempts=settings.privacy_orchestrator_subprocessor_max_attempts,
        first_backoff=timedelta(seconds=settings.privacy_orchestrator_subprocessor_backoff_seconds),
        max_backoff=timedelta(
            seconds=settings.privacy_orchestrator_subprocessor_max_backoff_seconds
        ),
        delivery_deadline=timedelta(
            hours=settings.privacy_orchestrator_subprocessor_deadline_hours
        ),
        confirmation_deadline=timedelta(
            hours=settings.privacy_orchestrator_subprocessor_confirmation_hours
        ),
        resend_unconfirmed_after=timedelta(
            seconds=settings.privacy_orchestrator_subprocessor_resend_seconds
        ),
    )


async def close_runtime(runtime: Runtime) -> None:
    await runtime.subprocessors.client.aclose()
    await runtime.verifier.aclose()
    await runtime.pool.close()
    await runtime.keyring_pool.close()


def install(app: FastAPI, runtime: Runtime) -> None:
    """Make `runtime` the app's dependencies, token verifier and readiness checks."""
    app.state.deps = runtime.deps
    app.state.subprocessors = runtime.subprocessors
    app.state.readiness = {
        "database": runtime.check_database,
        "kafka": runtime.relay.check,
        "consumers": runtime.check_consumers,
    }
    install_token_verifier(app, runtime.verifier)


async def _run_subscriptions(runtime: Runtime, stop: asyncio.Event) -> None:
    runtime.subscriptions = runtime.subscriptions_for()
    await runtime.subscriptions.run(stop)


def background_workers(runtime: Runtime) -> dict[str, Worker]:
    """Every task a served orchestrator runs beside its API, by name."""
    return {
        "outbox-relay": runtime.relay.run,
        "subscriptions": lambda stop: _run_subscriptions(runtime, stop),
        "subprocessor-deliveries": DeliveryWorker(
            runtime.subprocessors,
            poll_interval=runtime.settings.privacy_orchestrator_subprocessor_poll_seconds,
            concurrency=runtime.settings.privacy_orchestrator_subprocessor_concurrency,
        ).run,
        "export-expiry": ExportExpiryWorker(
            runtime.deps, poll_interval=runtime.settings.privacy_orchestrator_export_purge_seconds
        ).run,
        "mail-sender": mail_sender(runtime).run,
        "participant-timeouts": ParticipantTimeoutWorker(
            runtime.deps,
            reply_within=timedelta(
                hours=runtime.settings.privacy_orchestrator_participant_timeout_hours
            ),
            max_resends=runtime.settings.privacy_orchestrator_participant_max_resends,
            poll_interval=runtime.settings.privacy_orchestrator_participant_check_seconds,
        ).run,
        "record-checkpoints": CheckpointPublisher(
            runtime.deps, poll_interval=runtime.settings.privacy_orchestrator_checkpoint_seconds
        ).run,
        "proof-retention": ProofRetentionWorker(
            runtime.deps,
            keep_for=runtime.settings.request_proof_retention,
            poll_interval=runtime.settings.privacy_orchestrator_proof_purge_seconds,
        ).run,
        "retention-scheduler": RetentionScheduler(
            runtime.deps,
            batch_size=runtime.settings.privacy_orchestrator_retention_batch_size,
            concurrency=runtime.settings.privacy_orchestrator_retention_concurrency,
            poll_interval=runtime.settings.privacy_orchestrator_retention_poll_seconds,
            reminder=timedelta(
                days=runtime.settings.privacy_orchestrator_contract_export_reminder_days
            ),
        ).run,
    }


def mail_sender(runtime: Runtime) -> MailSender:
    """The sender of the mail outbox (kept-data notices, R10) to the platform's SMTP server."""
    settings = runtime.settings
    return MailSender(
        pool=runtime.pool,
        transport=SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            timeout=settings.smtp_timeout_seconds,
        ),
        sender_address=settings.privacy_orchestrator_mail_from,
        clock=runtime.deps.clock,
        metrics=MAIL_METRICS,
        poll_interval=settings.privacy_orchestrator_mail_poll_seconds,
    )


def service_lifespan(settings: OrchestratorSettings) -> Lifespan:
    """The lifespan of a served orchestrator: runtime, background workers, clean shutdown."""
    return served_lifespan(
        service=SERVICE,
        build=lambda: build_runtime(settings),
        install=install,
        workers=background_workers,
        close=close_runtime,
        shutdown_timeout=15.0,
    )


def create_service_app(settings: OrchestratorSettings) -> FastAPI:
    """The app `privacy-orchestrator serve` runs."""
    return create_app(lifespan=service_lifespan(settings))
