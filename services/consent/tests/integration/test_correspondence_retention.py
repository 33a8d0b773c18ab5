"""Retention of correspondence (R9): identity's ContractEnded (consumed from real Kafka) dates
every item, and the purge the privacy orchestrator runs deletes what expired unless held."""

from __future__ import annotations

import asyncio
import json
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


def organisation_record(
    topic: str, organisation_id: uuid.UUID, event: str, payload: dict[str, Any], *, event_id: str
) -> Any:
    """Identity's record of an organisation event (``event``: its type's name)."""
    return kafka_record(
        topic=topic,
        stream_id=f"organisation-{organisation_id}",
        ce_type=f"no.byggrygg.identity.{event}.v1",
        payload={"organisation_id": str(organisation_id), **payload},
        metadata={
            "event_id": event_id,
            "occurred_at": datetime.now(UTC).isoformat(),
            "correlation_id": "test",
            "tenant_id": str(organisation_id),
        },
        source_service="identity",
    )


def contract_ended_record(
    topic: str, organisation_id: uuid.UUID, ended_on: date, *, event_id: str, dispute: bool
) -> Any:
    retention: list[dict[str, Any]] = [{"reason": "bookkeeping", "keep_until": "2031-06-30"}]
    if dispute:
        retention.append({"reason": "legal_dispute", "keep_until": None})
    payload = {"ended_on": ended_on.isoformat(), "retention": retention, "ended_by": "staff-1"}
    return organisation_record(topic, organisation_id, "ContractEnded", payload, event_id=event_id)


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


def claim_settled_record(
    topic: str, organisation_id: uuid.UUID, reason: str, *, event_id: str
) -> Any:
    payload = {"reason": reason, "settled_on": "2026-12-01", "settled_by": "staff-1"}
    return organisation_record(
        topic, organisation_id, "RetentionClaimSettled", payload, event_id=event_id
    )


async def test_a_settled_legal_dispute_releases_the_correspondence_it_kept(
    consent_env: Env, kafka_bootstrap: str, new_topic: Any
) -> None:
    """R2, R9, R10: a dispute open at contract end keeps the organisation's correspondence, a
    person's deletion request included; identity settling it (from Kafka, delivered twice)
    ends the hold once: the pending request deletes the items and consent publishes one
    ``LegalClaimResolved`` for the orchestrator. Settling a debt releases nothing here."""
    env = consent_env
    org, other_org = uuid.uuid4(), uuid.uuid4()
    logged = await env.http.post("/correspondence/email", json=email_body(org), headers=env.staff)
    person, item_id = logged.json()["subject_ref"], logged.json()["correspondence_id"]
    other = await env.http.post(
        "/correspondence/email", json=email_body(other_org), headers=env.staff
    )
    other_item = other.json()["correspondence_id"]
    topic = await new_topic("identity-organisation")
    await new_topic(f"{topic}.dlq")
    ended_on = date(2020, 1, 31)
    ends = [
        contract_ended_record(topic, o, ended_on, event_id=str(uuid.uuid4()), dispute=True)
        for o in (org, other_org)
    ]
    debt = claim_settled_record(topic, org, "outstanding_debt", event_id=str(uuid.uuid4()))
    settled = claim_settled_record(topic, org, "legal_dispute", event_id=str(uuid.uuid4()))

    async def resolved_events() -> list[Any]:
        return list(
            await env.runtime.pool.fetch(
                "SELECT payload::text AS payload, metadata::text AS metadata FROM events"
                " WHERE event_type = $1",
                "no.byggrygg.consent.LegalClaimResolved",
            )
        )

    subscriptions = Subscriptions(
        bootstrap=kafka_bootstrap,
        client_id="consent-test",
        register=register_consumers(
            env.runtime, organisation_topic=topic, group_id=f"consent-{uuid.uuid4().hex[:8]}"
        ),
        backoff=Backoff(initial=0.01, multiplier=2, maximum=0.05),
    )
    async with subscriptions.running():
        await produce(kafka_bootstrap, [*ends, debt])

        async def ended() -> bool:
            count = await env.runtime.pool.fetchval(
                "SELECT count(*) FROM consent_customers WHERE legal_dispute"
            )
            return bool(count == 2)

        await eventually_true(ended, what="both contract ends with their dispute")
        requested = await env.http.post(
            "/correspondence/deletion-requests",
            json={"subject_ref": person, "notify_address": "kari.privat@example.no"},
            headers=env.staff,
        )
        assert requested.status_code == 201, requested.text
        assert requested.json()["status"] == "pending"  # kept for the dispute
        assert await resolved_events() == []  # the debt settled: the dispute still holds

        await produce(kafka_bootstrap, [settled, settled])

        async def released() -> bool:
            return len(await resolved_events()) == 1

        await eventually_true(released, what="the dispute's hold to be released")
        request_id = requested.json()["request_id"]

        async def completed() -> bool:
            view = await env.http.get(
                f"/correspondence/deletion-requests/{request_id}", headers=env.staff
            )
            return bool(view.json()["status"] == "completed")

        await eventually_true(completed, what="the pending deletion request to complete")

        # Both copies of the settlement are in the inbox before the subscribers stop.
        async def both_claimed() -> bool:
            count = await env.runtime.pool.fetchval(
                "SELECT count(*) FROM inbox WHERE consumer = 'consent.legal-claim'"
            )
            return bool(count == 1)

        await eventually_true(both_claimed, what="the settlement's inbox row")

    [event] = await resolved_events()
    assert json.loads(event["payload"]) == {
        "organisation_id": str(org),
        "settled_on": "2026-12-01",
    }
    assert json.loads(event["metadata"])["topic"] == "consent.complaint.v1"
    gone = await env.http.get(f"/correspondence/{item_id}", headers=env.staff)
    assert gone.status_code == 404
    kept = await env.http.get(f"/correspondence/{other_item}", headers=env.staff)
    assert kept.status_code == 200  # the other customer's dispute still holds
    disputes = await env.runtime.pool.fetch(
        "SELECT organisation_id FROM consent_customers WHERE legal_dispute"
    )
    assert [row["organisation_id"] for row in disputes] == [other_org]
