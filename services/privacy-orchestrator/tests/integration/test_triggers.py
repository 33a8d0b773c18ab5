"""Automatic erasures on real PostgreSQL and Kafka (R2, R6, art. 28(3)(g)): identity's events on
topics of the test's own file erasures once (redeliveries too); a contract end offers the
controller an export, and when the offer is over (a moved clock) the retention scheduler files
an erasure for exactly that organisation's subjects; a crashed scheduler resumes without
filing anyone twice."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.contracts import correspondence, identity
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.privacy import Evidence, ParticipantReplied
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import EventMetadata, KafkaRecord, ReceivedEvent, kafka_record
from byggrygg_shared.eventstore import metadata_document
from byggrygg_shared.messaging import Backoff
from privacy_orchestrator.adapters import subject_directory
from privacy_orchestrator.adapters.request_store import request_stream
from privacy_orchestrator.bootstrap import Runtime
from privacy_orchestrator.domain.request import ReplyRecorded
from privacy_orchestrator.domain.triggers import complaint_hold_id
from privacy_orchestrator.service_layer import triggers
from privacy_orchestrator.service_layer.automatic import file_automatic_erasure
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.retention import RetentionScheduler

from ....service_testing import MovableClock, assert_problem
from .support import Headers, eventually, person, produce, rows, value

PARTICIPANTS = ("identity", "courses", "consent")


def subject() -> str:
    return "subj_" + uuid4().hex


def record(
    topic: str, event: IntegrationEvent, key: UUID, *, source: str = "identity"
) -> KafkaRecord:
    """The record the `source` service's outbox relay publishes for `event` (same shared
    code)."""
    subject_ref = getattr(event, "subject_ref", None)
    return kafka_record(
        topic=topic,
        stream_id=f"{source}-{key}",
        ce_type=event.ce_type(),
        payload=event.model_dump(mode="json"),
        metadata=metadata_document(event, EventMetadata.new(subject_ref=subject_ref)),
        source_service=source,
    )


def granted(subject_ref: str, organisation_id: UUID) -> identity.LicenceGranted:
    return identity.LicenceGranted(
        user_id=uuid4(),
        subject_ref=subject_ref,
        organisation_id=organisation_id,
        licence_id=uuid4(),
        granted_by=str(uuid4()),
    )


def revoked(subject_ref: str, organisation_id: UUID) -> identity.LicenceRevoked:
    return identity.LicenceRevoked(
        user_id=uuid4(),
        subject_ref=subject_ref,
        organisation_id=organisation_id,
        licence_id=uuid4(),
        revoked_by=str(uuid4()),
    )


def contract_ended(organisation_id: UUID, ended_on: date) -> identity.ContractEnded:
    return identity.ContractEnded(
        organisation_id=organisation_id,
        ended_on=ended_on,
        retention=[identity.RetentionClaim(reason="bookkeeping", keep_until=date(2031, 12, 31))],
        ended_by=str(uuid4()),
    )


def received(event: IntegrationEvent) -> ReceivedEvent:
    """`event` as the consumer hands it to the service layer (for tests without Kafka)."""
    return ReceivedEvent(
        id=str(uuid4()),
        type=event.ce_type(),
        source="/identity",
        subject=None,
        time=datetime.now(UTC),
        correlation_id=str(uuid4()),
        causation_id=None,
        tenant_id=None,
        data=event.model_dump(mode="json"),
    )


async def requests_of(pool: asyncpg.Pool, subject_ref: str) -> list[tuple[str, str | None]]:
    """The subject's requests, oldest first: (state, trigger) each."""
    found = await rows(
        pool,
        "SELECT state, trigger FROM requests WHERE subject_ref = $1 ORDER BY received_at",
        subject_ref,
    )
    return [(r["state"], r["trigger"]) for r in found]


async def erasures_of(pool: asyncpg.Pool, subject_refs: list[str]) -> dict[str, int]:
    found = await rows(
        pool,
        "SELECT subject_ref, count(*) AS n FROM requests"
        " WHERE kind = 'erasure' AND subject_ref = ANY($1::text[]) GROUP BY subject_ref",
        subject_refs,
    )
    return {row["subject_ref"]: row["n"] for row in found}


@dataclasses.dataclass
class Topics:
    user: str
    organisation: str
    complaint: str


@pytest.fixture
async def topics(runtime: Runtime, kafka_bootstrap: str, new_topic: Any) -> Topics:
    """Identity's topics and the replies topic of this test's own, in the runtime's settings."""
    names = {}
    for kind in ("identity-user", "identity-organisation", "consent-complaint", "privacy-replies"):
        names[kind] = await new_topic(kind)
        await new_topic(f"{names[kind]}.dlq")
    runtime.settings = runtime.settings.model_copy(
        update={
            "kafka_bootstrap": kafka_bootstrap,
            "privacy_orchestrator_user_topic": names["identity-user"],
            "privacy_orchestrator_organisation_topic": names["identity-organisation"],
            "privacy_orchestrator_complaint_topic": names["consent-complaint"],
            "privacy_orchestrator_replies_topic": names["privacy-replies"],
            "privacy_orchestrator_consumer_group": f"po-test-{uuid.uuid4().hex[:8]}",
        }
    )
    return Topics(
        user=names["identity-user"],
        organisation=names["identity-organisation"],
        complaint=names["consent-complaint"],
    )


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def moved(runtime: Runtime, clock: MovableClock, app: FastAPI) -> Iterator[Dependencies]:
    """The runtime's dependencies on a clock the test moves (the scheduler's and the API's)."""
    deps = dataclasses.replace(runtime.deps, clock=clock)
    original = runtime.deps
    runtime.deps = app.state.deps = deps
    try:
        yield deps
    finally:
        runtime.deps = app.state.deps = original


