"""courses as a participant of data-subject requests, on real PostgreSQL and Kafka: a real
EraseSubject CloudEvent deletes the learner's rows and anonymises their answers (still counted
for statistics, no row with the old subject_ref or ids, no free text), records a
ParticipantReplied with evidence and no personal data; a redelivery changes nothing; an export
holds that subject's data only; a hold keeps what it covers and says so."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from byggrygg_shared.auth import Role
from byggrygg_shared.contracts.identity import LicenceGranted
from byggrygg_shared.contracts.privacy import (
    EraseSubject,
    ExportSubject,
    Hold,
    RectifySubject,
)
from byggrygg_shared.keyring import ERASED
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.subscriptions import Subscriptions
from courses.bootstrap import Runtime
from courses.entrypoints.consumers import register_consumers
from courses.service_layer.licences import handle_licence_granted

from ....participant_testing import command_record, eventually, produce, received, replies
from .support import Person, Steps, licence_granted, questions_of, snapshot

SECRET = "Basen sa at stillaset var trygt, men det var det ikke"


def erase(subject: str, *, holds: list[Hold] | None = None) -> EraseSubject:
    return EraseSubject(
        request_id=uuid.uuid4(),
        participant="courses",
        subject_ref=subject,
        organisation_id=None,
        issued_at=datetime.now(UTC),
        holds=holds or [],
    )


async def answered_learner(steps: Steps, organisation: uuid.UUID, course: dict[str, Any]) -> Person:
    """A licensed learner who answered every question of `course`, free text included."""
    learner = await steps.licensed_learner(organisation)
    enrolments = await steps.my_enrolments(learner)
    (enrolment,) = [e for e in enrolments if e["course_id"] == course["course_id"]]
    enrolment_id = enrolment["enrolment_id"]
    taken = await steps.http.get(f"/me/enrolments/{enrolment_id}", headers=learner.headers)
    questions = questions_of(taken.json()["content"])
    bodies = {
        "single_choice": {
            "selected_option_ids": [questions["single_choice"]["options"][0]["option_id"]]
        },
        "multiple_choice": {
            "selected_option_ids": [questions["multiple_choice"]["options"][1]["option_id"]]
        },
        "scale": {"scale_value": 4},
        "free_text": {"text": f"{SECRET} ({learner.subject_ref})"},
    }
    for kind, body in bodies.items():
        response = await steps.http.put(
            f"/me/enrolments/{enrolment_id}/answers/{questions[kind]['question_id']}",
            json=body,
            headers=learner.headers,
        )
        assert response.status_code == 200, response.text
    return learner


async def links_to(runtime: Runtime, learner: Person) -> dict[str, int]:
    """Rows of courses' projections that still name the learner (subject_ref or user id)."""
    async with runtime.pool.acquire() as conn:
        return {
            "learners": await conn.fetchval(
                "SELECT count(*) FROM learners WHERE subject_ref = $1 OR user_id = $2",
                learner.subject_ref,
                learner.user_id,
            ),
            "enrolments": await conn.fetchval(
                "SELECT count(*) FROM enrolments WHERE subject_ref = $1 OR user_id = $2",
                learner.subject_ref,
                learner.user_id,
            ),
            "answers": await conn.fetchval(
                "SELECT count(*) FROM answers WHERE subject_ref = $1", learner.subject_ref
            ),
        }


