"""Retention of correspondence (R9): identity's ContractEnded (consumed from real Kafka) dates
every item, and the purge the privacy orchestrator runs deletes what expired unless held."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer

from byggrygg_shared.envelope import kafka_record
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.subscriptions import Subscriptions
from consent.domain.correspondence import add_years
from consent.entrypoints.consumers import register_consumers
from consent.service_layer.correspondence_erasure import (
    list_expired_correspondence,
    purge_expired_correspondence,
)
from consent.service_layer.customers import CONTRACT_ENDED_CONSUMER, handle_contract_ended

from .correspondence_support import Env, email_body, phone_body


def contract_ended_record(
    topic: str, organisation_id: uuid.UUID, ended_on: date, *, event_id: str, dispute: bool
) -> Any:
    retention = [{"reason": "bookkeeping", "keep_until": "2031-06-30"}]
    if dispute:
        retention.append({"reason": "legal_dispute", "keep_until": None})
    return kafka_record(
        topic=topic,
        stream_id=f"organisation-{organisation_id}",
        ce_type="no.byggrygg.identity.ContractEnded.v1",
        payload={
            "organisation_id": str(organisation_id),
            "ended_on": ended_on.isoformat(),
            "retention": retention,
            "ended_by": "staff-1",
        },
        metadata={
            "event_id": event_id,
            "occurred_at": datetime.now(UTC).isoformat(),
            "correlation_id": "test",
            "tenant_id": str(organisation_id),
        },
        source_service="identity",
    )


async def produce(bootstrap: str, records: list[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(
                record.topic, value=record.value, key=record.key, headers=record.headers
            )
    finally:
        await producer.stop()


async def eventually_true(check: Any, *, what: str, deadline: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not await check():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_contract_ended_from_kafka_dates_the_correspondence_once(
    consent_env: Env, kafka_bootstrap: str, new_topic: Any
) -> None:
    env = consent_env
    org = uuid.uuid4()
    logged = await env.http.post("/correspondence/email", json=email_body(org), headers=env.staff)
    item_id = logged.json()["correspondence_id"]
    topic = await new_topic("identity-organisation")
    await new_topic(f"{topic}.dlq")
    event_id = str(uuid.uuid4())
    # The contract ends after the item was logged: kept one year from the end.
    ended_on = env.clock.now.date() + timedelta(days=30)
    record = contract_ended_record(topic, org, ended_on, event_id=event_id, dispute=False)

    subscriptions = Subscriptions(
        bootstrap=kafka_bootstrap,
        client_id="consent-test",
        register=register_consumers(
            env.runtime, organisation_topic=topic, group_id=f"consent-{uuid.uuid4().hex[:8]}"
        ),
        backoff=Backoff(initial=0.01, multiplier=2, maximum=0.05),
    )
    async with subscriptions.running():
        # The same event twice (at-least-once delivery): applied once.
        await produce(kafka_bootstrap, [record, record])

        async def dated() -> bool:
            item = await env.http.get(f"/correspondence/{item_id}", headers=env.staff)
            return bool(item.json()["retain_until"])

        await eventually_true(dated, what="the item to get its retention date")

        async def both_seen() -> bool:
            committed = await env.runtime.pool.fetchval(
                "SELECT count(*) FROM inbox WHERE consumer = $1", CONTRACT_ENDED_CONSUMER
            )
            return bool(committed == 1)

        await eventually_true(both_seen, what="the inbox row")

    item = (await env.http.get(f"/correspondence/{item_id}", headers=env.staff)).json()
    assert item["contract_ended_on"] == ended_on.isoformat()
    assert item["retain_until"] == add_years(ended_on, 1).isoformat()
    # Applying the same event id again changes nothing.
    assert not await handle_contract_ended(
        deps=env.runtime.deps,
        event_id=event_id,
        organisation_id=org,
        ended_on=date(2030, 1, 1),
        legal_dispute=True,
    )
    again = (await env.http.get(f"/correspondence/{item_id}", headers=env.staff)).json()
    assert again["retain_until"] == add_years(ended_on, 1).isoformat()
    # An item logged later (still before the end) gets the same date.
    late = await env.http.post("/correspondence/phone", json=phone_body(org), headers=env.staff)
    late_item = (
        await env.http.get(f"/correspondence/{late.json()['correspondence_id']}", headers=env.staff)
    ).json()
    assert late_item["retain_until"] == add_years(ended_on, 1).isoformat()


async def test_purge_deletes_expired_items_unless_held(consent_env: Env) -> None:
    env = consent_env
    deps = env.runtime.deps
    ended, disputed, customer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    free = (
        await env.http.post("/correspondence/email", json=email_body(ended), headers=env.staff)
    ).json()
    complained = (
        await env.http.post("/correspondence/phone", json=phone_body(ended), headers=env.staff)
    ).json()
    in_dispute = (
        await env.http.post("/correspondence/email", json=email_body(disputed), headers=env.staff)
    ).json()
    active = (
        await env.http.post("/correspondence/email", json=email_body(customer), headers=env.staff)
    ).json()
    opened = await env.http.post(
        "/complaints",
        json={
            "kind": "complaint",
            "subject_ref": complained["subject_ref"],
            "summary": "Klage.",
            "concerns": ["correspondence"],
        },
        headers=env.staff,
    )
    assert opened.status_code == 201
    for org, dispute in ((ended, False), (disputed, True)):
        assert await handle_contract_ended(
            deps=deps,
            event_id=str(uuid.uuid4()),
            organisation_id=org,
            ended_on=date(2020, 1, 31),
            legal_dispute=dispute,
        )
    # Logged "today", after the contract ended: kept a year from the logging day.
    today = env.clock.now.date()
    assert await list_expired_correspondence(deps=deps, today=today) == []
    later = add_years(today, 2)
    expired = await list_expired_correspondence(deps=deps, today=later)
    reasons = {str(item.correspondence_id): item.kept_reason for item in expired}
    assert reasons == {
        free["correspondence_id"]: None,
        complained["correspondence_id"]: "open_complaint",
        in_dispute["correspondence_id"]: "legal_claim",
    }

    report = await purge_expired_correspondence(deps=deps, today=later)

    assert [str(i) for i in report.erased] == [free["correspondence_id"]]
    assert {str(k.correspondence_id): k.reason.value for k in report.kept} == {
        complained["correspondence_id"]: "open_complaint",
        in_dispute["correspondence_id"]: "legal_claim",
    }
    gone = await env.http.get(f"/correspondence/{free['correspondence_id']}", headers=env.staff)
    assert gone.status_code == 404
    for kept in (complained, in_dispute, active):
        still = await env.http.get(
            f"/correspondence/{kept['correspondence_id']}", headers=env.staff
        )
        assert still.status_code == 200
    reason = await env.runtime.pool.fetchval(
        "SELECT payload->>'reason' FROM events "
        "WHERE event_type = 'no.byggrygg.consent.CorrespondenceErased'"
    )
    assert reason == "retention_expired"
    # Running it again deletes nothing more; the held items are reported again.
    again = await purge_expired_correspondence(deps=deps, today=later)
    assert again.erased == ()
    assert len(again.kept) == 2