async def test_a_revoked_licence_files_one_approved_erasure_even_when_redelivered(
    runtime: Runtime,
    topics: Topics,
    kafka_bootstrap: str,
    http: httpx.AsyncClient,
    headers: Headers,
) -> None:
    organisation = uuid4()
    learner, leaver, sentinel = subject(), subject(), subject()
    licence_revoked = record(topics.user, revoked(learner, organisation), organisation)
    cancelled = record(
        topics.user,
        identity.SubscriptionCancelled(
            user_id=uuid4(), subject_ref=leaver, organisation_id=organisation
        ),
        organisation,
    )
    # The same event twice (a redelivery), and another revocation of the same subject while its
    # erasure is open; then a sentinel on the same partition: once it is applied, so is all else.
    again = record(topics.user, revoked(learner, organisation), organisation)
    last = record(topics.user, granted(sentinel, organisation), organisation)

    async with runtime.subscriptions_for(backoff=Backoff(initial=0.01, maximum=0.05)).running():
        await produce(kafka_bootstrap, [licence_revoked, licence_revoked, cancelled, again, last])

        async def sentinel_listed() -> bool:
            listed = await value(
                runtime.pool,
                "SELECT count(*) FROM organisation_subjects WHERE subject_ref = $1",
                sentinel,
            )
            return bool(listed == 1)

        await eventually(sentinel_listed, "the events to be applied")

    assert await erasures_of(runtime.pool, [learner, leaver, sentinel]) == {learner: 1, leaver: 1}
    filed = await rows(
        runtime.pool,
        "SELECT r.request_id, r.subject_ref, r.state, r.requested_by_role, r.requested_by,"
        " r.organisation_id, a.trigger FROM requests r"
        " JOIN automatic_erasures a ON a.request_id = r.request_id AND a.filed"
        " ORDER BY a.trigger",
    )
    assert [(row["trigger"], row["subject_ref"]) for row in filed] == [
        ("licence_revoked", learner),
        ("subscription_cancelled", leaver),
    ]
    for row in filed:
        # Approved at once and fanned out: one erase command per participant in the outbox.
        assert row["state"] == "in_progress"
        assert row["requested_by_role"] == "automatic"
        assert row["requested_by"] is None
        assert row["organisation_id"] == organisation
        commands = await rows(
            runtime.pool,
            "SELECT event_type, metadata->>'topic' AS topic FROM events"
            " WHERE payload->>'request_id' = $1"
            " AND metadata->>'topic' LIKE 'privacy.commands.%'",
            str(row["request_id"]),
        )
        assert sorted(c["topic"] for c in commands) == sorted(
            f"privacy.commands.{p}.v1" for p in PARTICIPANTS
        )
        assert {c["event_type"] for c in commands} == {"no.byggrygg.privacy.EraseSubject"}
    # The second revocation was recorded against the open erasure, not filed again.
    covered = await rows(
        runtime.pool, "SELECT trigger, request_id FROM automatic_erasures WHERE NOT filed"
    )
    assert [(c["trigger"], c["request_id"]) for c in covered] == [
        ("licence_revoked", filed[0]["request_id"])
    ]
    # The subject sees the request and who filed it: the trigger, by role.
    subject_of_it = Principal(
        user_id=str(uuid4()),
        subject_ref=learner,
        organisation_id=str(organisation),
        roles=frozenset({Role.LEARNER}),
    )
    view = await http.get(f"/requests/{filed[0]['request_id']}", headers=headers(subject_of_it))
    assert view.status_code == 200, view.text
    assert view.json()["requested_by_role"] == "automatic"
    assert view.json()["trigger"] == "licence_revoked"


