"""The request workflow on real PostgreSQL and Kafka: intake per role (R17, R18), fan-out of
routed commands through the outbox and of a signed request to HeiHallo (R13), replies consumed
from Kafka, a signed confirmation through the real callback route, completion (only once both
are in) with a record that verifies (R19); cross-tenant 404s; bad input refused with nothing
written; list filters applied before the limit."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.contracts.privacy import Evidence, ParticipantReplied
from byggrygg_shared.envelope import EventMetadata, KafkaRecord, kafka_record
from byggrygg_shared.eventstore import metadata_document
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.webhooks import WebhookSigner, generate_secret
from privacy_orchestrator.adapters.tables import METADATA
from privacy_orchestrator.bootstrap import Runtime
from privacy_orchestrator.domain.export import verify_export
from privacy_orchestrator.domain.records import RequestKind
from privacy_orchestrator.domain.request import months_after
from privacy_orchestrator.domain.subprocessors import HEIHALLO_ORGANISATION_NUMBER
from privacy_orchestrator.service_layer import requests
from privacy_orchestrator.service_layer.records import export_records

from ....service_testing import assert_problem, table_snapshot
from .support import eventually, on_topics, own_topics, person, produce, rows

PARTICIPANTS = ("identity", "courses", "consent")


Headers = Callable[[Principal], dict[str, str]]


async def commands_of(pool: asyncpg.Pool, request_id: str) -> list[asyncpg.Record]:
    return await rows(
        pool,
        "SELECT event_type, payload, metadata FROM events WHERE payload->>'request_id' = $1"
        " AND stream_id LIKE 'privacy-commands-%' ORDER BY global_position",
        request_id,
    )


def reply_record(
    topic: str,
    request_id: UUID,
    subject_ref: str,
    participant: str,
    evidence: list[Evidence],
    *,
    command: str = "erase",
    export: str | None = None,
) -> KafkaRecord:
    """The record a participant's outbox relay publishes for its reply (same shared code)."""
    kept = any(item.action == "kept" for item in evidence)
    reply = ParticipantReplied(
        request_id=request_id,
        participant=participant,  # type: ignore[arg-type]
        command=command,  # type: ignore[arg-type]
        subject_ref=subject_ref,
        outcome="partially_completed" if kept else "completed",
        evidence=evidence,
        export=export,
        replied_at=datetime.now(UTC),
    )
    return kafka_record(
        topic=topic,
        stream_id=f"privacy-reply-{request_id}",
        ce_type=reply.ce_type(),
        payload=reply.model_dump(mode="json"),
        metadata=metadata_document(reply, EventMetadata.new(subject_ref=subject_ref)),
        source_service=participant,
    )


@pytest.fixture
async def heihallo_secret(runtime: Runtime, tmp_path: Path) -> str:
    """HeiHallo's callback secret file points at a fresh secret of the test's."""
    secret = generate_secret()
    path = tmp_path / "callback.whsec"
    path.write_text(secret + "\n", encoding="utf-8")
    async with runtime.pool.acquire() as conn:
        await conn.execute(
            "UPDATE subprocessors SET callback_secret_file = $1 WHERE organisation_number = $2",
            str(path),
            HEIHALLO_ORGANISATION_NUMBER,
        )
    return secret


async def confirm_as_heihallo(
    http: httpx.AsyncClient, secret: str, request: dict[str, Any], *, outcome: str = "erased"
) -> httpx.Response:
    """HeiHallo's signed callback for ``request`` through the real callback route."""
    [heihallo] = request["sub_processors"]
    action = request["kind"]
    body = json.dumps(
        {
            "type": f"privacy.{action}.completed",
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {
                "request_id": request["request_id"],
                "subject_ref": request["subject_ref"],
                "action": action,
                "outcome": outcome,
                "counts": {"records": 1, "fields": 3},
                "completed_at": datetime.now(UTC).isoformat(),
            },
        }
    ).encode()
    signer = WebhookSigner([secret])
    return await http.post(
        f"/subprocessors/{heihallo['subprocessor_id']}/callbacks",
        content=body,
        headers=signer.headers(body, webhook_id=signer.new_id()),
    )


