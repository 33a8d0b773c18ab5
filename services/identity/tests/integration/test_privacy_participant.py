"""identity as a participant of data-subject requests, on real PostgreSQL and Kafka: a real
EraseSubject CloudEvent erases the user (rows gone, old event fields read as erased, login
refused) and records a ParticipantReplied with evidence and no personal data; a redelivery
changes nothing; an export holds that subject's data only; a rectification corrects the
profile; a hold keeps what it covers and says so."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer

from byggrygg_shared.contracts.privacy import (
    EraseSubject,
    ExportSubject,
    Hold,
    RectifySubject,
)
from byggrygg_shared.envelope import (
    from_kafka_record,
    to_kafka_record,
)
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.keyring import ERASED
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.participant import reply_stream
from byggrygg_shared.subscriptions import Subscriptions
from identity.bootstrap import Runtime
from identity.entrypoints.consumers import register_consumers

from ....participant_testing import (
    DEADLINE_SECONDS,
    command_record,
    eventually,
    produce,
    received,
    replies,
)
from .support import ORG_NUMBERS, Flow, Member, snapshot


async def learner(flow: Flow, number: str = ORG_NUMBERS[0]) -> tuple[Member, str]:
    organisation = await flow.register(number)
    admin = await flow.admin(organisation["organisation_id"], f"admin-{number}@example.no")
    member = await flow.learner(organisation["organisation_id"], admin, f"kari-{number}@example.no")
    subject = await flow.runtime.pool.fetchval(
        "SELECT subject_ref FROM users WHERE user_id = $1", uuid.UUID(member.user_id)
    )
    return member, str(subject)


def commands_read(runtime: Runtime, bootstrap: str, topic: str) -> Subscriptions:
    """identity's participant reading ``topic`` in a consumer group of its own, with fast
    retries."""
    return Subscriptions(
        bootstrap=bootstrap,
        client_id="identity-test",
        register=register_consumers(
            runtime.participant,
            command_topic=topic,
            group_id=f"identity-test-{uuid.uuid4().hex[:8]}",
        ),
        backoff=Backoff(initial=0.01, maximum=0.05),
    )


def erase(subject: str, *, holds: list[Hold] | None = None) -> EraseSubject:
    return EraseSubject(
        request_id=uuid.uuid4(),
        participant="identity",
        subject_ref=subject,
        organisation_id=None,
        issued_at=datetime.now(UTC),
        holds=holds or [],
    )


async def test_an_erase_command_on_kafka_erases_the_user_and_replies_with_evidence(
    flow: Flow, runtime: Runtime, kafka_bootstrap: str, new_topic: Any
) -> None:
    topic = await new_topic("privacy-commands-identity")
    await new_topic(f"{topic}.dlq")
    replies_topic = await new_topic("privacy-replies")
    member, subject = await learner(flow)
    user_id = uuid.UUID(member.user_id)
    created = await runtime.pool.fetchrow(
        "SELECT payload::text AS payload FROM events WHERE event_type = $1 AND stream_id = $2",
        "no.byggrygg.identity.UserCreated",
        f"user-{user_id}",
    )
    old_name_token = json.loads(created["payload"])["name"]
    assert await runtime.keyring.decrypt(subject, old_name_token) == "Kari Nordmann"

    command = erase(subject)
    record = command_record(command, topic=topic)
    await produce(kafka_bootstrap, record)
    async with commands_read(runtime, kafka_bootstrap, topic).running():

        async def replied() -> bool:
            return len(await replies(runtime.pool, command.request_id)) == 1

        await eventually(replied, what="identity's reply")

        # The user's rows are gone, login is refused, old event fields read as erased.
        for table, column in (("users", "user_id"), ("credentials", "principal_id")):
            count = await runtime.pool.fetchval(
                f"SELECT count(*) FROM {table} WHERE {column} = $1",
                user_id,
            )
            assert count == 0, table
        assert (
            await runtime.pool.fetchval(
                "SELECT count(*) FROM login_emails WHERE holder_id = $1", user_id
            )
            == 0
        )
        response = await flow.http.post(
            "/auth/token", json={"email": member.email, "password": "correct horse battery staple"}
        )
        assert response.status_code == 401
        assert await runtime.keyring.decrypt(subject, old_name_token) is ERASED
        erased_events = await runtime.pool.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'no.byggrygg.identity.UserErased' "
            "AND stream_id = $1",
            f"user-{user_id}",
        )
        assert erased_events == 1

        (reply,) = await replies(runtime.pool, command.request_id)
        assert reply.outcome == "completed"
        assert reply.participant == "identity"
        assert reply.command == "erase"
        assert reply.export is None
        actions = {item.location: (item.action, item.count) for item in reply.evidence}
        assert actions["column users.name"] == ("erased", 1)
        assert actions["column login_emails.email"] == ("erased", 1)
        assert actions["column credentials.password_hash"] == ("erased", 1)
        assert actions["event field no.byggrygg.identity.UserCreated.name"] == (
            "crypto_shredded",
            1,
        )
        text = reply.model_dump_json()
        for personal in ("Kari", "Nordmann", member.email, "911 22 333"):
            assert personal not in text

        # A redelivery of the same command changes nothing (no second reply either).
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
        assert {k: v for k, v in after.items() if k not in {"events", "inbox"}} == {
            k: v for k, v in before.items() if k not in {"events", "inbox"}
        }

    # The recorded reply is a CloudEvent for privacy.replies.v1 (published by the relay).
    async with runtime.pool.acquire() as conn:
        (stored,) = await EventStore().load(conn, reply_stream(command.request_id))
    assert stored.topic == "privacy.replies.v1"
    # As the relay writes it: under the emitting service's own name.
    record = to_kafka_record(stored, topic=replies_topic, source_service="identity")
    await produce(kafka_bootstrap, record)
    consumer = AIOKafkaConsumer(
        replies_topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=DEADLINE_SECONDS)
    finally:
        await consumer.stop()
    event = from_kafka_record(message.headers, message.value, key=message.key)
    assert event.source == "/services/identity"
    assert event.contract() == reply


async def test_a_command_sent_again_publishes_the_recorded_reply_again_and_nothing_else(
    flow: Flow, runtime: Runtime
) -> None:
    # The orchestrator re-sends a command (same CloudEvent id) when no reply reached it: the
    # participant must not act twice, but its reply must travel again.
    _, subject = await learner(flow)
    command = received(erase(subject))
    first = await runtime.participant.handle(command)
    assert first is not None
    stream = reply_stream(first.request_id)
    await runtime.pool.execute(
        "UPDATE events SET published_at = now() WHERE stream_id = $1", stream
    )
    before = await snapshot(runtime.pool)

    assert await runtime.participant.handle(command) is None

    (reply,) = await replies(runtime.pool, first.request_id)
    assert reply == first
    pending = await runtime.pool.fetchval(
        "SELECT count(*) FROM events WHERE stream_id = $1 AND published_at IS NULL", stream
    )
    assert pending == 1
    after = await snapshot(runtime.pool)
    assert {k: v for k, v in after.items() if k != "events"} == {
        k: v for k, v in before.items() if k != "events"
    }


async def test_an_export_holds_that_subject_s_data_only(flow: Flow, runtime: Runtime) -> None:
    member, subject = await learner(flow)
    other, _ = await learner(flow, ORG_NUMBERS[1])
    command = ExportSubject(
        request_id=uuid.uuid4(),
        participant="identity",
        subject_ref=subject,
        organisation_id=None,
        issued_at=datetime.now(UTC),
    )
    reply = await runtime.participant.handle(received(command))
    assert reply is not None
    assert reply.export is not None
    exported = await runtime.keyring.decrypt(subject, reply.export)
    assert isinstance(exported, str)
    document = json.loads(exported)
    assert document["user"]["email"] == member.email
    assert document["user"]["name"] == "Kari Nordmann"
    assert document["user"]["user_id"] == member.user_id
    assert other.email not in exported
    assert other.user_id not in exported
    assert {"location": "column users.name", "action": "exported", "count": 1} in [
        item.model_dump(exclude={"basis", "keep_until"}) for item in reply.evidence
    ]


async def test_a_rectification_corrects_the_profile(flow: Flow, runtime: Runtime) -> None:
    member, subject = await learner(flow)
    command = RectifySubject(
        request_id=uuid.uuid4(),
        participant="identity",
        subject_ref=subject,
        organisation_id=None,
        issued_at=datetime.now(UTC),
        corrections={"name": await runtime.keyring.encrypt(subject, "Kari Rettet")},
    )
    reply = await runtime.participant.handle(received(command))
    assert reply is not None
    assert reply.outcome == "completed"
    assert [(item.location, item.action) for item in reply.evidence] == [
        ("column users.name", "rectified")
    ]
    me = await flow.http.get(f"/users/{member.user_id}", headers=member.headers)
    assert me.status_code == 200, me.text
    assert me.json()["name"] == "Kari Rettet"
    corrected = await runtime.pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = 'no.byggrygg.identity.UserProfileCorrected'"
    )
    assert corrected == 1


async def test_a_hold_keeps_what_it_covers_and_the_evidence_names_the_basis(
    flow: Flow, runtime: Runtime
) -> None:
    member, subject = await learner(flow)
    user_id = uuid.UUID(member.user_id)
    hold = Hold(
        hold_id=uuid.uuid4(),
        basis="open_complaint",
        categories=["contact"],
        keep_until=date(2030, 1, 1),
    )
    reply = await runtime.participant.handle(received(erase(subject, holds=[hold])))
    assert reply is not None
    assert reply.outcome == "partially_completed"
    by_location = {item.location: item for item in reply.evidence}
    kept = by_location["column login_emails.email"]
    assert kept.action == "kept"
    assert kept.basis is not None
    assert "open_complaint" in kept.basis
    assert kept.keep_until == date(2030, 1, 1)
    assert by_location["column users.name"].action == "erased"
    assert by_location["column users.phone"].action == "kept"
    # The held contact data stays; the rest of the row is cleared; the key stays.
    row = await runtime.pool.fetchrow(
        "SELECT u.name, u.phone, u.gender, u.status, e.email FROM users u "
        "JOIN login_emails e ON e.holder_id = u.user_id WHERE u.user_id = $1",
        user_id,
    )
    assert row["email"] == member.email
    assert row["phone"] == "+47 911 22 333"
    assert row["name"] == str(ERASED)
    assert row["gender"] is None
    assert row["status"] == "cancelled"
    assert not await runtime.keyring.is_shredded(subject)
    # The kept row still reads (its organisation's admin): the erased language is the
    # portal's default, not a marker that no longer parses.
    admin_token = await flow.log_in(f"admin-{ORG_NUMBERS[0]}@example.no")
    kept_user = await flow.http.get(
        f"/users/{member.user_id}", headers={"Authorization": f"Bearer {admin_token}"}
    )
    assert kept_user.status_code == 200, kept_user.text
    assert kept_user.json()["language"] == "nb"
    assert kept_user.json()["name"] == str(ERASED)


async def learners(flow: Flow, count: int) -> list[str]:
    """``count`` learners of one organisation; their subject refs."""
    organisation = await flow.register(ORG_NUMBERS[1])
    admin = await flow.admin(organisation["organisation_id"], "admin-burst@example.no")
    subjects = []
    for n in range(count):
        member = await flow.learner(organisation["organisation_id"], admin, f"l{n}@example.no")
        subject = await flow.runtime.pool.fetchval(
            "SELECT subject_ref FROM users WHERE user_id = $1", uuid.UUID(member.user_id)
        )
        subjects.append(str(subject))
    return subjects


async def dead_letters(bootstrap: str, topic: str, count: int) -> list[Any]:
    """The first ``count`` records of ``topic`` (fails after the deadline)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[Any] = []
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while len(found) < count:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    found.extend(batch)
    finally:
        await consumer.stop()
    return found


