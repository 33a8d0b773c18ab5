"""The organisation's export at a contract end (art. 28(3)(g)) on real PostgreSQL, Kafka and
the key ring: the contact person asks during the offer, one approved access request per person
of the organisation is filed, the participants' replies arrive over Kafka, and the contact
person downloads ONE document with every person's export and nobody else's; another
organisation's contact person sees nothing (404); after the offer ended it is gone (410)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.keyring import KeyRing
from byggrygg_shared.outbox import make_idempotent_producer
from privacy_orchestrator.bootstrap import Runtime
from privacy_orchestrator.service_layer import organisation_exports, triggers
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.errors import OrganisationExportRequested

from ....service_testing import MovableClock, assert_problem
from .support import FAST_BACKOFF, Headers, eventually, on_topics, own_topics, person
from .test_exports import as_record, courses_part, identity_part, reply_for
from .test_triggers import contract_ended, granted
from .test_triggers import received as identity_received

PARTICIPANTS = ("identity", "courses", "consent")
OFFER_DAYS = 30


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def deps(runtime: Runtime, app: FastAPI, clock: MovableClock) -> Dependencies:
    """The runtime's dependencies on a movable clock, the three participants, no
    sub-processors."""
    deps = dataclasses.replace(
        runtime.deps, clock=clock, participants=PARTICIPANTS, subprocessors=None
    )
    runtime.deps = app.state.deps = deps
    return deps


@pytest.fixture
def keyring(deps: Dependencies) -> KeyRing:
    assert isinstance(deps.keyring, KeyRing)
    return deps.keyring


@pytest.fixture
async def replies_topic(
    runtime: Runtime, deps: Dependencies, kafka_bootstrap: str, new_topic: Any
) -> AsyncIterator[str]:
    """The orchestrator's subscribers on topics of this test's own; yields the replies topic."""
    topics = await own_topics(new_topic)
    runtime.settings = on_topics(runtime.settings, topics, kafka_bootstrap, "po-orgexport")
    async with runtime.subscriptions_for(backoff=FAST_BACKOFF).running():
        yield topics.replies


async def organisation_with_contract_end(deps: Dependencies, size: int) -> tuple[UUID, list[str]]:
    """An organisation with `size` users in the directory whose contract just ended (the
    export offer is open for OFFER_DAYS)."""
    organisation = uuid4()
    members = sorted("subj_" + uuid4().hex for _ in range(size))
    for member in members:
        event = granted(member, organisation)
        assert await triggers.list_subject(deps, event, identity_received(event))
    ended = contract_ended(organisation, deps.clock().date())
    assert await triggers.record_contract_end(
        deps, ended, identity_received(ended), offer_days=OFFER_DAYS
    )
    return organisation, members


async def export_requests(pool: asyncpg.Pool, organisation: UUID) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return list(
            await conn.fetch(
                "SELECT r.request_id, r.subject_ref, r.kind, r.state, r.requested_by_role,"
                " r.organisation_id FROM organisation_export_requests l"
                " JOIN requests r ON r.request_id = l.request_id"
                " WHERE l.organisation_id = $1 ORDER BY r.subject_ref",
                organisation,
            )
        )


async def test_the_contact_person_gets_one_file_of_every_person_of_the_organisation(
    http: httpx.AsyncClient,
    runtime: Runtime,
    deps: Dependencies,
    keyring: KeyRing,
    headers: Headers,
    clock: MovableClock,
    kafka_bootstrap: str,
    replies_topic: str,
) -> None:
    ending, members = await organisation_with_contract_end(deps, 3)
    other, others = await organisation_with_contract_end(deps, 2)
    contact = person(Role.CONTACT_PERSON, organisation_id=ending)
    stranger = person(Role.CONTACT_PERSON, organisation_id=other)
    learner = person(Role.LEARNER, organisation_id=ending)
    staff = person(Role.PLATFORM_STAFF)
    path = f"/organisations/{ending}/contract-end/export"

    # Nobody asked yet: nothing to follow.
    assert_problem(await http.get(path, headers=headers(contact)), 404)
    # Another organisation's contact person and a learner: no such thing.
    for outsider in (stranger, learner):
        assert_problem(await http.post(path, headers=headers(outsider)), 404)

    asked = await http.post(path, headers=headers(contact))
    assert asked.status_code == 202, asked.text
    assert asked.json()["requests_filed"] == 3
    assert asked.json()["filing_complete"] is True
    assert asked.json()["ready"] is False
    again = assert_problem(await http.post(path, headers=headers(contact)), 409)
    assert again["type"].endswith("organisation-export-requested")

    # One access request per person of the organisation, approved at once and sent out.
    filed = await export_requests(runtime.pool, ending)
    assert [row["subject_ref"] for row in filed] == members
    assert {
        (row["kind"], row["state"], row["requested_by_role"], row["organisation_id"])
        for row in filed
    } == {("access", "in_progress", "contact_person", ending)}
    assert await export_requests(runtime.pool, other) == []
    # The other organisation asks for its own export too: its people stay out of this one.
    theirs = await http.post(
        f"/organisations/{other}/contract-end/export", headers=headers(stranger)
    )
    assert theirs.status_code == 202, theirs.text
    assert theirs.json()["requests_filed"] == 2

    # Before every reply is in there is no file; outsiders see nothing; staff see progress
    # only (the data goes back to the controller).
    not_ready = assert_problem(await http.get(f"{path}/file", headers=headers(contact)), 409)
    assert not_ready["type"].endswith("organisation-export-not-ready")
    for outsider in (stranger, learner):
        assert_problem(await http.get(path, headers=headers(outsider)), 404)
        assert_problem(await http.get(f"{path}/file", headers=headers(outsider)), 404)
    assert (await http.get(path, headers=headers(staff))).json()["completed"] == 0
    assert_problem(await http.get(f"{path}/file", headers=headers(staff)), 404)

    producer = make_idempotent_producer(kafka_bootstrap)
    await producer.start()
    try:
        for row in filed:
            for participant in PARTICIPANTS:
                reply = await reply_for(keyring, row["request_id"], row["subject_ref"], participant)
                record = as_record(replies_topic, reply)
                await producer.send_and_wait(
                    record.topic, value=record.value, key=record.key, headers=record.headers
                )
    finally:
        await producer.stop()

    async def all_completed() -> bool:
        progress = (await http.get(path, headers=headers(contact))).json()
        return bool(progress["ready"])

    await eventually(all_completed, "every access request of the export to complete")
    progress = (await http.get(path, headers=headers(contact))).json()
    assert (progress["requests_filed"], progress["completed"]) == (3, 3)

    answer = await http.get(f"{path}/file", headers=headers(contact))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    document = answer.json()
    assert document["format"] == "byggrygg.organisation-export.v1"
    assert document["organisation_id"] == str(ending)
    assert document["unavailable"] == []
    by_subject = {part["subject_ref"]: part for part in document["persons"]}
    assert sorted(by_subject) == members
    for member in members:
        assert by_subject[member]["services"] == {
            "identity": identity_part(member),
            "courses": courses_part(member),
        }
        assert by_subject[member]["without_data"] == ["consent"]
    for outsider_ref in others:
        assert outsider_ref not in answer.text

    # The per-person exports stay sealed in storage, kept until the offer ends.
    async with runtime.pool.acquire() as conn:
        stored = await conn.fetch(
            "SELECT document, expires_at FROM access_exports WHERE request_id = ANY($1::uuid[])",
            [row["request_id"] for row in filed],
        )
        offer_until = await conn.fetchval(
            "SELECT offer_until FROM contract_ends WHERE organisation_id = $1", ending
        )
    assert len(stored) == 3
    assert all(row["document"].startswith("enc:v1:") for row in stored)
    assert {row["expires_at"] for row in stored} == {offer_until}
    assert "Nordmann" not in json.dumps([row["document"] for row in stored])
    # Each person may still download their own part (it is their data).
    own = filed[0]
    own_subject = Principal(
        user_id=str(uuid4()),
        subject_ref=own["subject_ref"],
        organisation_id=str(ending),
        roles=frozenset({Role.LEARNER}),
    )
    mine = await http.get(f"/requests/{own['request_id']}/export", headers=headers(own_subject))
    assert mine.status_code == 200, mine.text

    # The offer is over: the export is gone with it, and cannot be asked for again.
    clock.advance(timedelta(days=OFFER_DAYS, seconds=1))
    assert_problem(await http.get(path, headers=headers(contact)), 410)
    assert_problem(await http.get(f"{path}/file", headers=headers(contact)), 410)
    assert_problem(await http.post(path, headers=headers(contact)), 409)
    # Still nothing to see for the other organisation's contact person.
    assert_problem(await http.get(path, headers=headers(stranger)), 404)


async def test_requests_are_filed_in_batches_once_per_person(
    http: httpx.AsyncClient, runtime: Runtime, deps: Dependencies, headers: Headers
) -> None:
    organisation, members = await organisation_with_contract_end(deps, 5)
    staff = person(Role.PLATFORM_STAFF)
    progress = await organisation_exports.request_export(deps, staff, organisation, batch_size=2)
    assert (progress.requests_filed, progress.filing_complete) == (5, True)
    filed = await export_requests(runtime.pool, organisation)
    assert [row["subject_ref"] for row in filed] == members
    assert {row["requested_by_role"] for row in filed} == {"platform_staff"}
    assert {row["state"] for row in filed} == {"in_progress"}
    path = f"/organisations/{organisation}/contract-end/export"
    assert_problem(await http.post(path, headers=headers(staff)), 409)
    assert len(await export_requests(runtime.pool, organisation)) == 5


async def test_no_export_without_an_open_offer(
    http: httpx.AsyncClient, deps: Dependencies, headers: Headers
) -> None:
    organisation = uuid4()
    contact = person(Role.CONTACT_PERSON, organisation_id=organisation)
    path = f"/organisations/{organisation}/contract-end/export"
    # No contract end at all.
    assert_problem(await http.post(path, headers=headers(contact)), 404)

    declined, _ = await organisation_with_contract_end(deps, 1)
    contact = person(Role.CONTACT_PERSON, organisation_id=declined)
    path = f"/organisations/{declined}/contract-end"
    assert (await http.post(f"{path}/decline", headers=headers(contact))).status_code == 200
    closed = assert_problem(await http.post(f"{path}/export", headers=headers(contact)), 409)
    assert closed["type"].endswith("export-offer-closed")


async def test_two_requests_at_once_file_each_person_once(
    runtime: Runtime, deps: Dependencies
) -> None:
    organisation, members = await organisation_with_contract_end(deps, 6)
    contact = person(Role.CONTACT_PERSON, organisation_id=organisation)
    # The second either resumes the first's filing (taking turns batch by batch) or finds
    # it finished (409); either way every person has exactly one request.
    outcomes = await asyncio.gather(
        organisation_exports.request_export(deps, contact, organisation, batch_size=1),
        organisation_exports.request_export(deps, contact, organisation, batch_size=1),
        return_exceptions=True,
    )
    assert any(isinstance(o, organisation_exports.ExportProgress) for o in outcomes), outcomes
    for outcome in outcomes:
        assert isinstance(
            outcome,
            organisation_exports.ExportProgress | OrganisationExportRequested,
        ), outcome
    filed = await export_requests(runtime.pool, organisation)
    assert [row["subject_ref"] for row in filed] == members
    async with runtime.pool.acquire() as conn:
        counted = await conn.fetchval(
            "SELECT filed FROM organisation_exports WHERE organisation_id = $1", organisation
        )
    assert counted == 6