@pytest.mark.parametrize("kept", [False, True], ids=["all-erased", "consent-keeps-some"])
async def test_a_self_service_erasure_fans_out_and_completes_with_a_verified_record(
    http: httpx.AsyncClient,
    runtime: Runtime,
    headers: Headers,
    kafka_bootstrap: str,
    new_topic: Any,
    kept: bool,
    heihallo_secret: str,
) -> None:
    learner = person(Role.LEARNER)
    filed = await http.post("/requests", json={"kind": "erasure"}, headers=headers(learner))
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert request["subject_ref"] == learner.subject_ref
    assert request["state"] == "in_progress"
    assert request["requested_by_role"] == "data_subject"
    assert set(request["participants"]) == set(PARTICIPANTS)
    assert request["overdue"] is False
    # HeiHallo received the subject's data (R12): a signed request is queued to it (R13).
    [heihallo] = request["sub_processors"]
    assert (heihallo["organisation_number"], heihallo["state"]) == ("992797010", "pending")
    assert heihallo["action"] == "erasure"

    # One routed command per participant, in the outbox, on that participant's topic.
    commands = await commands_of(runtime.pool, request["request_id"])
    assert {c["metadata"]["topic"] for c in commands} == {
        f"privacy.commands.{p}.v1" for p in PARTICIPANTS
    }
    for command in commands:
        assert command["event_type"] == "no.byggrygg.privacy.EraseSubject"
        assert command["metadata"]["topic"].split(".")[2] == command["payload"]["participant"]
        assert command["payload"]["subject_ref"] == learner.subject_ref
        assert command["metadata"]["source_service"] == "privacy-orchestrator"

    # The participants reply on Kafka (a topic of this test's own).
    topics = await own_topics(new_topic)
    topic = topics.replies
    runtime.settings = on_topics(runtime.settings, topics, kafka_bootstrap, "po-test")
    request_id = UUID(request["request_id"])
    held = Evidence(
        location="column consents.text", action="kept", count=2, basis="open_complaint (hold x)"
    )
    replies = [
        reply_record(
            topic,
            request_id,
            learner.subject_ref,
            participant,
            [Evidence(location=f"column {participant}_rows.subject_ref", action="erased", count=1)]
            + ([held] if kept and participant == "consent" else []),
        )
        for participant in PARTICIPANTS
    ]
    outcome = "partially_completed" if kept else "completed"
    staff = headers(person(Role.PLATFORM_STAFF))
    async with runtime.subscriptions_for(backoff=Backoff(initial=0.01, maximum=0.05)).running():
        await produce(kafka_bootstrap, [*replies, replies[0]])  # one redelivered

        async def replied() -> bool:
            answer = await http.get(f"/requests/{request_id}", headers=headers(learner))
            return all(p["replied"] for p in answer.json()["participants"].values())

        await eventually(replied, "every participant's reply")
    # Every participant has replied; HeiHallo has not confirmed: not complete (R13).
    waiting = (await http.get(f"/requests/{request_id}", headers=headers(learner))).json()
    assert waiting["state"] == "in_progress"
    assert waiting["completed_at"] is None
    confirmed = await confirm_as_heihallo(http, heihallo_secret, request)
    assert confirmed.status_code == 204, confirmed.text

    final = (await http.get(f"/requests/{request_id}", headers=staff)).json()
    assert all(p["replied"] for p in final["participants"].values())
    assert final["participants"]["consent"]["outcome"] == outcome
    async with runtime.pool.acquire() as conn:
        record = await runtime.deps.records.for_request(conn, request_id)
    assert record is not None
    document = record.entry()["record"]
    assert document["outcome"] == outcome
    expected_kept = [
        {
            "participant": "consent",
            "location": "column consents.text",
            "basis": "open_complaint (hold x)",
            "keep_until": None,
        }
    ]
    assert document["kept"] == (expected_kept if kept else [])
    assert document["requested_by"]["role"] == "data_subject"
    assert sorted(p["participant"] for p in document["participants"]) == sorted(PARTICIPANTS)
    [reported] = document["sub_processors"]
    assert reported["organisation_number"] == "992797010"
    assert reported["outcome"] == "completed"
    assert reported["evidence"] == [
        {"location": "sub-processor records", "action": "erased", "count": 1,
         "basis": None, "keep_until": None}
    ]  # fmt: skip
    assert final["sub_processors"][0]["state"] == "confirmed"
    assert learner.subject_ref not in record.canonical
    # The subject's key is shredded only when nothing was kept anywhere.
    (shredded,) = await rows(
        runtime.keyring_pool,
        "SELECT count(*) AS n FROM keyring_subjects"
        " WHERE subject_ref = $1 AND shredded_at IS NOT NULL",
        learner.subject_ref,
    )
    assert shredded["n"] == (0 if kept else 1)
    exported = await export_records(runtime.deps)
    assert verify_export(exported, runtime.deps.signer.public_key).count == 1