async def test_a_contract_end_offers_an_export_then_erases_exactly_its_subjects(
    runtime: Runtime,
    topics: Topics,
    kafka_bootstrap: str,
    http: httpx.AsyncClient,
    headers: Headers,
    clock: MovableClock,
    moved: Dependencies,
) -> None:
    ending, other = uuid4(), uuid4()
    staying = [subject() for _ in range(3)]
    erased_before, revoked_before = subject(), subject()
    others = [subject() for _ in range(2)]
    events = [
        *(record(topics.user, granted(s, ending), ending) for s in staying),
        record(topics.user, granted(erased_before, ending), ending),
        record(topics.user, granted(revoked_before, ending), ending),
        *(record(topics.user, granted(s, other), other) for s in others),
        # Identity erased one user already; another's licence was revoked (erasure open).
        record(
            topics.user,
            identity.UserErased(
                user_id=uuid4(),
                subject_ref=erased_before,
                organisation_id=ending,
                request_id=uuid4(),
                kept_categories=[],
            ),
            ending,
        ),
        record(topics.user, revoked(revoked_before, ending), ending),
    ]
    ended_on = clock().date()
    contact = person(Role.CONTACT_PERSON, organisation_id=ending)
    path = f"/organisations/{ending}/contract-end"

    async with runtime.subscriptions_for(backoff=Backoff(initial=0.01, maximum=0.05)).running():
        await produce(kafka_bootstrap, events)
        await produce(
            kafka_bootstrap,
            [record(topics.organisation, contract_ended(ending, ended_on), ending)],
        )

        async def offered() -> bool:
            return (await http.get(path, headers=headers(contact))).status_code == 200

        async def user_events_applied() -> bool:
            return bool(
                await value(runtime.pool, "SELECT count(*) FROM automatic_erasures") == 1
                and await value(runtime.pool, "SELECT count(*) FROM organisation_subjects") == 6
            )

        await eventually(offered, "the contract end to be recorded")
        await eventually(user_events_applied, "the user events to be applied")

    # The export offer, as the contact person sees it (art. 28(3)(g)).
    offer = (await http.get(path, headers=headers(contact))).json()
    assert offer["state"] == "export_offered"
    assert offer["ended_on"] == ended_on.isoformat()
    assert offer["retention"] == [{"reason": "bookkeeping", "keep_until": "2031-12-31"}]
    offer_until = datetime.fromisoformat(offer["offer_until"])
    assert timedelta(days=30) <= offer_until - clock() <= timedelta(days=30, minutes=5)
    assert offer["erasures_filed"] == 0
    # Another organisation's contact person and the organisation's learners: no such thing.
    stranger = person(Role.CONTACT_PERSON, organisation_id=other)
    assert_problem(await http.get(path, headers=headers(stranger)), 404)
    learner = person(Role.LEARNER, organisation_id=ending)
    assert_problem(await http.get(path, headers=headers(learner)), 404)
    assert (await http.get(path, headers=headers(person(Role.PLATFORM_STAFF)))).status_code == 200

    # While the offer runs, the scheduler files nothing.
    scheduler = RetentionScheduler(moved, batch_size=2)
    assert await scheduler.run_due() == 0
    clock.advance(timedelta(days=29))
    assert await scheduler.run_due() == 0
    assert await erasures_of(runtime.pool, staying + others) == {}

    # The offer is over: an erasure for each remaining subject of that organisation only.
    clock.advance(timedelta(days=2))
    assert await scheduler.run_due() == 3
    assert await erasures_of(runtime.pool, [*staying, erased_before, revoked_before, *others]) == {
        **dict.fromkeys(staying, 1),
        revoked_before: 1,  # the licence's erasure, still open, covers the contract end too
    }
    filed = await rows(
        runtime.pool,
        "SELECT r.organisation_id, r.state, r.requested_by_role FROM requests r"
        " JOIN automatic_erasures a ON a.request_id = r.request_id"
        " WHERE a.trigger = 'contract_ended' AND a.filed",
    )
    assert len(filed) == 3
    assert {(f["organisation_id"], f["state"], f["requested_by_role"]) for f in filed} == {
        (ending, "in_progress", "automatic")
    }
    done = (await http.get(path, headers=headers(contact))).json()
    assert done["state"] == "erasure_filed"
    assert done["offer_outcome"] == "expired"
    assert done["erasures_filed"] == 3
    assert (
        await value(
            runtime.pool, "SELECT cursor FROM contract_ends WHERE organisation_id = $1", ending
        )
        is None
    )
    # Too late to decline; and another pass files nothing more.
    assert_problem(await http.post(f"{path}/decline", headers=headers(contact)), 409)
    assert await scheduler.run_due() == 0


async def test_the_contact_person_may_end_the_offer_early(
    runtime: Runtime, http: httpx.AsyncClient, headers: Headers, moved: Dependencies
) -> None:
    organisation = uuid4()
    members = [subject() for _ in range(2)]
    for member in members:
        event = granted(member, organisation)
        assert await triggers.list_subject(moved, event, received(event))
    ended = contract_ended(organisation, moved.clock().date())
    delivery = received(ended)
    assert await triggers.record_contract_end(moved, ended, delivery, offer_days=30)
    assert not await triggers.record_contract_end(moved, ended, delivery, offer_days=30)

    path = f"/organisations/{organisation}/contract-end"
    contact = person(Role.CONTACT_PERSON, organisation_id=organisation)
    stranger = person(Role.CONTACT_PERSON, organisation_id=uuid4())
    assert_problem(await http.post(f"{path}/decline", headers=headers(stranger)), 404)
    staff = person(Role.PLATFORM_STAFF)
    assert_problem(await http.post(f"{path}/decline", headers=headers(staff)), 403)
    assert await erasures_of(runtime.pool, members) == {}

    declined = await http.post(f"{path}/decline", headers=headers(contact))
    assert declined.status_code == 200, declined.text
    assert declined.json()["state"] == "erasing"
    assert declined.json()["offer_outcome"] == "declined"
    assert_problem(await http.post(f"{path}/decline", headers=headers(contact)), 409)

    # The next pass files them, without waiting for the offer's end date.
    assert await RetentionScheduler(moved).run_due() == 2
    assert await erasures_of(runtime.pool, members) == dict.fromkeys(members, 1)
    listed = await http.get("/contract-ends", headers=headers(staff))
    assert [item["organisation_id"] for item in listed.json()] == [str(organisation)]
    assert_problem(await http.get("/contract-ends", headers=headers(contact)), 403)


async def test_the_running_scheduler_starts_at_once_when_an_offer_is_over_without_its_poll(
    runtime: Runtime, http: httpx.AsyncClient, headers: Headers, moved: Dependencies
) -> None:
    """A contract end with no offer (0 days) and an offer declined wake the scheduler on
    commit: it files at once, although its poll would wait an hour."""
    scheduler = RetentionScheduler(moved, poll_interval=3600)
    stop = asyncio.Event()
    running = asyncio.create_task(scheduler.run(stop))
    try:
        no_offer, declining = uuid4(), uuid4()
        members = {no_offer: [subject(), subject()], declining: [subject()]}
        for organisation, subjects in members.items():
            for member in subjects:
                event = granted(member, organisation)
                assert await triggers.list_subject(moved, event, received(event))
        await asyncio.sleep(0.2)  # the scheduler's first pass found nothing and waits

        ended = contract_ended(no_offer, moved.clock().date())
        assert await triggers.record_contract_end(moved, ended, received(ended), offer_days=0)

        async def filed(subjects: list[str]) -> bool:
            return await erasures_of(runtime.pool, subjects) == dict.fromkeys(subjects, 1)

        await eventually(lambda: filed(members[no_offer]), "the erasures of a 0-day offer")

        ended = contract_ended(declining, moved.clock().date())
        assert await triggers.record_contract_end(moved, ended, received(ended), offer_days=30)
        contact = person(Role.CONTACT_PERSON, organisation_id=declining)
        declined = await http.post(
            f"/organisations/{declining}/contract-end/decline", headers=headers(contact)
        )
        assert declined.status_code == 200, declined.text
        await eventually(lambda: filed(members[declining]), "the erasures of a declined offer")
    finally:
        stop.set()
        await running


