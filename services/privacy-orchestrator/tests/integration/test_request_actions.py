"""Where a request stands, published for reporting's dashboard; a hold; the participant
time-out (R13, DESIGN §5) on real PostgreSQL and Kafka:

- every state change publishes ``RequestStateChanged`` through the outbox: the relay puts it
  on ``privacy.requests.v1`` (here under a prefix of the test's own), in order, with the
  counts and flags, and without the subject's ref anywhere in the record;
- a held request records the replies and HeiHallo's confirmation but completes only when
  released; the deadline does not move; only staff may hold and release;
- a participant that does not reply gets its command again, the same one (the same
  CloudEvent id, twice on Kafka), then shows as escalated (``escalated=true``) and the request
  stays open until its late reply comes; staff may send the command again themselves, which
  starts a fresh round of automatic re-sends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.contracts.privacy import Evidence
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.outbox import RelayWorker
from privacy_orchestrator.bootstrap import Runtime
from privacy_orchestrator.service_layer.participant_timeouts import ParticipantTimeoutWorker

from ....service_testing import assert_problem
from .support import eventually, on_topics, own_topics, person, produce, rows
from .test_requests import confirm_as_heihallo, heihallo_secret, reply_record  # noqa: F401

PARTICIPANTS = ("identity", "courses", "consent")
Headers = Callable[[Principal], dict[str, str]]
STATUS_TOPIC = "privacy.requests.v1"


@pytest.fixture
def three_participants(runtime: Runtime) -> Runtime:
    runtime.deps = dataclasses.replace(runtime.deps, participants=PARTICIPANTS)
    return runtime


@dataclasses.dataclass
class Relayed:
    """The orchestrator's outbox relayed to topics of the test's own (``prefix`` + name)."""

    prefix: str
    bootstrap: str

    async def read(self, topic: str, count: int) -> list[Any]:
        """The first ``count`` records of ``prefix + topic``, from the beginning."""
        consumer = AIOKafkaConsumer(
            self.prefix + topic,
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        found: list[Any] = []
        try:

            async def enough() -> bool:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    found.extend(records)
                return len(found) >= count

            await eventually(enough, f"{count} records on {topic}")
        finally:
            await consumer.stop()
        return sorted(found, key=lambda record: (record.partition, record.offset))


@pytest.fixture
async def relayed(
    three_participants: Runtime, kafka_bootstrap: str, new_topic: Any
) -> AsyncIterator[Relayed]:
    """The relay running to ``<prefix>privacy.requests.v1`` and the commands' topics."""
    prefix = f"t{uuid4().hex[:10]}."
    for name in [STATUS_TOPIC] + [f"privacy.commands.{p}.v1" for p in PARTICIPANTS]:
        await new_topic(prefix + name, exact=True)
    relay = RelayWorker(
        pool=three_participants.pool,
        bootstrap=kafka_bootstrap,
        source_service="privacy-orchestrator",
        topic_prefix=prefix,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield Relayed(prefix, kafka_bootstrap)
    finally:
        stop.set()
        await task


async def _file(http: httpx.AsyncClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    filed = await http.post("/requests", json={"kind": "erasure", **body}, headers=auth)
    assert filed.status_code == 201, filed.text
    found: dict[str, Any] = filed.json()
    return found


async def _status_events(runtime: Runtime, request_id: str) -> list[dict[str, Any]]:
    found = await rows(
        runtime.pool,
        "SELECT payload FROM events WHERE stream_id = $1 ORDER BY version",
        f"privacy-request-status-{request_id}",
    )
    return [dict(row["payload"]) for row in found]


async def test_state_changes_reach_kafka_in_order_without_the_subject(
    relayed: Relayed,
    three_participants: Runtime,
    http: httpx.AsyncClient,
    headers: Headers,
) -> None:
    learner = person(Role.LEARNER)
    staff = headers(person(Role.PLATFORM_STAFF))
    request = await _file(http, headers(learner))
    request_id = request["request_id"]
    held = await http.post(
        f"/requests/{request_id}/hold", json={"reason": "Venter på kunden."}, headers=staff
    )
    assert held.status_code == 200, held.text
    extended = await http.post(
        f"/requests/{request_id}/extend-deadline",
        json={"months": 1, "reason": "complexity"},
        headers=staff,
    )
    assert extended.status_code == 200, extended.text
    released = await http.post(f"/requests/{request_id}/release", headers=staff)
    assert released.status_code == 200, released.text

    records = await relayed.read(STATUS_TOPIC, 4)
    assert {record.key for record in records} == {f"privacy-request-status-{request_id}".encode()}
    events = [json.loads(record.value) for record in records]
    assert [(e["change"], e["state"]) for e in events] == [
        ("in_progress", "in_progress"),
        ("put_on_hold", "on_hold"),
        ("deadline_extended", "on_hold"),
        ("released", "in_progress"),
    ]
    first = events[0]
    assert first["request_id"] == request_id
    assert (first["kind"], first["requested_by_role"]) == ("erasure", "data_subject")
    assert (first["participants_answered"], first["participants_expected"]) == (0, 3)
    assert (first["sub_processors_confirmed"], first["sub_processors_expected"]) == (0, 1)
    assert first["deadline"] == request["deadline"]
    assert (first["overdue"], first["escalated"], first["on_hold"]) == (False, False, False)
    assert events[1]["on_hold"] is True
    assert events[2]["deadline_extended"] is True
    assert events[2]["deadline"] > request["deadline"]
    # No subject ref: not in the value, not in any header (no ce_subject).
    for record in records:
        assert learner.subject_ref.encode() not in record.value
        assert all(learner.subject_ref.encode() not in value for _, value in record.headers)
        assert "ce_subject" not in dict(record.headers)
        assert dict(record.headers)["ce_type"] == b"no.byggrygg.privacy.RequestStateChanged.v1"


async def test_a_held_request_completes_only_when_released_and_keeps_its_deadline(
    three_participants: Runtime,
    http: httpx.AsyncClient,
    headers: Headers,
    kafka_bootstrap: str,
    new_topic: Any,
    heihallo_secret: str,  # noqa: F811
) -> None:
    runtime = three_participants
    learner = person(Role.LEARNER)
    staff = headers(person(Role.PLATFORM_STAFF))
    request = await _file(http, headers(learner))
    request_id = request["request_id"]

    # Only staff hold; a reason is required; no personal data in it.
    path = f"/requests/{request_id}/hold"
    refused = await http.post(path, json={"reason": "x"}, headers=headers(learner))
    assert_problem(refused, 403)
    for body in (
        {},
        {"reason": "  "},
        {"reason": "Ring kari@example.no"},
        {"reason": "Ring +47 400 00 000"},
    ):
        assert_problem(await http.post(path, json=body, headers=staff), 422)
    unknown = await http.post(f"/requests/{uuid4()}/hold", json={"reason": "x"}, headers=staff)
    assert_problem(unknown, 404)
    held = await http.post(path, json={"reason": "Venter på avklaring."}, headers=staff)
    assert held.status_code == 200, held.text
    view = held.json()
    assert view["state"] == "on_hold"
    assert view["on_hold"]["reason"] == "Venter på avklaring."
    assert view["on_hold"]["by_role"] == "platform_staff"
    assert view["deadline"] == request["deadline"]
    assert_problem(await http.post(path, json={"reason": "again"}, headers=staff), 409)

    # Every answer arrives while held: recorded, not completed.
    topics = await own_topics(new_topic)
    runtime.settings = on_topics(runtime.settings, topics, kafka_bootstrap, "po-hold")
    replies = [
        reply_record(
            topics.replies,
            UUID(request_id),
            learner.subject_ref,
            participant,
            [Evidence(location=f"column {participant}.x", action="erased", count=1)],
        )
        for participant in PARTICIPANTS
    ]
    async with runtime.subscriptions_for(backoff=Backoff(initial=0.01, maximum=0.05)).running():
        await produce(kafka_bootstrap, replies)

        async def replied() -> bool:
            found = (await http.get(f"/requests/{request_id}", headers=staff)).json()
            return all(p["replied"] for p in found["participants"].values())

        await eventually(replied, "every reply while held")
    confirmed = await confirm_as_heihallo(http, heihallo_secret, request)
    assert confirmed.status_code == 204, confirmed.text
    still = (await http.get(f"/requests/{request_id}", headers=staff)).json()
    assert (still["state"], still["completed_at"]) == ("on_hold", None)
    assert still["sub_processors"][0]["state"] == "confirmed"
    listed = await http.get("/requests", params={"state": "on_hold"}, headers=staff)
    assert request_id in [r["request_id"] for r in listed.json()]

    release = f"/requests/{request_id}/release"
    assert_problem(await http.post(release, headers=headers(learner)), 403)
    released = await http.post(release, headers=staff)
    assert released.status_code == 200, released.text
    final = released.json()
    assert (final["state"], final["on_hold"]) == ("completed", None)
    assert final["deadline"] == request["deadline"]
    assert_problem(await http.post(release, headers=staff), 409)
    async with runtime.pool.acquire() as conn:
        record = await runtime.deps.records.for_request(conn, UUID(request_id))
    assert record is not None
    history = await rows(
        runtime.pool,
        "SELECT event_type FROM request_events WHERE stream_id = $1 ORDER BY version",
        f"dsr-{request_id}",
    )
    types = [row["event_type"].rsplit(".", 1)[1] for row in history]
    assert types.index("RequestPutOnHold") < types.index("RequestReleased")
    assert types[-1] == "RequestCompleted"


async def test_a_silent_participant_gets_the_same_command_again_then_is_escalated(
    relayed: Relayed,
    three_participants: Runtime,
    http: httpx.AsyncClient,
    headers: Headers,
    kafka_bootstrap: str,
    new_topic: Any,
    heihallo_secret: str,  # noqa: F811
) -> None:
    runtime = three_participants
    learner = person(Role.LEARNER)
    staff = headers(person(Role.PLATFORM_STAFF))
    request = await _file(http, headers(learner))
    request_id = request["request_id"]
    # Identity and consent answer; courses stays silent.
    topics = await own_topics(new_topic)
    runtime.settings = on_topics(runtime.settings, topics, kafka_bootstrap, "po-timeout")

    def replies(*names: str) -> list[Any]:
        return [
            reply_record(
                topics.replies,
                UUID(request_id),
                learner.subject_ref,
                name,
                [Evidence(location=f"column {name}.x", action="erased", count=1)],
            )
            for name in names
        ]

    backoff = Backoff(initial=0.01, maximum=0.05)
    async with runtime.subscriptions_for(backoff=backoff).running():
        await produce(kafka_bootstrap, replies("identity", "consent"))

        async def two_replied() -> bool:
            found = (await http.get(f"/requests/{request_id}", headers=staff)).json()
            return sum(p["replied"] for p in found["participants"].values()) == 2

        await eventually(two_replied, "identity's and consent's replies")
    assert (await confirm_as_heihallo(http, heihallo_secret, request)).status_code == 204

    # Not yet due: nothing happens.
    patient = ParticipantTimeoutWorker(
        runtime.deps, reply_within=timedelta(hours=72), max_resends=1
    )
    assert await patient.chase_due() == 0
    # Due (a time-out of zero): courses gets its command again, once, then is escalated.
    worker = ParticipantTimeoutWorker(runtime.deps, reply_within=timedelta(0), max_resends=1)
    assert await worker.chase_due() == 1
    view = (await http.get(f"/requests/{request_id}", headers=staff)).json()
    courses = view["participants"]["courses"]
    assert (courses["resends"], courses["escalated"], courses["replied"]) == (1, False, False)
    assert await worker.chase_due() == 1
    view = (await http.get(f"/requests/{request_id}", headers=staff)).json()
    assert view["participants"]["courses"]["escalated"] is True
    assert view["participants"]["identity"]["escalated"] is False
    assert view["state"] == "in_progress"
    assert await worker.chase_due() == 0  # escalated: left to an operator
    escalated = await http.get("/requests", params={"escalated": "true"}, headers=staff)
    assert request_id in [r["request_id"] for r in escalated.json()]
    others = await http.get("/requests", params={"escalated": "false"}, headers=staff)
    assert request_id not in [r["request_id"] for r in others.json()]

    # The same command twice on courses' topic: one CloudEvent id, one payload.
    commands = await relayed.read("privacy.commands.courses.v1", 2)
    assert len(commands) == 2
    ids = {dict(record.headers)["ce_id"] for record in commands}
    assert len(ids) == 1
    assert commands[0].value == commands[1].value
    status = [e["change"] for e in await _status_events(runtime, request_id)]
    assert status == ["in_progress", "participant_escalated"]

    # Staff send courses' command again (R13): only staff, only an escalated participant.
    resend = f"/requests/{request_id}/participants/courses/resend"
    assert_problem(await http.post(resend, headers=headers(learner)), 403)
    not_escalated = await http.post(
        f"/requests/{request_id}/participants/identity/resend", headers=staff
    )
    assert assert_problem(not_escalated, 409)["type"].endswith("participant-not-escalated")
    unknown = await http.post(f"/requests/{request_id}/participants/billing/resend", headers=staff)
    assert assert_problem(unknown, 404)["type"].endswith("participant-not-on-request")
    assert_problem(
        await http.post(f"/requests/{uuid4()}/participants/courses/resend", headers=staff), 404
    )
    resent = await http.post(resend, headers=staff)
    assert resent.status_code == 200, resent.text
    courses = resent.json()["participants"]["courses"]
    assert (courses["escalated"], courses["resends"], courses["replied"]) == (False, 0, False)
    commands = await relayed.read("privacy.commands.courses.v1", 3)
    assert {dict(record.headers)["ce_id"] for record in commands} == ids  # the same command
    status = [e["change"] for e in await _status_events(runtime, request_id)]
    assert status == ["in_progress", "participant_escalated", "participant_resent"]
    # A fresh round of automatic re-sends follows before it escalates again.
    assert await worker.chase_due() == 1
    view = (await http.get(f"/requests/{request_id}", headers=staff)).json()
    assert view["participants"]["courses"]["escalated"] is False
    assert (await http.post(resend, headers=staff)).status_code == 409  # not escalated now

    # The late reply is recorded and completes the request.
    async with runtime.subscriptions_for(backoff=backoff).running():
        await produce(kafka_bootstrap, replies("courses"))

        async def completed() -> bool:
            found = (await http.get(f"/requests/{request_id}", headers=staff)).json()
            return bool(found["state"] == "completed")

        await eventually(completed, "completion on the late reply")
    final_status = (await _status_events(runtime, request_id))[-1]
    assert (final_status["change"], final_status["participants_answered"]) == ("completed", 3)
    assert final_status["escalated"] is False  # the operator's re-send took courses off it
