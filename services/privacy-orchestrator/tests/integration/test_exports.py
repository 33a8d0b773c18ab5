"""The access export (R14) on real PostgreSQL, Kafka and the key ring: the participants' parts
arrive with their replies, the completing transaction assembles one sealed file, only the
subject downloads it (JSON and an escaped page), it expires and is deleted, and a shredded key
leaves nothing readable."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.contracts.privacy import Evidence, ParticipantReplied
from byggrygg_shared.envelope import EventMetadata, KafkaRecord, ReceivedEvent, kafka_record
from byggrygg_shared.eventstore import metadata_document
from byggrygg_shared.keyring import ERASED, KeyRing
from byggrygg_shared.outbox import make_idempotent_producer
from privacy_orchestrator.bootstrap import Runtime, background_workers
from privacy_orchestrator.service_layer import exports, requests
from privacy_orchestrator.service_layer.context import Dependencies

from ....service_testing import MovableClock, assert_problem
from .support import FAST_BACKOFF, Headers, eventually, on_topics, own_topics

PARTICIPANTS = ("identity", "courses", "consent")
TTL = timedelta(hours=2)
DEADLINE_SECONDS = 60.0


def person(*roles: Role) -> Principal:
    return Principal(
        user_id=str(uuid4()),
        subject_ref="subj_" + uuid4().hex,
        organisation_id=None,
        roles=frozenset(roles or (Role.LEARNER,)),
    )


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def deps(runtime: Runtime, app: FastAPI, clock: MovableClock) -> Dependencies:
    """The runtime's dependencies with a movable clock, a short TTL, the three participants
    and no sub-processors (their parts are kept directly where a test needs one)."""
    deps = dataclasses.replace(
        runtime.deps,
        clock=clock,
        export_ttl=TTL,
        participants=PARTICIPANTS,
        subprocessors=None,
    )
    runtime.deps = deps
    app.state.deps = deps
    return deps


@pytest.fixture
def keyring(deps: Dependencies) -> KeyRing:
    assert isinstance(deps.keyring, KeyRing)
    return deps.keyring


def identity_part(subject_ref: str) -> dict[str, Any]:
    return {
        "service": "identity",
        "subject_ref": subject_ref,
        "user": {"name": "<script>alert('Kari')</script> Nordmann", "phone": "+47 400 00 000"},
        "listed_as": [],
    }


def courses_part(subject_ref: str) -> dict[str, Any]:
    return {"service": "courses", "subject_ref": subject_ref, "answers": [{"text": "æøå & <b>"}]}


async def reply_for(
    keyring: KeyRing, request_id: UUID, subject_ref: str, participant: str
) -> ParticipantReplied:
    """A participant's reply to ExportSubject: its part sealed under the subject's key as the
    shared participant seals it (consent holds nothing and sends no part)."""
    part = {"identity": identity_part, "courses": courses_part}.get(participant)
    token = (
        None
        if part is None
        else await keyring.encrypt(subject_ref, json.dumps(part(subject_ref), sort_keys=True))
    )
    return ParticipantReplied(
        request_id=request_id,
        participant=participant,  # type: ignore[arg-type]
        command="export",
        subject_ref=subject_ref,
        outcome="completed",
        evidence=[Evidence(location=f"column {participant}.x", action="exported", count=1)],
        export=token,
        replied_at=datetime.now(UTC),
    )


def as_record(topic: str, reply: ParticipantReplied) -> KafkaRecord:
    return kafka_record(
        topic=topic,
        stream_id=f"privacy-reply-{reply.request_id}",
        ce_type=reply.ce_type(),
        payload=reply.model_dump(mode="json"),
        metadata=metadata_document(reply, EventMetadata.new(subject_ref=reply.subject_ref)),
        source_service=reply.participant,
    )


def received(reply: ParticipantReplied) -> ReceivedEvent:
    return ReceivedEvent(
        id=str(uuid4()),
        type=reply.ce_type(),
        source=reply.participant,
        subject=None,
        time=None,
        correlation_id=str(reply.request_id),
        causation_id=None,
        tenant_id=None,
        data=reply.model_dump(mode="json"),
    )


async def file_access(http: httpx.AsyncClient, headers: Headers, subject: Principal) -> UUID:
    filed = await http.post("/requests", json={"kind": "access"}, headers=headers(subject))
    assert filed.status_code == 201, filed.text
    assert filed.json()["state"] == "in_progress"
    return UUID(filed.json()["request_id"])


async def completed_access(
    http: httpx.AsyncClient, headers: Headers, deps: Dependencies, keyring: KeyRing
) -> tuple[Principal, UUID]:
    """A subject's access request, every participant's reply recorded (no Kafka)."""
    subject = person()
    request_id = await file_access(http, headers, subject)
    for participant in PARTICIPANTS:
        reply = await reply_for(keyring, request_id, subject.subject_ref, participant)
        assert await requests.record_reply(deps, reply, received(reply))
    return subject, request_id


async def stored_export(pool: asyncpg.Pool, request_id: UUID) -> asyncpg.Record | None:
    async with pool.acquire() as conn:
        row: asyncpg.Record | None = await conn.fetchrow(
            "SELECT * FROM access_exports WHERE request_id = $1", request_id
        )
        return row


async def part_count(pool: asyncpg.Pool, request_id: UUID) -> int:
    async with pool.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM export_parts WHERE request_id = $1", request_id
        )
        return count


@pytest.fixture
async def running_subscriptions(
    runtime: Runtime, deps: Dependencies, kafka_bootstrap: str, new_topic: Any
) -> AsyncIterator[str]:
    """The orchestrator's reply subscriber on a topic of this test's own; yields the topic."""
    topics = await own_topics(new_topic)
    runtime.settings = on_topics(runtime.settings, topics, kafka_bootstrap, "po-export")
    async with runtime.subscriptions_for(backoff=FAST_BACKOFF).running():
        yield topics.replies


async def test_parts_from_kafka_replies_become_one_file_only_the_subject_downloads(
    http: httpx.AsyncClient,
    runtime: Runtime,
    deps: Dependencies,
    keyring: KeyRing,
    headers: Headers,
    kafka_bootstrap: str,
    running_subscriptions: str,
) -> None:
    subject = person()
    request_id = await file_access(http, headers, subject)
    path = f"/requests/{request_id}/export"
    # Before every participant has answered there is no file yet.
    assert assert_problem(await http.get(path, headers=headers(subject)), 409)["type"].endswith(
        "export-not-ready"
    )
    assert (await http.get(f"/requests/{request_id}", headers=headers(subject))).json()[
        "export"
    ] is None

    replies = [
        await reply_for(keyring, request_id, subject.subject_ref, participant)
        for participant in PARTICIPANTS
    ]
    producer = make_idempotent_producer(kafka_bootstrap)
    await producer.start()
    try:
        for reply in [*replies, replies[0]]:  # identity's reply is delivered twice
            record = as_record(running_subscriptions, reply)
            await producer.send_and_wait(
                record.topic, value=record.value, key=record.key, headers=record.headers
            )
    finally:
        await producer.stop()

    async def assembled() -> bool:
        return await stored_export(runtime.pool, request_id) is not None

    await eventually(assembled, "the export to be assembled")

    answer = await http.get(path, headers=headers(subject))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="byggrygg-export-{request_id}.json"'
    )
    assert answer.headers["cache-control"] == "no-store"
    document = answer.json()
    assert document["request_id"] == str(request_id)
    assert document["subject_ref"] == subject.subject_ref
    assert document["services"] == {
        "identity": identity_part(subject.subject_ref),
        "courses": courses_part(subject.subject_ref),
    }
    assert document["sub_processors"] == {}
    assert document["without_data"] == ["consent"]
    assert document["unreadable"] == []
    generated = datetime.fromisoformat(document["generated_at"])
    assert datetime.fromisoformat(document["expires_at"]) == generated + TTL

    # Stored sealed under the subject's key, the parts gone.
    row = await stored_export(runtime.pool, request_id)
    assert row is not None
    assert row["document"].startswith("enc:v1:")
    assert "Nordmann" not in row["document"]
    assert await keyring.decrypt(subject.subject_ref, row["document"]) == answer.text
    assert await part_count(runtime.pool, request_id) == 0

    page = await http.get(f"{path}.html", headers=headers(subject))
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert "<script" not in page.text
    assert "&lt;script&gt;alert(&#x27;Kari&#x27;)&lt;/script&gt; Nordmann" in page.text
    assert "æøå &amp; &lt;b&gt;" in page.text

    # Anyone else: as if there were no export. Staff too: the export is the person's.
    for other in (person(), person(Role.PLATFORM_STAFF), person(Role.CONTACT_PERSON)):
        assert_problem(await http.get(path, headers=headers(other)), 404)
        assert_problem(await http.get(f"{path}.html", headers=headers(other)), 404)
    assert_problem(await http.get(path), 401)

    row = await stored_export(runtime.pool, request_id)
    assert row is not None
    assert row["download_count"] == 2
    assert row["last_downloaded_at"] is not None

    # The request itself says where the file is and until when (R14).
    request = await http.get(f"/requests/{request_id}", headers=headers(subject))
    assert request.status_code == 200, request.text
    assert request.json()["export"] == {
        "url": f"{deps.callback_base_url}{path}",
        "expires_at": document["expires_at"],
        "downloads": 2,
    }


async def test_an_expired_export_is_gone_and_the_worker_deletes_it(
    http: httpx.AsyncClient,
    runtime: Runtime,
    deps: Dependencies,
    keyring: KeyRing,
    headers: Headers,
    clock: MovableClock,
) -> None:
    subject, request_id = await completed_access(http, headers, deps, keyring)
    path = f"/requests/{request_id}/export"
    assert (await http.get(path, headers=headers(subject))).status_code == 200
    worker = exports.ExportExpiryWorker(deps)
    assert await worker.purge() == (0, 0)

    request = f"/requests/{request_id}"
    assert (await http.get(request, headers=headers(subject))).json()["export"]["downloads"] == 1

    clock.advance(TTL + timedelta(seconds=1))
    # Past its time it is gone, even before the worker ran.
    assert assert_problem(await http.get(path, headers=headers(subject)), 410)["type"].endswith(
        "export-gone"
    )
    assert (await http.get(request, headers=headers(subject))).json()["export"] is None
    assert await stored_export(runtime.pool, request_id) is not None
    assert await worker.purge() == (1, 0)
    assert await stored_export(runtime.pool, request_id) is None
    assert await worker.purge() == (0, 0)  # idempotent
    assert_problem(await http.get(path, headers=headers(subject)), 410)
    assert_problem(await http.get(f"{path}.html", headers=headers(subject)), 410)
    assert_problem(await http.get(path, headers=headers(person())), 404)


async def test_after_the_key_is_shredded_the_stored_file_does_not_decrypt(
    http: httpx.AsyncClient,
    runtime: Runtime,
    deps: Dependencies,
    keyring: KeyRing,
    headers: Headers,
) -> None:
    subject, request_id = await completed_access(http, headers, deps, keyring)
    row = await stored_export(runtime.pool, request_id)
    assert row is not None
    assert isinstance(await keyring.decrypt(subject.subject_ref, row["document"]), str)

    assert await keyring.shred(subject.subject_ref)
    assert await keyring.decrypt(subject.subject_ref, row["document"]) is ERASED
    path = f"/requests/{request_id}/export"
    assert_problem(await http.get(path, headers=headers(subject)), 410)
    assert await stored_export(runtime.pool, request_id) is None  # deleted at once


async def test_sub_processor_and_unreadable_parts_are_reported_and_parts_kept_once(
    http: httpx.AsyncClient,
    runtime: Runtime,
    deps: Dependencies,
    keyring: KeyRing,
    headers: Headers,
) -> None:
    subject = person()
    request_id = await file_access(http, headers, subject)
    sealed = await keyring.encrypt(subject.subject_ref, json.dumps({"messages": ["hei"]}))
    second = await keyring.encrypt(subject.subject_ref, json.dumps({"messages": ["other"]}))
    # Sealed for somebody else: cannot be read for this subject.
    foreign = await keyring.encrypt(person().subject_ref, json.dumps({"x": 1}))
    async with runtime.pool.acquire() as conn:
        for participant, token in (
            ("subprocessor:HeiHallo", sealed),
            ("subprocessor:HeiHallo", second),  # a redelivered callback keeps the first
            ("consent", foreign),
        ):
            await exports.keep_export_part(
                conn, deps, request_id=request_id, participant=participant, export_token=token
            )
    assert await part_count(runtime.pool, request_id) == 2

    for participant in PARTICIPANTS:
        reply = await reply_for(keyring, request_id, subject.subject_ref, participant)
        if participant == "consent":
            reply = reply.model_copy(update={"export": None})
        assert await requests.record_reply(deps, reply, received(reply))

    answer = await http.get(f"/requests/{request_id}/export", headers=headers(subject))
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["sub_processors"] == {"HeiHallo": {"messages": ["hei"]}}
    assert sorted(document["services"]) == ["courses", "identity"]
    assert document["unreadable"] == ["consent"]
    assert document["without_data"] == []
    assert await part_count(runtime.pool, request_id) == 0


async def test_parts_of_a_request_that_never_completes_expire_with_the_ttl(
    http: httpx.AsyncClient,
    runtime: Runtime,
    deps: Dependencies,
    keyring: KeyRing,
    headers: Headers,
    clock: MovableClock,
) -> None:
    subject = person()
    request_id = await file_access(http, headers, subject)
    reply = await reply_for(keyring, request_id, subject.subject_ref, "identity")
    assert await requests.record_reply(deps, reply, received(reply))
    assert await part_count(runtime.pool, request_id) == 1
    worker = exports.ExportExpiryWorker(deps)
    clock.advance(TTL - timedelta(seconds=1))
    assert await worker.purge() == (0, 0)
    clock.advance(timedelta(seconds=2))
    assert await worker.purge() == (0, 1)
    assert await part_count(runtime.pool, request_id) == 0


async def test_the_running_worker_deletes_what_expired_and_stops_when_told(
    http: httpx.AsyncClient,
    runtime: Runtime,
    deps: Dependencies,
    keyring: KeyRing,
    headers: Headers,
    clock: MovableClock,
) -> None:
    _, request_id = await completed_access(http, headers, deps, keyring)
    clock.advance(TTL)
    stop = asyncio.Event()
    task = asyncio.create_task(exports.ExportExpiryWorker(deps, poll_interval=0.01).run(stop))

    async def deleted() -> bool:
        return await stored_export(runtime.pool, request_id) is None

    try:
        await eventually(deleted, "the worker to delete the expired export")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=DEADLINE_SECONDS)


async def test_assembling_again_changes_nothing(
    http: httpx.AsyncClient,
    runtime: Runtime,
    deps: Dependencies,
    keyring: KeyRing,
    headers: Headers,
) -> None:
    _, request_id = await completed_access(http, headers, deps, keyring)
    before = await stored_export(runtime.pool, request_id)
    async with runtime.pool.acquire() as conn:
        request = await deps.requests.get(conn, request_id)
        assert request is not None
        await exports.assemble_export(conn, deps, request)
    assert await stored_export(runtime.pool, request_id) == before


def test_serve_runs_the_expiry_worker(runtime: Runtime) -> None:
    assert "export-expiry" in background_workers(runtime)