async def test_a_forwarded_request_waits_for_the_contact_person_of_its_organisation(
    http: httpx.AsyncClient, runtime: Runtime, headers: Headers
) -> None:
    organisation, other = uuid4(), uuid4()
    contact = person(Role.CONTACT_PERSON, organisation_id=organisation)
    employee = person(Role.LEARNER, organisation_id=organisation)
    forwarded = await http.post(
        "/requests",
        json={"kind": "access", "subject_ref": employee.subject_ref},
        headers=headers(contact),
    )
    assert forwarded.status_code == 201, forwarded.text
    request = forwarded.json()
    assert request["state"] == "awaiting_controller"
    assert request["organisation_id"] == str(organisation)
    assert await commands_of(runtime.pool, request["request_id"]) == []

    # Another organisation's contact person: the request does not exist for them.
    stranger = person(Role.CONTACT_PERSON, organisation_id=other)
    path = f"/requests/{request['request_id']}"
    assert_problem(await http.get(path, headers=headers(stranger)), 404)
    assert_problem(await http.post(f"{path}/approve", headers=headers(stranger)), 404)
    assert_problem(await http.get(path, headers=headers(person(Role.LEARNER))), 404)
    # The employee (its subject) may read it; a learner may not approve anything.
    assert (await http.get(path, headers=headers(employee))).status_code == 200
    assert_problem(await http.post(f"{path}/approve", headers=headers(employee)), 403)

    approver = person(Role.CONTACT_PERSON, organisation_id=organisation)
    approved = await http.post(f"{path}/approve", headers=headers(approver))
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "in_progress"
    commands = await commands_of(runtime.pool, request["request_id"])
    assert [c["event_type"] for c in commands] == ["no.byggrygg.privacy.ExportSubject"] * 3
    assert {c["metadata"]["tenant_id"] for c in commands} == {str(organisation)}
    # Decided once only.
    assert_problem(
        await http.post(f"{path}/reject", json={"reason": "excessive"}, headers=headers(approver)),
        409,
    )