async def test_a_burst_of_commands_is_applied_in_one_transaction(
    flow: Flow, runtime: Runtime, kafka_bootstrap: str, new_topic: Any
) -> None:
    """A contract end's burst: the commands read in one batch commit together (their replies
    share one transaction id), the same command twice in it is applied once."""
    topic = await new_topic("privacy-commands-identity")
    await new_topic(f"{topic}.dlq")
    subjects = await learners(flow, 3)
    commands = [erase(subject) for subject in subjects]
    records = [command_record(command, topic=topic) for command in commands]
    # Produced before the subscriber starts: its first fetch holds all four.
    await produce(kafka_bootstrap, *records, records[0])
    async with commands_read(runtime, kafka_bootstrap, topic).running():

        async def all_replied() -> bool:
            found = [await replies(runtime.pool, c.request_id) for c in commands]
            return all(len(each) == 1 for each in found)

        await eventually(all_replied, what="identity's replies to the burst")

    transactions = await runtime.pool.fetchval(
        "SELECT count(DISTINCT xmin::text) FROM events WHERE stream_id = ANY($1::text[])",
        [reply_stream(c.request_id) for c in commands],
    )
    assert transactions == 1
    for subject in subjects:
        assert await runtime.keyring.is_shredded(subject)
        assert (
            await runtime.pool.fetchval(
                "SELECT count(*) FROM users WHERE subject_ref = $1", subject
            )
            == 0
        )


