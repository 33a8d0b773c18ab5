"""The requests' own proof has a clock (art. 5(1)(e), 5(2)), on real PostgreSQL: once a request
ended more than the retention ago, every link to its person goes (projection, history,
sub-processor delivery, published commands), its completion record stays and the chain still
verifies; an open request, a subject under a hold in force and a recently ended request keep
theirs; released holds go after the same time."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.contracts.privacy import Evidence, ParticipantReplied
from byggrygg_shared.envelope import from_kafka_record
from privacy_orchestrator.bootstrap import Runtime
from privacy_orchestrator.domain.export import verify_export
from privacy_orchestrator.service_layer import requests
from privacy_orchestrator.service_layer.proof_retention import ProofPurge, ProofRetentionWorker
from privacy_orchestrator.service_layer.records import export_records

from .support import person, value
from .test_requests import PARTICIPANTS, confirm_as_heihallo, heihallo_secret, reply_record  # noqa: F401

Headers = Callable[[Principal], dict[str, str]]
KEEP_FOR = timedelta(days=3 * 365)

# Where a request links to its person, by the request's id.
LINKS = {
    "requests": "SELECT count(*) FROM requests WHERE request_id = $1::uuid",
    "request_events": "SELECT count(*) FROM request_events WHERE stream_id = 'dsr-' || $1",
    "deliveries": "SELECT count(*) FROM subprocessor_deliveries WHERE request_id = $1::uuid",
    "confirmations": "SELECT count(*) FROM subprocessor_confirmations WHERE request_id = $1::uuid",
    "commands": "SELECT count(*) FROM events WHERE stream_id = 'privacy-commands-' || $1",
}


async def links_of(runtime: Runtime, request_id: str) -> dict[str, int]:
    return {name: await value(runtime.pool, sql, request_id) for name, sql in LINKS.items()}


async def completed_erasure(
    http: httpx.AsyncClient, runtime: Runtime, headers: Headers, secret: str
) -> dict[str, Any]:
    """A self-service erasure, answered by every participant and HeiHallo."""
    learner = person(Role.LEARNER)
    filed = await http.post("/requests", json={"kind": "erasure"}, headers=headers(learner))
    assert filed.status_code == 201, filed.text
    request: dict[str, Any] = filed.json()
    for participant in PARTICIPANTS:
        record = reply_record(
            "unused",
            UUID(request["request_id"]),
            learner.subject_ref,
            participant,
            [Evidence(location=f"column {participant}.x", action="erased", count=1)],
        )
        received = from_kafka_record(record.headers, record.value, key=record.key)
        reply = received.contract()
        assert isinstance(reply, ParticipantReplied)
        assert await requests.record_reply(runtime.deps, reply, received)
    assert (await confirm_as_heihallo(http, secret, request)).status_code == 204
    return request


async def rejected_request(
    http: httpx.AsyncClient, headers: Headers, subject_ref: str | None = None
) -> dict[str, Any]:
    """An employee's request forwarded by its contact person, who rejects it."""
    contact = person(Role.CONTACT_PERSON, organisation_id=uuid4())
    filed = await http.post(
        "/requests",
        json={"kind": "erasure", "subject_ref": subject_ref or "subj_" + uuid4().hex},
        headers=headers(contact),
    )
    assert filed.status_code == 201, filed.text
    rejected = await http.post(
        f"/requests/{filed.json()['request_id']}/reject",
        json={"reason": "not_an_employee"},
        headers=headers(contact),
    )
    assert rejected.status_code == 200, rejected.text
    found: dict[str, Any] = rejected.json()
    return found


def worker_at(runtime: Runtime, moment: datetime) -> ProofRetentionWorker:
    deps = dataclasses.replace(runtime.deps, clock=lambda: moment)
    return ProofRetentionWorker(deps, keep_for=KEEP_FOR, batch_size=1)


async def test_an_ended_request_loses_its_links_after_the_retention_and_its_record_stays(
    http: httpx.AsyncClient,
    runtime: Runtime,
    headers: Headers,
    heihallo_secret: str,  # noqa: F811
) -> None:
    staff = headers(person(Role.PLATFORM_STAFF))
    completed = await completed_erasure(http, runtime, headers, heihallo_secret)
    rejected = await rejected_request(http, headers)
    open_one = (
        await http.post(
            "/requests", json={"kind": "erasure"}, headers=headers(person(Role.LEARNER))
        )
    ).json()
    held_subject = "subj_" + uuid4().hex
    hold = await http.post(
        "/holds",
        json={"subject_ref": held_subject, "basis": "legal_dispute", "categories": ["content"]},
        headers=staff,
    )
    assert hold.status_code == 201, hold.text
    held = await rejected_request(http, headers, held_subject)
    released_subject = "subj_" + uuid4().hex
    released = await http.post(
        "/holds",
        json={
            "subject_ref": released_subject,
            "basis": "open_complaint",
            "categories": ["content"],
        },
        headers=staff,
    )
    assert (
        await http.delete(f"/holds/{released.json()['hold_id']}", headers=staff)
    ).status_code == 204
    assert (await links_of(runtime, completed["request_id"]))["deliveries"] == 1

    # As the relay would have, long before: the commands are on Kafka.
    await runtime.pool.execute("UPDATE events SET published_at = now()")
    now = datetime.now(UTC)
    # Not yet: everything stays.
    assert await worker_at(runtime, now + KEEP_FOR - timedelta(days=1)).purge() == ProofPurge(0, 0)
    assert (
        await http.get(f"/requests/{completed['request_id']}", headers=staff)
    ).status_code == 200

    later = worker_at(runtime, now + KEEP_FOR + timedelta(days=1))
    assert await later.purge() == ProofPurge(requests=2, holds=1)  # batches of one: several
    for ended in (completed, rejected):
        assert await links_of(runtime, ended["request_id"]) == dict.fromkeys(LINKS, 0)
        gone = await http.get(f"/requests/{ended['request_id']}", headers=staff)
        assert gone.status_code == 404, gone.text
    for kept in (open_one, held):
        assert (await links_of(runtime, kept["request_id"]))["requests"] == 1
        assert (await http.get(f"/requests/{kept['request_id']}", headers=staff)).status_code == 200
    assert (
        await value(
            runtime.pool,
            "SELECT count(*) FROM legal_holds WHERE subject_ref = $1",
            released_subject,
        )
        == 0
    )
    assert (
        await value(
            runtime.pool, "SELECT count(*) FROM legal_holds WHERE subject_ref = $1", held_subject
        )
        == 1
    )

    # The completion record outlives the links, and the chain still verifies.
    async with runtime.pool.acquire() as conn:
        record = await runtime.deps.records.for_request(conn, UUID(completed["request_id"]))
    assert record is not None
    exported = await export_records(runtime.deps)
    assert verify_export(exported, runtime.deps.signer.public_key).count >= 1
    assert await later.purge() == ProofPurge(0, 0)