async def test_a_crashed_scheduler_resumes_without_filing_anyone_twice(
    runtime: Runtime, moved: Dependencies, clock: MovableClock
) -> None:
    organisation = uuid4()
    members = sorted(subject() for _ in range(25))
    async with transaction(runtime.pool) as conn:
        for member in members:
            await subject_directory.list_subject(
                conn, organisation_id=organisation, subject_ref=member, email_token=None, at=clock()
            )
    ended = contract_ended(organisation, clock().date())
    assert await triggers.record_contract_end(moved, ended, received(ended), offer_days=0)
    scheduler = RetentionScheduler(moved, batch_size=5, concurrency=2)
    assert await scheduler.end_expired_offers() == 1

    # The first chunk (two batches of 5) commits.
    assert await scheduler.file_next_chunk() == 10
    # In the second chunk one batch commits and the other dies at its third subject (a fault
    # in the database): its transaction rolls back, and the cursor stays where it was.
    doomed = members[17]
    async with runtime.pool.acquire() as conn:
        await conn.execute(
            "CREATE FUNCTION h3_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.subject_ref = '{doomed}' THEN RAISE EXCEPTION 'killed'; END IF;"
            " RETURN NEW; END $$"
        )
        await conn.execute(
            "CREATE TRIGGER h3_fault BEFORE INSERT ON requests"
            " FOR EACH ROW EXECUTE FUNCTION h3_fault()"
        )
    with pytest.raises(asyncpg.RaiseError, match="killed"):
        await scheduler.file_next_chunk()
    assert await erasures_of(runtime.pool, members) == dict.fromkeys(members[:15], 1)

    # After the "restart" the chunk is taken again: the committed batch is found filed.
    async with runtime.pool.acquire() as conn:
        await conn.execute("DROP TRIGGER h3_fault ON requests")
    assert await RetentionScheduler(moved, batch_size=5, concurrency=2).run_due() == 10
    assert await erasures_of(runtime.pool, members) == dict.fromkeys(members, 1)
    state = await rows(
        runtime.pool,
        "SELECT state, filed, cursor FROM contract_ends WHERE organisation_id = $1",
        organisation,
    )
    assert [tuple(row) for row in state] == [("erasure_filed", 25, None)]

    # Even with the cursor lost, filing again finds every trigger used: nothing twice.
    async with runtime.pool.acquire() as conn:
        await conn.execute(
            "UPDATE contract_ends SET state = 'erasing', cursor = NULL WHERE organisation_id = $1",
            organisation,
        )
    assert await RetentionScheduler(moved, batch_size=7, concurrency=3).run_due() == 0
    assert await erasures_of(runtime.pool, members) == dict.fromkeys(members, 1)
    assert await value(runtime.pool, "SELECT count(*) FROM automatic_erasures") == 25
    assert await value(runtime.pool, "SELECT filed FROM contract_ends") == 25


def complaint(subject_ref: str, complaint_id: UUID, *concerns: str) -> Any:
    return correspondence.ComplaintOpened(
        complaint_id=complaint_id,
        organisation_id=None,
        subject_ref=subject_ref,
        key_ref="subj_" + uuid4().hex,
        summary="enc:v1:test:c3VtbWFyeQ==",
        concerns=list(concerns),  # type: ignore[arg-type]
        opened_by="staff-1",
    )


def reply(topic: str, request_id: UUID, subject_ref: str, participant: str, kept: bool) -> Any:
    """A participant's reply to an erase command: erased, or kept under the complaint's hold."""
    evidence = [
        Evidence(location=f"table {participant}_rows", action="erased", count=1),
        *(
            [Evidence(location="table answers", action="kept", count=3, basis="open_complaint")]
            if kept
            else []
        ),
    ]
    event = ParticipantReplied(
        request_id=request_id,
        participant=participant,  # type: ignore[arg-type]
        command="erase",
        subject_ref=subject_ref,
        outcome="partially_completed" if kept else "completed",
        evidence=evidence,
        export=None,
        replied_at=datetime.now(UTC),
    )
    return record(topic, event, request_id, source=participant)