async def test_a_command_that_fails_goes_alone_to_the_dlq_and_the_rest_of_its_batch_is_applied(
    flow: Flow, runtime: Runtime, kafka_bootstrap: str, new_topic: Any
) -> None:
    topic = await new_topic("privacy-commands-identity")
    dlq = await new_topic(f"{topic}.dlq")
    first, bad, last = await learners(flow, 3)
    erasures = [erase(first), erase(last)]
    # A correction identity cannot read (not a key-ring token): it fails however often tried.
    unreadable = RectifySubject(
        request_id=uuid.uuid4(),
        participant="identity",
        subject_ref=bad,
        organisation_id=None,
        issued_at=datetime.now(UTC),
        corrections={"name": "not a token"},
    )
    misrouted = erase(bad).model_copy(update={"participant": "courses"})
    await produce(
        kafka_bootstrap,
        command_record(erasures[0], topic=topic),
        command_record(unreadable, topic=topic),
        command_record(misrouted, topic=topic),
        command_record(erasures[1], topic=topic),
    )
    async with commands_read(runtime, kafka_bootstrap, topic).running():
        letters = await dead_letters(kafka_bootstrap, dlq, 2)

        async def erased() -> bool:
            found = [await replies(runtime.pool, c.request_id) for c in erasures]
            return all(len(each) == 1 for each in found)

        await eventually(erased, what="the erasures beside the bad commands")

    attempts = {
        json.loads(letter.value)["request_id"]: dict(letter.headers)["dlq_attempts"]
        for letter in letters
    }
    # The unreadable one after every attempt, the misrouted one at once.
    assert attempts == {str(unreadable.request_id): b"5", str(misrouted.request_id): b"1"}
    assert await replies(runtime.pool, unreadable.request_id) == []
    assert await runtime.keyring.is_shredded(first)
    assert await runtime.keyring.is_shredded(last)
    assert not await runtime.keyring.is_shredded(bad)  # nothing of its commands applied
    assert (
        await runtime.pool.fetchval("SELECT count(*) FROM users WHERE subject_ref = $1", bad) == 1
    )