async def test_an_erase_command_on_kafka_anonymises_the_answers_and_replies_with_evidence(
    steps: Steps, runtime: Runtime, kafka_bootstrap: str, new_topic: Any
) -> None:
    topic = await new_topic("privacy-commands-courses")
    await new_topic(f"{topic}.dlq")
    organisation = uuid.uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner = await answered_learner(steps, organisation, course)
    other = await answered_learner(steps, organisation, course)
    (enrolment,) = await steps.my_enrolments(learner)
    old_enrolment_id = uuid.UUID(enrolment["enrolment_id"])
    answers_before = await runtime.pool.fetch(
        "SELECT kind, selected_option_ids, scale_value FROM answers ORDER BY kind"
    )
    assert len(answers_before) == 8
    token = await runtime.pool.fetchval(
        "SELECT free_text FROM answers WHERE subject_ref = $1 AND free_text IS NOT NULL",
        learner.subject_ref,
    )

    command = erase(learner.subject_ref)
    record = command_record(command, topic=topic)
    await produce(kafka_bootstrap, record)
    subscriptions = Subscriptions(
        bootstrap=kafka_bootstrap,
        client_id="courses-test",
        register=register_consumers(
            runtime.deps,
            user_topic=await new_topic("identity-user"),
            group_id=f"courses-test-{uuid.uuid4().hex[:8]}",
            participant=runtime.participant,
            privacy_command_topic=topic,
        ),
        backoff=Backoff(initial=0.01, maximum=0.05),
    )
    async with subscriptions.running():

        async def replied() -> bool:
            return len(await replies(runtime.pool, command.request_id)) == 1

        await eventually(replied, what="courses' reply")

        # Nothing in the projections names the learner; the other learner is untouched.
        assert await links_to(runtime, learner) == {"learners": 0, "enrolments": 0, "answers": 0}
        assert await links_to(runtime, other) == {"learners": 1, "enrolments": 1, "answers": 4}
        # The answers are still there for the statistics, with the same values...
        answers_after = await runtime.pool.fetch(
            "SELECT kind, selected_option_ids, scale_value FROM answers ORDER BY kind"
        )
        assert sorted(map(tuple, answers_after)) == sorted(map(tuple, answers_before))
        # ... but under new random ids of their own, without free text, linked to nothing.
        anonymous = await runtime.pool.fetch(
            "SELECT enrolment_id, subject_ref, free_text, answered_at FROM answers "
            "WHERE subject_ref <> $1",
            other.subject_ref,
        )
        assert len(anonymous) == 4
        assert all(row["free_text"] is None for row in anonymous)
        assert len({row["enrolment_id"] for row in anonymous}) == 4
        assert old_enrolment_id not in {row["enrolment_id"] for row in anonymous}
        assert all(row["subject_ref"].startswith("anonymous-") for row in anonymous)
        assert all(
            row["answered_at"]
            == datetime.combine(row["answered_at"].date(), datetime.min.time(), UTC)
            for row in anonymous
        )
        assert (
            await runtime.pool.fetchval(
                "SELECT count(*) FROM enrolments e WHERE NOT EXISTS "
                "(SELECT 1 FROM answers a WHERE a.enrolment_id = e.enrolment_id)"
            )
            == 0
        )
        # The free text's key is destroyed: every copy (events, Kafka) reads as erased.
        assert await runtime.keyring.decrypt(learner.subject_ref, token) is ERASED
        # The enrolment's stream says so, without personal data; nothing more is accepted.
        erased_events = await runtime.pool.fetch(
            "SELECT payload::text AS payload FROM events "
            "WHERE event_type = 'no.byggrygg.courses.EnrolmentErased' AND stream_id = $1",
            f"enrolment-{old_enrolment_id}",
        )
        assert len(erased_events) == 1
        payload = json.loads(erased_events[0]["payload"])
        assert payload["answers_anonymised"] == 4
        assert payload["request_id"] == str(command.request_id)

        (reply,) = await replies(runtime.pool, command.request_id)
        assert reply.outcome == "completed"
        assert reply.participant == "courses"
        assert reply.command == "erase"
        assert reply.export is None
        actions = {item.location: (item.action, item.count) for item in reply.evidence}
        assert actions["table learners"] == ("erased", 1)
        assert actions["table enrolments"] == ("erased", 1)
        assert actions["column answers.free_text"] == ("anonymised", 1)
        assert actions["column answers.selected_option_ids"] == ("anonymised", 2)
        assert actions["column answers.scale_value"] == ("anonymised", 1)
        assert actions["column enrolments.answered_count"] == ("erased", 1)
        assert actions["event field no.byggrygg.courses.AnswerSubmitted.free_text"] == (
            "crypto_shredded",
            1,
        )
        text = reply.model_dump_json()
        assert "Basen" not in text
        assert str(learner.user_id) not in text
        assert str(old_enrolment_id) not in text

        # A redelivery of the same command changes nothing (no second reply either).
        before = await snapshot(runtime.pool)
        await produce(kafka_bootstrap, record)
        marker = erase(f"subj_unknown_{uuid.uuid4().hex}")  # a marker behind it
        await produce(kafka_bootstrap, command_record(marker, topic=topic))

        async def marker_done() -> bool:
            return len(await replies(runtime.pool, marker.request_id)) == 1

        await eventually(marker_done, what="the command behind the redelivery")
        assert len(await replies(runtime.pool, command.request_id)) == 1
        after = await snapshot(runtime.pool)
        # Only the marker's claim, reply and erased-subject entry were written.
        written = {"events", "inbox", "erased_learners"}
        assert {k: v for k, v in after.items() if k not in written} == {
            k: v for k, v in before.items() if k not in written
        }
        for table in written:
            assert after[table][0] == before[table][0] + 1, table

    # The answers of an erased enrolment are refused.
    response = await steps.http.put(
        f"/me/enrolments/{old_enrolment_id}/answers/{uuid.uuid4()}",
        json={"scale_value": 1},
        headers=learner.headers,
    )
    assert response.status_code in {404, 409, 422}, response.text


def _hold(categories: list[str]) -> Hold:
    return Hold(
        hold_id=uuid.uuid4(),
        basis="open_complaint",
        categories=categories,
        keep_until=date(2030, 1, 1),
    )


