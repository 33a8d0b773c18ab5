"""Consent's events reach Kafka through the outbox relay, as CloudEvents whose personal fields
are key-ring ciphertext (real PostgreSQL, real Kafka)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from byggrygg_shared.contracts.consent import NEWSLETTER_TOPIC, POLICY_TOPIC
from byggrygg_shared.envelope import ReceivedEvent, from_kafka_record
from byggrygg_shared.keyring import is_token
from byggrygg_shared.outbox import OutboxRelay, make_idempotent_producer
from consent.bootstrap import Runtime

from .support import DEADLINE_SECONDS, MailSink

TOPIC_ALREADY_EXISTS = 36


async def ensure_topics(bootstrap: str, *names: str) -> None:
    """The deployment creates consent's topics (deploy/topics.toml); do it here if it did not."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        missing = [n for n in names if n not in await admin.list_topics()]
        if missing:
            response = await admin.create_topics([NewTopic(n, 3, 1) for n in missing])
            for _, code, *_ in response.topic_errors:
                assert code in (0, TOPIC_ALREADY_EXISTS), code
    finally:
        await admin.close()


async def _read_until(
    bootstrap: str, topic: str, keys: set[bytes], count: int
) -> list[ReceivedEvent]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[ReceivedEvent] = []
    try:
        end = time.monotonic() + DEADLINE_SECONDS
        while len(found) < count:
            assert time.monotonic() < end, f"only {len(found)} of {count} events on {topic}"
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.key in keys:
                        found.append(from_kafka_record(record.headers, record.value))
    finally:
        await consumer.stop()
    return found


async def test_events_reach_kafka_as_cloudevents_with_ciphertext(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    kafka_bootstrap: str,
) -> None:
    await ensure_topics(kafka_bootstrap, POLICY_TOPIC, NEWSLETTER_TOPIC)
    label = "t" + uuid.uuid4().hex[:12]
    await publish_policy(label)
    wording = (await http.get("/newsletter/wording")).json()
    response = await http.post(
        "/newsletter/subscriptions",
        json={
            "name": "Kari Nordmann",
            "email": "kari@example.no",
            "role": "daglig leder",
            "wording_sha256": wording["sha256"],
        },
    )
    assert response.status_code == 202
    subscription_id = await runtime.pool.fetchval(
        "SELECT subscription_id::text FROM newsletter_subscriptions"
    )

    producer = make_idempotent_producer(kafka_bootstrap, client_id="consent-test")
    await producer.start()
    try:
        relay = OutboxRelay(pool=runtime.pool, producer=producer, source_service="consent")
        assert await relay.publish_pending() == 2
    finally:
        await producer.stop()
    assert (
        await runtime.pool.fetchval("SELECT count(*) FROM events WHERE published_at IS NULL") == 0
    )

    [published], [requested] = await asyncio.gather(
        _read_until(kafka_bootstrap, POLICY_TOPIC, {f"policy-{label}".encode()}, 1),
        _read_until(
            kafka_bootstrap, NEWSLETTER_TOPIC, {f"newsletter-{subscription_id}".encode()}, 1
        ),
    )
    assert published.type == "no.byggrygg.consent.PolicyPublished.v1"
    assert published.source == "/services/consent"
    assert published.data["version"] == label
    assert requested.type == "no.byggrygg.consent.NewsletterSubscriptionRequested.v1"
    assert requested.subject == requested.data["subject_ref"]
    for field in ("name", "email", "role"):
        assert is_token(requested.data[field]), field
    assert "kari@example.no" not in str(requested.data)
