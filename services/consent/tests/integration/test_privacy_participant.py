"""consent as a participant of data-subject requests, on real PostgreSQL, Kafka and SMTP: a real
EraseSubject CloudEvent withdraws the subject's newsletter sign-up (fields cleared, key
shredded), deletes the correspondence and questions nothing holds, keeps what a legal claim or
an open complaint holds and says so with the basis (and the R10 notice ids), mails nobody
itself; a redelivery changes nothing; an export holds that subject's data only; a
rectification corrects the name where consent holds it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from byggrygg_shared.contracts.privacy import (
    EraseSubject,
    ExportSubject,
    ParticipantReplied,
    RectifySubject,
)
from byggrygg_shared.keyring import ERASED
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.subscriptions import Subscriptions
from consent.entrypoints.consumers import register_consumers
from consent.service_layer.customers import handle_contract_ended

from ....participant_testing import command_record, eventually, produce, received, replies
from .correspondence_support import Env, email_body, phone_body
from .support import snapshot
from .test_newsletter_api import KARI, Newsletter

ORG = uuid.uuid4()
DISPUTED_ORG = uuid.uuid4()


def erase(subject: str) -> EraseSubject:
    return EraseSubject(
        request_id=uuid.uuid4(),
        participant="consent",
        subject_ref=subject,
        organisation_id=None,
        issued_at=datetime.now(UTC),
        holds=[],
    )


async def subscriber(env: Env, publish_policy: Any, email: str = KARI) -> str:
    """A confirmed newsletter subscriber; their subject_ref."""
    current = await env.http.get("/policies/current")
    if current.status_code == 404:
        await publish_policy()
    newsletter = Newsletter(env.http, env.runtime, env.smtp)
    confirm, _ = await newsletter.subscribe(email)
    confirmed = await env.http.post(confirm)
    assert confirmed.status_code == 200, confirmed.text
    subject: str = await env.runtime.pool.fetchval(
        "SELECT subject_ref FROM newsletter_subscriptions WHERE email = $1", email
    )
    return subject


async def log(env: Env, path: str, body: dict[str, Any]) -> str:
    response = await env.http.post(path, json=body, headers=env.staff)
    assert response.status_code == 201, response.text
    return str(response.json().get("correspondence_id") or response.json()["complaint_id"])


def complaint(subject: str, kind: str, concerns: list[str]) -> dict[str, Any]:
    return {
        "kind": kind,
        "subject_ref": subject,
        "organisation_id": str(ORG),
        "summary": f"Kari Nordmann har en {kind}.",
        "concerns": concerns,
    }


def by_action(reply: ParticipantReplied) -> dict[tuple[str, str], Any]:
    return {(item.location, item.action): item for item in reply.evidence}


async def test_an_erase_command_on_kafka_erases_what_nothing_holds_and_says_what_is_kept(
    consent_env: Env, publish_policy: Any, kafka_bootstrap: str, new_topic: Any
) -> None:
    env = consent_env
    runtime = env.runtime
    topic = await new_topic("privacy-commands-consent")
    await new_topic(f"{topic}.dlq")
    organisation_topic = await new_topic("identity-organisation")
    subject = await subscriber(env, publish_policy)
    other = await subscriber(env, publish_policy, "ola@example.no")
    requested = await runtime.pool.fetchval(
        "SELECT payload->>'name' FROM events "
        "WHERE event_type = 'no.byggrygg.consent.NewsletterSubscriptionRequested' "
        "AND payload->>'subject_ref' = $1",
        subject,
    )
    assert await runtime.keyring.decrypt(subject, requested) == "Kari Nordmann"
    free = await log(env, "/correspondence/email", email_body(ORG, subject_ref=subject))
    disputed = await log(
        env, "/correspondence/email", email_body(DISPUTED_ORG, subject_ref=subject)
    )
    others = await log(env, "/correspondence/phone", phone_body(ORG, subject_ref=other))
    await handle_contract_ended(
        deps=runtime.deps,
        event_id=str(uuid.uuid4()),
        organisation_id=DISPUTED_ORG,
        ended_on=env.clock().date(),
        legal_dispute=True,
    )
    question = await log(env, "/complaints", complaint(subject, "question", []))
    open_complaint = await log(env, "/complaints", complaint(subject, "complaint", ["newsletter"]))
    await env.send_mail()
    mails_before = len(env.smtp.messages)

    command = erase(subject)
    record = command_record(command, topic=topic)
    await produce(kafka_bootstrap, record)
    subscriptions = Subscriptions(
        bootstrap=kafka_bootstrap,
        client_id="consent-test",
        register=register_consumers(
            runtime,
            organisation_topic=organisation_topic,
            group_id=f"consent-test-{uuid.uuid4().hex[:8]}",
            privacy_command_topic=topic,
        ),
        backoff=Backoff(initial=0.01, maximum=0.05),
    )
    async with subscriptions.running():

        async def replied() -> bool:
            return len(await replies(runtime.pool, command.request_id)) == 1

        await eventually(replied, what="consent's reply")

        # Newsletter: withdrawn like a withdrawal, fields cleared, off the list, key shredded.
        row = await runtime.pool.fetchrow(
            "SELECT status, name, email, role FROM newsletter_subscriptions WHERE subject_ref = $1",
            subject,
        )
        assert dict(row) == {"status": "withdrawn", "name": None, "email": None, "role": None}
        recipients = await env.http.get("/newsletter/recipients", headers=env.staff)
        assert [r["email"] for r in recipients.json()] == ["ola@example.no"]
        assert await runtime.keyring.decrypt(subject, requested) is ERASED
        # Correspondence: the free item is gone, the disputed one kept and readable.
        assert (await env.http.get(f"/correspondence/{free}", headers=env.staff)).status_code == 404
        kept = await env.http.get(f"/correspondence/{disputed}", headers=env.staff)
        assert kept.json()["email_address"] == "kari.nordmann@example.no"
        assert (await env.http.get(f"/correspondence/{others}", headers=env.staff)).json()[
            "person_name"
        ] == "Kari Nordmann"
        # Complaints: the question is gone, the open complaint kept.
        assert (await env.http.get(f"/complaints/{question}", headers=env.staff)).status_code == 404
        still = await env.http.get(f"/complaints/{open_complaint}", headers=env.staff)
        assert still.json()["summary"] == "Kari Nordmann har en complaint."

        (reply,) = await replies(runtime.pool, command.request_id)
        assert reply.participant == "consent"
        assert reply.command == "erase"
        assert reply.outcome == "partially_completed"
        assert reply.export is None
        found = by_action(reply)
        assert found[("column newsletter_subscriptions.email", "erased")].count == 1
        assert (
            found[
                (
                    "event field no.byggrygg.consent.NewsletterSubscriptionRequested.email",
                    "crypto_shredded",
                )
            ].count
            == 1
        )
        assert found[("column correspondence_items.email_address", "erased")].count == 1
        held = found[("column correspondence_items.email_address", "kept")]
        assert held.count == 1
        assert held.basis is not None
        assert held.basis.startswith("legal_claim")
        assert found[("column complaints.summary", "crypto_shredded")].count == 1
        kept_complaint = found[("column complaints.summary", "kept")]
        assert kept_complaint.count == 1
        assert kept_complaint.basis is not None
        assert kept_complaint.basis.startswith("open_complaint")
        text = reply.model_dump_json()
        for personal in ("Kari", "Nordmann", KARI, "kari.nordmann@example.no", "daglig leder"):
            assert personal not in text
        # This path mails nobody: the orchestrator tells the person.
        await env.send_mail()
        assert len(env.smtp.messages) == mails_before

        # A redelivery changes nothing (no second reply either).
        before = await snapshot(runtime.pool)
        await produce(kafka_bootstrap, record)
        second = command_record(erase(subject), topic=topic)  # a marker behind it
        await produce(kafka_bootstrap, second)
        marker_id = uuid.UUID(json.loads(second.value)["request_id"])

        async def marker_done() -> bool:
            return len(await replies(runtime.pool, marker_id)) == 1

        await eventually(marker_done, what="the command behind the redelivery")
        assert len(await replies(runtime.pool, command.request_id)) == 1
        after = await snapshot(runtime.pool)
        ignored = {"events", "inbox"}
        assert {k: v for k, v in after.items() if k not in ignored} == {
            k: v for k, v in before.items() if k not in ignored
        }


async def test_kept_correspondence_names_the_r10_notice_and_no_new_mail_is_sent(
    consent_env: Env,
) -> None:
    env = consent_env
    runtime = env.runtime
    first = await env.http.post("/correspondence/email", json=email_body(ORG), headers=env.staff)
    subject = first.json()["subject_ref"]
    await log(env, "/complaints", complaint(subject, "complaint", ["correspondence"]))
    request = await env.http.post(
        "/correspondence/deletion-requests",
        json={"subject_ref": subject, "notify_address": "kari.privat@example.no"},
        headers=env.staff,
    )
    assert request.status_code == 201, request.text
    [notice] = request.json()["notices"]
    assert await env.send_mail() == 1

    reply = await runtime.participant.handle(received(erase(subject)))

    assert reply is not None
    assert reply.outcome == "partially_completed"
    held = by_action(reply)[("column correspondence_items.email_address", "kept")]
    assert held.basis is not None
    assert held.basis.startswith("open_complaint")
    assert notice["notice_id"] in held.basis
    item = await env.http.get(
        f"/correspondence/{first.json()['correspondence_id']}", headers=env.staff
    )
    assert item.status_code == 200
    assert await env.send_mail() == 0
    assert len(env.smtp.messages) == 1
    assert "kari.privat@example.no" not in reply.model_dump_json()


async def test_an_export_holds_that_subject_s_data_only(
    consent_env: Env, publish_policy: Any
) -> None:
    env = consent_env
    runtime = env.runtime
    subject = await subscriber(env, publish_policy)
    other = await subscriber(env, publish_policy, "ola@example.no")
    await log(env, "/correspondence/email", email_body(ORG, subject_ref=subject))
    await log(
        env,
        "/correspondence/phone",
        phone_body(ORG, subject_ref=other, person_name="Ola Hansen", phone_number="+47 400 00 000"),
    )
    await log(env, "/complaints", complaint(subject, "question", []))
    command = ExportSubject(
        request_id=uuid.uuid4(),
        participant="consent",
        subject_ref=subject,
        organisation_id=None,
        issued_at=datetime.now(UTC),
    )

    reply = await runtime.participant.handle(received(command))

    assert reply is not None
    assert reply.outcome == "completed"
    assert reply.export is not None
    exported = await runtime.keyring.decrypt(subject, reply.export)
    assert isinstance(exported, str)
    document = json.loads(exported)
    (subscription,) = document["newsletter_subscriptions"]
    assert subscription["email"] == KARI
    assert subscription["name"] == "Kari Nordmann"
    assert subscription["status"] == "confirmed"
    assert subscription["policy_version"] == "2025-1"
    (item,) = document["correspondence"]
    assert item["email_address"] == "kari.nordmann@example.no"
    assert item["messages"][0]["text"] == "Hei!\nKan dere sende meg kursbeviset?"
    (question,) = document["complaints"]
    assert question["summary"] == "Kari Nordmann har en question."
    for foreign in ("ola@example.no", "Ola Hansen", "+47 400 00 000", other):
        assert foreign not in exported
    assert {
        "location": "column newsletter_subscriptions.email",
        "action": "exported",
        "count": 1,
    } in [item.model_dump(exclude={"basis", "keep_until"}) for item in reply.evidence]
    assert "Kari" not in reply.model_dump_json(exclude={"export"})


async def test_a_rectification_corrects_the_name_where_consent_holds_it(
    consent_env: Env, publish_policy: Any
) -> None:
    env = consent_env
    runtime = env.runtime
    subject = await subscriber(env, publish_policy)
    phone = await log(env, "/correspondence/phone", phone_body(ORG, subject_ref=subject))
    command = RectifySubject(
        request_id=uuid.uuid4(),
        participant="consent",
        subject_ref=subject,
        organisation_id=None,
        issued_at=datetime.now(UTC),
        corrections={
            "name": await runtime.keyring.encrypt(subject, "Kari Rettet"),
            "phone": await runtime.keyring.encrypt(subject, "+47 999 99 999"),
        },
    )

    reply = await runtime.participant.handle(received(command))

    assert reply is not None
    assert reply.outcome == "completed"
    assert sorted((item.location, item.action, item.count) for item in reply.evidence) == [
        ("column correspondence_items.person_name", "rectified", 1),
        ("column newsletter_subscriptions.name", "rectified", 1),
    ]
    recipients = await env.http.get("/newsletter/recipients", headers=env.staff)
    assert [r["name"] for r in recipients.json()] == ["Kari Rettet"]
    item = await env.http.get(f"/correspondence/{phone}", headers=env.staff)
    assert item.json()["person_name"] == "Kari Rettet"