async def test_a_complaint_holds_what_it_concerns_and_its_resolution_erases_what_was_kept(
    runtime: Runtime,
    topics: Topics,
    kafka_bootstrap: str,
    http: httpx.AsyncClient,
    headers: Headers,
) -> None:
    person, other = subject(), subject()
    complaint_id = uuid4()
    opened = record(
        topics.complaint,
        complaint(person, complaint_id, "course_answers", "correspondence"),
        complaint_id,
        source="consent",
    )
    # A complaint about correspondence only: consent keeps that itself, no hold here.
    other_opened = record(
        topics.complaint, complaint(other, uuid4(), "correspondence"), uuid4(), source="consent"
    )
    resolved_event = correspondence.ComplaintResolved(
        complaint_id=complaint_id,
        organisation_id=None,
        subject_ref=person,
        key_ref="subj_" + uuid4().hex,
        outcome="upheld",
        resolution_text="enc:v1:test:cmVzb2x2ZWQ=",
        resolved_by="staff-1",
    )
    resolved = record(topics.complaint, resolved_event, complaint_id, source="consent")
    staff = headers(
        Principal(
            user_id=str(uuid4()),
            subject_ref=subject(),
            organisation_id=None,
            roles=frozenset({Role.PLATFORM_STAFF}),
        )
    )
    # This test is about holds: no sub-processor to wait for (they have tests of their own).
    async with runtime.pool.acquire() as conn:
        await conn.execute("DELETE FROM subprocessors")

    def claimed(count: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            n = await value(
                runtime.pool,
                "SELECT count(*) FROM inbox WHERE consumer = $1",
                triggers.COMPLAINT_EVENTS_CONSUMER,
            )
            return bool(n == count)

        return check

    async with runtime.subscriptions_for(backoff=Backoff(initial=0.01, maximum=0.05)).running():
        await produce(kafka_bootstrap, [opened, opened, other_opened])
        await eventually(claimed(2), "both complaints to be applied")
        holds = await rows(runtime.pool, "SELECT * FROM legal_holds")
        assert [(h["hold_id"], h["subject_ref"], h["basis"], h["categories"]) for h in holds] == [
            (complaint_hold_id(complaint_id), person, "open_complaint", ["content"])
        ]

        # An erasure now carries the hold; courses keeps the answers, so it ends partially.
        filed = await http.post(
            "/requests", json={"kind": "erasure", "subject_ref": person}, headers=staff
        )
        assert filed.status_code == 201, filed.text
        first = UUID(filed.json()["request_id"])
        commands = await rows(
            runtime.pool,
            "SELECT payload FROM events WHERE payload->>'request_id' = $1"
            " AND metadata->>'topic' LIKE 'privacy.commands.%'",
            str(first),
        )
        assert {len(c["payload"]["holds"]) for c in commands} == {1}
        assert commands[0]["payload"]["holds"][0]["categories"] == ["content"]
        await end_keeping_answers(runtime, kafka_bootstrap, first, person)

        # The complaint is resolved (delivered twice): the hold goes, one follow-up erasure.
        # (A last complaint after them: once it is applied, so are both copies.)
        last = record(
            topics.complaint, complaint(other, uuid4(), "newsletter"), uuid4(), source="consent"
        )
        await produce(kafka_bootstrap, [resolved, resolved, last])
        await eventually(claimed(4), "the resolution to be applied")

    assert await value(
        runtime.pool,
        "SELECT released_at IS NOT NULL FROM legal_holds WHERE hold_id = $1",
        complaint_hold_id(complaint_id),
    )
    follow_ups = await rows(
        runtime.pool,
        "SELECT request_id, state, trigger, requested_by_role FROM requests"
        " WHERE subject_ref = $1 AND request_id <> $2",
        person,
        first,
    )
    assert [(f["state"], f["trigger"], f["requested_by_role"]) for f in follow_ups] == [
        ("in_progress", "complaint_resolved", "automatic")
    ]
    again = await rows(
        runtime.pool,
        "SELECT payload FROM events WHERE payload->>'request_id' = $1"
        " AND metadata->>'topic' LIKE 'privacy.commands.%'",
        str(follow_ups[0]["request_id"]),
    )
    assert len(again) == len(PARTICIPANTS)
    assert {len(c["payload"]["holds"]) for c in again} == {0}  # nothing held any more
    assert await erasures_of(runtime.pool, [other]) == {}


async def end_keeping_answers(
    runtime: Runtime, kafka_bootstrap: str, request_id: UUID, subject_ref: str
) -> None:
    """Every participant replies to the erasure, courses keeping the answers (a hold): wait
    until it ends ``partially_completed`` (the subscriptions must be running)."""
    replies_topic = runtime.settings.privacy_orchestrator_replies_topic
    await produce(
        kafka_bootstrap,
        [
            reply(replies_topic, request_id, subject_ref, p, kept=p == "courses")
            for p in PARTICIPANTS
        ],
    )

    async def partially_completed() -> bool:
        state = await value(
            runtime.pool, "SELECT state FROM requests WHERE request_id = $1", request_id
        )
        return bool(state == "partially_completed")

    await eventually(partially_completed, "the erasure to end partially completed")


async def held_erasure(
    runtime: Runtime, http: httpx.AsyncClient, headers: Headers, person: str
) -> tuple[dict[str, str], str, UUID]:
    """Staff place a ``legal_dispute`` hold on the person's content and file their erasure
    (no sub-processors: holds are these tests' business); staff's headers, the hold's id and
    the request's id."""
    staff = headers(
        Principal(
            user_id=str(uuid4()),
            subject_ref=subject(),
            organisation_id=None,
            roles=frozenset({Role.PLATFORM_STAFF}),
        )
    )
    async with runtime.pool.acquire() as conn:
        await conn.execute("DELETE FROM subprocessors")
    placed = await http.post(
        "/holds",
        json={
            "subject_ref": person,
            "basis": "legal_dispute",
            "categories": ["content"],
            "keep_until": None,
        },
        headers=staff,
    )
    assert placed.status_code == 201, placed.text
    filed = await http.post(
        "/requests", json={"kind": "erasure", "subject_ref": person}, headers=staff
    )
    assert filed.status_code == 201, filed.text
    return staff, str(placed.json()["hold_id"]), UUID(filed.json()["request_id"])


async def test_staff_releasing_a_hold_erases_what_the_last_erasure_kept(
    runtime: Runtime,
    topics: Topics,
    kafka_bootstrap: str,
    http: httpx.AsyncClient,
    headers: Headers,
) -> None:
    person = subject()
    staff, hold_id, first = await held_erasure(runtime, http, headers, person)
    async with runtime.subscriptions_for(backoff=Backoff(initial=0.01, maximum=0.05)).running():
        await end_keeping_answers(runtime, kafka_bootstrap, first, person)

    released = await http.delete(f"/holds/{hold_id}", headers=staff)
    assert released.status_code == 204, released.text
    assert_problem(await http.delete(f"/holds/{hold_id}", headers=staff), 404)
    follow_ups = await rows(
        runtime.pool,
        "SELECT state, trigger FROM requests WHERE subject_ref = $1 AND request_id <> $2",
        person,
        first,
    )
    assert [(f["state"], f["trigger"]) for f in follow_ups] == [("in_progress", "hold_released")]


async def test_a_resolved_legal_claim_erases_what_its_organisations_erasures_kept(
    runtime: Runtime, topics: Topics, kafka_bootstrap: str
) -> None:
    """R2, R9: consent's ``LegalClaimResolved`` (delivered twice) files one follow-up erasure
    for each subject of the organisation whose latest erasure kept something, and none for a
    subject erased completely or of another organisation. A subject whose erasure is still
    open (consent already said "kept") gets its follow-up when that erasure ends."""
    organisation, other_organisation = uuid4(), uuid4()
    kept, clean, elsewhere, still_open = subject(), subject(), subject(), subject()
    async with runtime.pool.acquire() as conn:
        await conn.execute("DELETE FROM subprocessors")  # holds are this test's business
    first: dict[str, UUID] = {}
    async with transaction(runtime.pool) as conn:
        for subject_ref, org in (
            (kept, organisation),
            (clean, organisation),
            (elsewhere, other_organisation),
            (still_open, organisation),
        ):
            request_id = await file_automatic_erasure(
                conn,
                runtime.deps,
                subject_ref=subject_ref,
                organisation_id=org,
                trigger="contract_ended",
                trigger_id=uuid4(),
            )
            assert request_id is not None
            first[subject_ref] = request_id
    replies_topic = runtime.settings.privacy_orchestrator_replies_topic
    resolved = record(
        topics.complaint,
        correspondence.LegalClaimResolved(
            organisation_id=organisation, settled_on=date(2026, 12, 1)
        ),
        organisation,
        source="consent",
    )

    def replies(subject_ref: str, *participants: str) -> list[Any]:
        return [
            reply(
                replies_topic,
                first[subject_ref],
                subject_ref,
                p,
                kept=p == "consent" and subject_ref != clean,
            )
            for p in participants
        ]

    async def claimed(count: int) -> bool:
        n = await value(
            runtime.pool,
            "SELECT count(*) FROM inbox WHERE consumer = $1",
            triggers.COMPLAINT_EVENTS_CONSUMER,
        )
        return bool(n == count)

    async def states() -> dict[str, str]:
        found = await rows(
            runtime.pool,
            "SELECT subject_ref, state FROM requests WHERE request_id = ANY($1::uuid[])",
            list(first.values()),
        )
        return {r["subject_ref"]: r["state"] for r in found}

    async def follow_ups() -> list[tuple[str, str, str, UUID]]:
        found = await rows(
            runtime.pool,
            "SELECT subject_ref, state, trigger, organisation_id FROM requests"
            " WHERE NOT (request_id = ANY($1::uuid[])) ORDER BY subject_ref",
            list(first.values()),
        )
        return [(f["subject_ref"], f["state"], f["trigger"], f["organisation_id"]) for f in found]

    async with runtime.subscriptions_for(backoff=Backoff(initial=0.01, maximum=0.05)).running():
        await produce(
            kafka_bootstrap,
            [
                *(r for s in (kept, clean, elsewhere) for r in replies(s, *PARTICIPANTS)),
                *replies(still_open, "consent"),
            ],
        )

        async def ended() -> bool:
            return await states() == {
                kept: "partially_completed",
                clean: "completed",
                elsewhere: "partially_completed",
                still_open: "in_progress",
            }

        await eventually(ended, "three erasures to end, the fourth waiting")
        last = record(
            topics.complaint,
            complaint(subject(), uuid4(), "newsletter"),
            uuid4(),
            source="consent",
        )
        await produce(kafka_bootstrap, [resolved, resolved, last])
        await eventually(lambda: claimed(2), "the resolution to be applied")
        assert await follow_ups() == [(kept, "in_progress", "legal_claim_resolved", organisation)]

        # The open erasure ends keeping what consent kept: its follow-up is filed then.
        await produce(kafka_bootstrap, replies(still_open, "identity", "courses"))

        async def both_followed_up() -> bool:
            return len(await follow_ups()) == 2

        await eventually(both_followed_up, "the waiting follow-up to be filed")

    assert sorted(await follow_ups()) == sorted(
        [
            (kept, "in_progress", "legal_claim_resolved", organisation),
            (still_open, "in_progress", "legal_claim_resolved", organisation),
        ]
    )


async def test_a_legal_claims_follow_ups_are_filed_in_chunks_and_a_crash_midway_loses_none(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many kept subjects do not make one long transaction: the follow-ups are filed a chunk
    per transaction and the event claimed after the last. A crash in the second chunk leaves
    the first filed and the event unclaimed; delivered again, the rest is filed and nobody
    gets two follow-ups."""
    organisation = uuid4()
    kept = sorted(subject() for _ in range(5))
    async with runtime.pool.acquire() as conn:
        await conn.execute("DELETE FROM subprocessors")
    async with transaction(runtime.pool) as conn:
        for subject_ref in kept:
            await file_automatic_erasure(
                conn,
                runtime.deps,
                subject_ref=subject_ref,
                organisation_id=organisation,
                trigger="contract_ended",
                trigger_id=uuid4(),
            )
        # As if each erasure had ended keeping consent's correspondence (the projection is
        # what the follow-up reads).
        await conn.execute(
            "UPDATE requests SET state = 'partially_completed' WHERE subject_ref = ANY($1)", kept
        )
    event = correspondence.LegalClaimResolved(
        organisation_id=organisation, settled_on=date(2026, 12, 1)
    )
    delivered = received(event)
    real_file = triggers.file_automatic_erasure
    calls = 0

    async def crashing_in_the_second_chunk(*args: Any, **kwargs: Any) -> UUID | None:
        nonlocal calls
        calls += 1
        if calls == 3:  # chunks of 2: the first of the second chunk
            raise ConnectionResetError("killed midway")
        return await real_file(*args, **kwargs)

    monkeypatch.setattr(triggers, "file_automatic_erasure", crashing_in_the_second_chunk)
    with pytest.raises(ConnectionResetError):
        await triggers.erase_what_a_legal_claim_kept(runtime.deps, event, delivered, chunk=2)
    assert await erasures_of(runtime.pool, kept) == {
        **dict.fromkeys(kept[:2], 2),
        **dict.fromkeys(kept[2:], 1),
    }
    claimed = "SELECT count(*) FROM inbox WHERE consumer = $1 AND event_id = $2"
    consumer = triggers.COMPLAINT_EVENTS_CONSUMER
    assert await value(runtime.pool, claimed, consumer, delivered.id) == 0

    monkeypatch.setattr(triggers, "file_automatic_erasure", real_file)
    filed = await triggers.erase_what_a_legal_claim_kept(runtime.deps, event, delivered, chunk=2)
    assert len(filed) == 3  # the rest; the first chunk's are found by their trigger ids
    assert await erasures_of(runtime.pool, kept) == dict.fromkeys(kept, 2)
    assert await value(runtime.pool, claimed, consumer, delivered.id) == 1
    # Done: a later copy of the event files nothing and does not even look.
    assert await triggers.erase_what_a_legal_claim_kept(runtime.deps, event, delivered) == []
    assert await erasures_of(runtime.pool, kept) == dict.fromkeys(kept, 2)


async def test_a_hold_released_while_the_erasure_is_open_is_followed_up_when_it_ends(
    runtime: Runtime,
    topics: Topics,
    kafka_bootstrap: str,
    http: httpx.AsyncClient,
    headers: Headers,
) -> None:
    """R16: courses has already kept the held answers when staff release the hold; once the
    erasure ends (partially), the follow-up that erases them is filed by itself, once."""
    person = subject()
    staff, hold_id, first = await held_erasure(runtime, http, headers, person)
    replies_topic = runtime.settings.privacy_orchestrator_replies_topic

    async with runtime.subscriptions_for(backoff=Backoff(initial=0.01, maximum=0.05)).running():
        await produce(kafka_bootstrap, [reply(replies_topic, first, person, "courses", kept=True)])

        async def courses_replied() -> bool:
            n = await value(
                runtime.pool,
                "SELECT count(*) FROM request_events WHERE stream_id = $1 AND event_type = $2",
                request_stream(first),
                ReplyRecorded.event_type,
            )
            return bool(n == 1)

        await eventually(courses_replied, "courses' reply (kept) to be recorded")
        released = await http.delete(f"/holds/{hold_id}", headers=staff)
        assert released.status_code == 204, released.text
        assert await requests_of(runtime.pool, person) == [
            ("in_progress", None)
        ]  # nothing filed yet

        await produce(
            kafka_bootstrap,
            [
                reply(replies_topic, first, person, p, kept=False)
                for p in PARTICIPANTS
                if p != "courses"
            ],
        )

        async def followed_up() -> bool:
            return len(await requests_of(runtime.pool, person)) == 2

        await eventually(followed_up, "the follow-up once the erasure ended")

    assert await requests_of(runtime.pool, person) == [
        ("partially_completed", None),
        ("in_progress", "hold_released"),
    ]


def created(subject_ref: str, organisation_id: UUID, email: str) -> identity.UserCreated:
    return identity.UserCreated(
        user_id=uuid4(),
        subject_ref=subject_ref,
        organisation_id=organisation_id,
        roles=["learner"],
        name="enc:v1:test:bmFtZQ==",
        email=email,
        phone=None,
        gender=None,
        language="nb",
        terms_version="2026-01",
        terms_accepted_at=datetime.now(UTC),
    )


async def test_an_automatic_erasure_tells_the_person_at_their_login_email_what_was_kept(
    runtime: Runtime, topics: Topics, kafka_bootstrap: str
) -> None:
    """R10 without anyone to name an address: the directory keeps identity's token of the
    login e-mail (the rectified one wins), the revoked licence's erasure seals it as the
    request's notify address, and the completion queues the kept-data mail to it. A token the
    key ring refuses costs the notice, never the erasure."""
    organisation = uuid4()
    person, unreadable = subject(), subject()
    keyring = runtime.deps.keyring
    assert keyring is not None
    old = await keyring.encrypt(person, "kari@firma.example")
    new = await keyring.encrypt(person, "kari.nordmann@firma.example")
    corrected = identity.UserProfileCorrected(
        user_id=uuid4(),
        subject_ref=person,
        organisation_id=organisation,
        corrected_fields=["email"],
        name=None,
        email=new,
        phone=None,
        gender=None,
        language=None,
        corrected_by="staff-1",
    )
    async with runtime.pool.acquire() as conn:
        await conn.execute("DELETE FROM subprocessors")  # the notice is this test's business
    events = [
        created(person, organisation, old),
        corrected,
        created(unreadable, organisation, "kari@firma.example"),  # not a token
        revoked(person, organisation),
        revoked(unreadable, organisation),
    ]
    replies_topic = runtime.settings.privacy_orchestrator_replies_topic

    async def filed() -> dict[str, UUID]:
        found = await rows(
            runtime.pool,
            "SELECT subject_ref, request_id FROM requests WHERE subject_ref = ANY($1::text[])",
            [person, unreadable],
        )
        return {r["subject_ref"]: r["request_id"] for r in found}

    async with runtime.subscriptions_for(backoff=Backoff(initial=0.01, maximum=0.05)).running():
        await produce(kafka_bootstrap, [record(topics.user, e, organisation) for e in events])

        async def both_filed() -> bool:
            return len(await filed()) == 2

        await eventually(both_filed, "both erasures to be filed")
        requests_of = await filed()
        notices = await rows(
            runtime.pool, "SELECT request_id, key_ref, address FROM request_notices"
        )
        mine = [n for n in notices if n["request_id"] in requests_of.values()]
        assert [n["request_id"] for n in mine] == [requests_of[person]]
        [notice] = mine
        assert notice["key_ref"] != person  # sealed under the request's own scope
        assert await keyring.decrypt(notice["key_ref"], notice["address"]) == (
            "kari.nordmann@firma.example"
        )

        await produce(
            kafka_bootstrap,
            [
                reply(replies_topic, requests_of[person], person, p, kept=p == "courses")
                for p in PARTICIPANTS
            ],
        )

        async def told() -> bool:
            mails = await rows(
                runtime.pool,
                "SELECT recipient FROM mail_outbox WHERE recipient = $1",
                "kari.nordmann@firma.example",
            )
            return len(mails) == 1

        await eventually(told, "the kept-data mail to be queued")


async def test_a_hold_released_while_an_erasure_awaits_approval_is_followed_up_on_rejection(
    runtime: Runtime,
    topics: Topics,
    kafka_bootstrap: str,
    http: httpx.AsyncClient,
    headers: Headers,
) -> None:
    """R16, R18: the first erasure kept the held answers; a second one, forwarded by a contact
    person, awaits approval when staff release the hold; rejecting it files the follow-up
    that erases what the first kept."""
    person, organisation = subject(), uuid4()
    staff, hold_id, first = await held_erasure(runtime, http, headers, person)
    async with runtime.subscriptions_for(backoff=Backoff(initial=0.01, maximum=0.05)).running():
        await end_keeping_answers(runtime, kafka_bootstrap, first, person)

    contact = headers(
        Principal(
            user_id=str(uuid4()),
            subject_ref=subject(),
            organisation_id=str(organisation),
            roles=frozenset({Role.CONTACT_PERSON}),
        )
    )
    forwarded = await http.post(
        "/requests", json={"kind": "erasure", "subject_ref": person}, headers=contact
    )
    assert forwarded.status_code == 201, forwarded.text
    second = forwarded.json()["request_id"]
    assert forwarded.json()["state"] == "awaiting_controller"
    released = await http.delete(f"/holds/{hold_id}", headers=staff)
    assert released.status_code == 204, released.text

    assert await requests_of(runtime.pool, person) == [
        ("partially_completed", None),
        ("awaiting_controller", None),
    ]
    rejected = await http.post(
        f"/requests/{second}/reject", json={"reason": "withdrawn"}, headers=contact
    )
    assert rejected.status_code == 200, rejected.text
    assert await requests_of(runtime.pool, person) == [
        ("partially_completed", None),
        ("rejected", None),
        ("in_progress", "hold_released"),
    ]


def contact_added(subject_ref: str, organisation_id: UUID, email: str) -> Any:
    return identity.ContactPersonAdded(
        organisation_id=organisation_id,
        subject_ref=subject_ref,
        name="enc:v1:test:bmFtZQ==",
        email=email,
        phone=None,
        listed_by="staff-1",
    )


async def test_the_contact_persons_are_told_of_the_export_offer_and_reminded_once(
    runtime: Runtime,
    topics: Topics,
    kafka_bootstrap: str,
    moved: Dependencies,
    clock: MovableClock,
) -> None:
    """Art. 28(3)(g): the contract end (delivered twice) mails each contact person of the
    organisation once, with the offer's last day and the export's link; a week before the
    offer ends one reminder follows, however many passes run; another organisation's contact
    is told nothing; once the erasures are filed, no contact is kept."""
    ending, other = uuid4(), uuid4()
    keyring = runtime.deps.keyring
    assert keyring is not None
    contacts = {subject(): f"kontakt-{n}@kunde.example" for n in range(2)}
    outsider = subject()
    listed = [
        *[
            contact_added(s, ending, await keyring.encrypt(s, address))
            for s, address in contacts.items()
        ],
        contact_added(outsider, other, await keyring.encrypt(outsider, "annen@kunde.example")),
    ]
    ended = record(topics.organisation, contract_ended(ending, clock().date()), ending)

    async def mails(kind: str) -> list[dict[str, Any]]:
        return await rows(
            runtime.pool,
            "SELECT recipient, body FROM mail_outbox WHERE kind = $1 ORDER BY recipient",
            kind,
        )

    async with runtime.subscriptions_for(backoff=Backoff(initial=0.01, maximum=0.05)).running():
        await produce(
            kafka_bootstrap,
            [*(record(topics.organisation, e, e.organisation_id) for e in listed), ended, ended],
        )

        async def told() -> bool:
            return len(await mails("export_offer_opened")) == 2

        await eventually(told, "the contact persons to be told of the offer")
        assert (
            await value(
                runtime.pool,
                "SELECT count(*) FROM inbox WHERE consumer = $1",
                triggers.ORGANISATION_EVENTS_CONSUMER,
            )
            == len(listed) + 1
        )

    opened = await mails("export_offer_opened")
    assert [m["recipient"] for m in opened] == sorted(contacts.values())
    offer_until = await value(
        runtime.pool, "SELECT offer_until FROM contract_ends WHERE organisation_id = $1", ending
    )
    assert offer_until.date().isoformat() in opened[0]["body"]
    assert f"/organisations/{ending}/contract-end/export" in opened[0]["body"]

    scheduler = RetentionScheduler(moved, poll_interval=1, reminder=timedelta(days=7))
    await scheduler.run_due()
    assert await mails("export_offer_reminder") == []  # not yet: more than a week left
    clock.advance(offer_until - timedelta(days=6) - clock())
    await scheduler.run_due()
    await scheduler.run_due()
    reminded = await mails("export_offer_reminder")
    assert [m["recipient"] for m in reminded] == sorted(contacts.values())
    assert "påminnelse" in reminded[0]["body"]

    clock.advance(timedelta(days=7))  # the offer is over: erasures filed, contacts dropped
    await scheduler.run_due()
    assert (
        await value(
            runtime.pool,
            "SELECT count(*) FROM organisation_contacts WHERE organisation_id = $1",
            ending,
        )
        == 0
    )
    assert (
        await value(
            runtime.pool,
            "SELECT count(*) FROM organisation_contacts WHERE organisation_id = $1",
            other,
        )
        == 1
    )