async def test_a_contact_person_rejects_with_a_reason_and_nothing_is_sent(
    http: httpx.AsyncClient, runtime: Runtime, headers: Headers
) -> None:
    organisation = uuid4()
    contact = person(Role.CONTACT_PERSON, organisation_id=organisation)
    filed = await http.post(
        "/requests",
        json={"kind": "erasure", "subject_ref": "subj_" + uuid4().hex},
        headers=headers(contact),
    )
    path = f"/requests/{filed.json()['request_id']}"
    assert_problem(
        await http.post(f"{path}/reject", json={"reason": "because"}, headers=headers(contact)),
        422,
    )
    rejected = await http.post(
        f"{path}/reject", json={"reason": "not_an_employee"}, headers=headers(contact)
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected"
    assert rejected.json()["reason"] == "not_an_employee"
    assert await commands_of(runtime.pool, filed.json()["request_id"]) == []


@pytest.mark.parametrize(
    ("role", "body", "status"),
    [
        (Role.LEARNER, {"kind": "erasure", "subject_ref": "subj_" + "b" * 32}, 403),
        (Role.ORG_ADMIN, {"kind": "access", "subject_ref": "subj_" + "b" * 32}, 403),
        (Role.LEARNER, {"kind": "forget-me"}, 422),
        (Role.LEARNER, {"kind": "erasure", "subject_ref": "someone@example.com"}, 422),
        (Role.LEARNER, {"kind": "erasure", "extra": 1}, 422),
        (Role.LEARNER, {"kind": "rectification"}, 422),
        (Role.LEARNER, {"kind": "erasure", "corrections": {"name": "Kari"}}, 422),
        (Role.LEARNER, {"kind": "rectification", "corrections": {}}, 422),
        (Role.LEARNER, {"kind": "rectification", "corrections": {"name": "  "}}, 422),
        (Role.LEARNER, {"kind": "rectification", "corrections": {"name": "Ka\u0000ri"}}, 422),
        (Role.LEARNER, {"kind": "rectification", "corrections": {"email": "not-an-address"}}, 422),
        (Role.LEARNER, {"kind": "rectification", "corrections": {"phone": "12"}}, 422),
        (Role.LEARNER, {"kind": "rectification", "corrections": {"gender": "x"}}, 422),
        (Role.LEARNER, {"kind": "rectification", "corrections": {"language": "de"}}, 422),
        (Role.LEARNER, {"kind": "rectification", "corrections": {"phone": None}}, 422),
        (Role.LEARNER, {"kind": "rectification", "corrections": {"address": "x"}}, 422),
        (Role.PLATFORM_STAFF, {"kind": "erasure"}, 422),
        # Only staff name the organisation; anyone else's is refused, not silently ignored.
        (Role.LEARNER, {"kind": "erasure", "organisation_id": str(uuid4())}, 403),
        (Role.CONTACT_PERSON, {"kind": "access", "organisation_id": str(uuid4())}, 403),
    ],
)
async def test_bad_requests_are_refused_and_nothing_is_written(
    http: httpx.AsyncClient,
    runtime: Runtime,
    headers: Headers,
    role: Role,
    body: dict[str, Any],
    status: int,
) -> None:
    before = await table_snapshot(runtime.pool, METADATA.tables.values())
    caller = person(role, organisation_id=uuid4())
    assert_problem(await http.post("/requests", json=body, headers=headers(caller)), status)
    assert_problem(await http.post("/requests", json={"kind": "erasure"}), 401)
    assert await table_snapshot(runtime.pool, METADATA.tables.values()) == before


async def test_staff_file_for_a_subject_list_by_state_and_see_what_is_overdue(
    http: httpx.AsyncClient, runtime: Runtime, headers: Headers
) -> None:
    staff = person(Role.PLATFORM_STAFF)
    subject = "subj_" + uuid4().hex
    filed = await http.post(
        "/requests", json={"kind": "access", "subject_ref": subject}, headers=headers(staff)
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["requested_by_role"] == "platform_staff"
    # A request received two months ago and still open is overdue.
    past = datetime.now(UTC) - timedelta(days=62)
    old_deps = dataclasses.replace(runtime.deps, clock=lambda: past)
    old = await requests.file_request(old_deps, person(Role.LEARNER), kind=RequestKind.ERASURE)

    listed = await http.get("/requests", params={"state": "in_progress"}, headers=headers(staff))
    assert listed.status_code == 200, listed.text
    by_id = {r["request_id"]: r for r in listed.json()}
    assert set(by_id) == {filed.json()["request_id"], str(old.request_id)}
    assert by_id[str(old.request_id)]["overdue"] is True
    overdue = await http.get("/requests", params={"overdue": "true"}, headers=headers(staff))
    assert [r["request_id"] for r in overdue.json()] == [str(old.request_id)]
    # The filter applies before the limit: the oldest (overdue) request does not use it up.
    on_time = await http.get(
        "/requests", params={"overdue": "false", "limit": 1}, headers=headers(staff)
    )
    assert [r["request_id"] for r in on_time.json()] == [filed.json()["request_id"]]
    late = await http.get(
        "/requests", params={"overdue": "true", "limit": 1}, headers=headers(staff)
    )
    assert [r["request_id"] for r in late.json()] == [str(old.request_id)]
    none_escalated = await http.get(
        "/requests", params={"escalated": "true"}, headers=headers(staff)
    )
    assert none_escalated.json() == []
    # One subject's requests only; a malformed subject ref is refused.
    mine = await http.get("/requests", params={"subject_ref": subject}, headers=headers(staff))
    assert [r["request_id"] for r in mine.json()] == [filed.json()["request_id"]]
    assert_problem(
        await http.get("/requests", params={"subject_ref": "kari@example.no"},
                       headers=headers(staff)),
        422,
    )  # fmt: skip

    # Staff extend the overdue one by two months (art. 12(3)): once, with a reason code.
    path = f"/requests/{old.request_id}/extend-deadline"
    body = {"months": 2, "reason": "complexity"}
    assert_problem(await http.post(path, json=body, headers=headers(person(Role.LEARNER))), 403)
    assert_problem(await http.post(path, json={"months": 3, "reason": "complexity"},
                                   headers=headers(staff)), 422)  # fmt: skip
    assert_problem(await http.post(path, json={"months": 1, "reason": "busy"},
                                   headers=headers(staff)), 422)  # fmt: skip
    extended = await http.post(path, json=body, headers=headers(staff))
    assert extended.status_code == 200, extended.text
    answer = extended.json()
    assert answer["deadline"] == (months_after(old.deadline, 2).isoformat())
    assert answer["deadline_extension"]["reason"] == "complexity"
    assert answer["deadline_extension"]["months"] == 2
    assert_problem(await http.post(path, json=body, headers=headers(staff)), 409)
    assert_problem(
        await http.post(f"/requests/{uuid4()}/extend-deadline", json=body, headers=headers(staff)),
        404,
    )
    assert_problem(await http.get("/requests", headers=headers(person(Role.LEARNER))), 403)
    assert_problem(
        await http.get("/requests", params={"state": "lost"}, headers=headers(staff)), 422
    )


async def test_a_legal_hold_travels_with_the_erasure_until_released(
    http: httpx.AsyncClient, runtime: Runtime, headers: Headers
) -> None:
    staff = headers(person(Role.PLATFORM_STAFF))
    learner = person(Role.LEARNER)
    added = await http.post(
        "/holds",
        json={
            "subject_ref": learner.subject_ref,
            "basis": "open_complaint",
            "categories": ["content"],
        },
        headers=staff,
    )
    assert added.status_code == 201, added.text
    hold_id = added.json()["hold_id"]
    filed = await http.post("/requests", json={"kind": "erasure"}, headers=headers(learner))
    commands = await commands_of(runtime.pool, filed.json()["request_id"])
    assert {tuple(h["hold_id"] for h in c["payload"]["holds"]) for c in commands} == {(hold_id,)}

    assert (await http.delete(f"/holds/{hold_id}", headers=staff)).status_code == 204
    assert_problem(await http.delete(f"/holds/{hold_id}", headers=staff), 404)
    again = await http.post("/requests", json={"kind": "erasure"}, headers=headers(learner))
    commands = await commands_of(runtime.pool, again.json()["request_id"])
    assert all(c["payload"]["holds"] == [] for c in commands)
    assert_problem(
        await http.post("/holds", json={"subject_ref": learner.subject_ref}, headers=staff), 422
    )