async def test_an_export_holds_that_subject_s_data_only(steps: Steps, runtime: Runtime) -> None:
    organisation = uuid.uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner = await answered_learner(steps, organisation, course)
    other = await answered_learner(steps, organisation, course)
    command = ExportSubject(
        request_id=uuid.uuid4(),
        participant="courses",
        subject_ref=learner.subject_ref,
        organisation_id=None,
        issued_at=datetime.now(UTC),
    )
    reply = await runtime.participant.handle(received(command))
    assert reply is not None
    assert reply.outcome == "completed"
    assert reply.export is not None
    exported = await runtime.keyring.decrypt(learner.subject_ref, reply.export)
    assert isinstance(exported, str)
    document = json.loads(exported)
    assert document["service"] == "courses"
    assert document["learner"]["user_id"] == str(learner.user_id)
    (enrolment,) = document["enrolments"]
    assert enrolment["course_id"] == course["course_id"]
    assert enrolment["answered_count"] == 4
    assert len(document["answers"]) == 4
    texts = [a["free_text"] for a in document["answers"] if a["free_text"] is not None]
    assert texts == [f"{SECRET} ({learner.subject_ref})"]
    assert other.subject_ref not in exported
    assert str(other.user_id) not in exported
    by_location = {item.location: (item.action, item.count) for item in reply.evidence}
    assert by_location["column answers.free_text"] == ("exported", 1)
    assert by_location["table learners"] == ("exported", 1)
    assert SECRET not in reply.model_dump_json()


async def test_a_rectification_has_nothing_to_correct(steps: Steps, runtime: Runtime) -> None:
    organisation = uuid.uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner = await answered_learner(steps, organisation, course)
    before = await snapshot(runtime.pool)
    command = RectifySubject(
        request_id=uuid.uuid4(),
        participant="courses",
        subject_ref=learner.subject_ref,
        organisation_id=None,
        issued_at=datetime.now(UTC),
        corrections={"name": await runtime.keyring.encrypt(learner.subject_ref, "Kari Rettet")},
    )
    reply = await runtime.participant.handle(received(command))
    assert reply is not None
    assert (reply.outcome, reply.evidence, reply.export) == ("completed", [], None)
    after = await snapshot(runtime.pool)
    assert {k: v for k, v in after.items() if k not in {"events", "inbox"}} == {
        k: v for k, v in before.items() if k not in {"events", "inbox"}
    }


async def test_a_hold_keeps_what_it_covers_and_the_evidence_names_the_basis(
    steps: Steps, runtime: Runtime
) -> None:
    organisation = uuid.uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner = await answered_learner(steps, organisation, course)
    token = await runtime.pool.fetchval(
        "SELECT free_text FROM answers WHERE subject_ref = $1 AND free_text IS NOT NULL",
        learner.subject_ref,
    )
    reply = await runtime.participant.handle(
        received(erase(learner.subject_ref, holds=[_hold(["content"])]))
    )
    assert reply is not None
    assert reply.outcome == "partially_completed"
    by_location = {item.location: item for item in reply.evidence}
    kept = by_location["column answers.free_text"]
    assert kept.action == "kept"
    assert kept.basis is not None
    assert "open_complaint" in kept.basis
    assert kept.keep_until == date(2030, 1, 1)
    assert by_location["column answers.scale_value"].action == "kept"
    assert by_location["table learners"].action == "erased"
    # The held answers and their enrolment stay as they were; the key stays.
    links = await links_to(runtime, learner)
    assert links == {"learners": 0, "enrolments": 1, "answers": 4}
    assert await runtime.keyring.decrypt(learner.subject_ref, token) == (
        f"{SECRET} ({learner.subject_ref})"
    )
    assert not await runtime.keyring.is_shredded(learner.subject_ref)

    # When the hold ends, the orchestrator erases again: now the answers are anonymised.
    reply = await runtime.participant.handle(received(erase(learner.subject_ref)))
    assert reply is not None
    assert reply.outcome == "completed"
    assert await links_to(runtime, learner) == {"learners": 0, "enrolments": 0, "answers": 0}
    assert await runtime.pool.fetchval("SELECT count(*) FROM answers") == 4
    assert await runtime.keyring.is_shredded(learner.subject_ref)


async def test_a_licence_granted_after_the_erasure_does_not_bring_the_learner_back(
    steps: Steps, runtime: Runtime
) -> None:
    """The erasure travels on the privacy command topic, the licence on identity's: the
    command may overtake the licence. The erased subject stays erased (R6, R16)."""
    organisation = uuid.uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner = steps.people.make(Role.LEARNER, organisation_id=organisation)
    reply = await runtime.participant.handle(received(erase(learner.subject_ref)))
    assert reply is not None
    assert reply.outcome == "completed"

    late = licence_granted(learner)
    contract = late.contract()
    assert isinstance(contract, LicenceGranted)
    assert await handle_licence_granted(deps=runtime.deps, event=contract, received=late)
    assert await links_to(runtime, learner) == {"learners": 0, "enrolments": 0, "answers": 0}
    # A learner never erased is enrolled as before.
    other = await steps.licensed_learner(organisation)
    assert (await links_to(runtime, other))["learners"] == 1
