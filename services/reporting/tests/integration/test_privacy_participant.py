"""reporting as a participant of data-subject requests, on real PostgreSQL and Kafka: a real
EraseSubject CloudEvent cuts the person's link (answers stay, anonymous; free-text token gone,
the key shredded) and a replay of the topics never re-links them; a redelivery changes
nothing; a hold on content keeps everything and says why; an export holds that person's
enrolments and answers only; a rectification has nothing to correct."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from byggrygg_shared.contracts.privacy import (
    EraseSubject,
    ExportSubject,
    Hold,
    ParticipantReplied,
    RectifySubject,
)
from byggrygg_shared.keyring import ERASED
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.subscriptions import Subscriptions
from reporting.bootstrap import Runtime
from reporting.entrypoints.consumers import register_consumers

from ....participant_testing import command_record, eventually, produce, replies
from .support import CourseStory, Enrolment, apply_records

ORG = uuid.uuid4()
NewTopic = Callable[..., Awaitable[str]]


def erase(subject: str, holds: list[Hold] | None = None) -> EraseSubject:
    return EraseSubject(
        request_id=uuid.uuid4(),
        participant="reporting",
        subject_ref=subject,
        organisation_id=ORG,
        issued_at=datetime.now(UTC),
        holds=holds or [],
    )


async def two_learners(runtime: Runtime) -> tuple[CourseStory, Enrolment, Enrolment]:
    """Kari and Ola answered every question (free text sealed under their own keys)."""
    story = CourseStory()
    course = story.course(organisations=(ORG,))
    kari = story.enrol(course, ORG)
    ola = story.enrol(course, ORG)
    for learner, option, scale in ((kari, 0, 4), (ola, 1, 2)):
        story.answer(learner, course.choice, selected_option_ids=[course.options[option]])
        story.answer(learner, course.scale, scale_value=scale)
        token = await runtime.keyring.encrypt(learner.subject_ref, "Vondt i korsryggen")
        story.answer(learner, course.text, free_text=token)
    story.complete(kari)
    await apply_records(runtime.pool, story.records)
    return story, kari, ola


async def run_commands(
    runtime: Runtime,
    kafka_bootstrap: str,
    new_topic: NewTopic,
    *commands: EraseSubject | ExportSubject | RectifySubject,
    redeliver: bool = False,
) -> list[ParticipantReplied]:
    """Produce `commands` (twice each with `redeliver`), run reporting's subscribers until each
    has its reply; the replies, in order."""
    topic = await new_topic("reporting-commands")
    catalogue = await new_topic("reporting-catalogue")
    enrolment = await new_topic("reporting-enrolment")
    records = [command_record(command, topic=topic) for command in commands]
    await produce(kafka_bootstrap, *(records * (2 if redeliver else 1)))
    subscriptions = Subscriptions(
        bootstrap=kafka_bootstrap,
        client_id="reporting-test",
        register=register_consumers(
            runtime,
            group_id=f"reporting-test-{uuid.uuid4().hex[:8]}",
            catalogue_topic=catalogue,
            enrolment_topic=enrolment,
            privacy_command_topic=topic,
        ),
        backoff=Backoff(initial=0.01, maximum=0.05),
    )
    found: list[ParticipantReplied] = []
    async with subscriptions.running():
        for command in commands:

            async def replied(request_id: uuid.UUID = command.request_id) -> bool:
                return len(await replies(runtime.pool, request_id)) >= 1

            await eventually(replied, what="reporting's reply")
        if redeliver:
            # The second copies are consumed once the group's offsets pass them.
            async def consumed() -> bool:
                claimed = await runtime.pool.fetchval("SELECT count(*) FROM inbox")
                return int(claimed) >= len(commands)

            await eventually(consumed, what="the redelivered commands")
    for command in commands:
        found.extend(await replies(runtime.pool, command.request_id))
    return found


def by_location(reply: ParticipantReplied) -> dict[str, tuple[str, int]]:
    return {item.location: (item.action, item.count) for item in reply.evidence}


async def test_erasure_cuts_the_link_and_keeps_the_answers_anonymous(
    runtime: Runtime, kafka_bootstrap: str, new_topic: NewTopic
) -> None:
    story, kari, ola = await two_learners(runtime)
    kari_token = await runtime.pool.fetchval(
        "SELECT free_text_token FROM answers WHERE enrolment_id = $1 "
        "AND free_text_token IS NOT NULL",
        kari.enrolment_id,
    )
    command = erase(kari.subject_ref)

    [reply] = await run_commands(runtime, kafka_bootstrap, new_topic, command, redeliver=True)

    assert reply.outcome == "completed"
    assert by_location(reply) == {
        "column enrolments.subject_ref": ("erased", 1),
        "column answers.selected_option_ids": ("anonymised", 3),
        "column answers.scale_value": ("anonymised", 3),
        "column answers.answered_at": ("anonymised", 3),
        "column answers.free_text_token": ("crypto_shredded", 1),
    }
    # The link is cut; the answers stay (R4), the free text is gone and unreadable anyway.
    enrolment = await runtime.pool.fetchrow(
        "SELECT subject_ref, unlinked, completed_at IS NOT NULL AS completed "
        "FROM enrolments WHERE enrolment_id = $1",
        kari.enrolment_id,
    )
    assert dict(enrolment or {}) == {"subject_ref": None, "unlinked": True, "completed": True}
    kept = await runtime.pool.fetch(
        "SELECT scale_value, free_text_token FROM answers WHERE enrolment_id = $1",
        kari.enrolment_id,
    )
    assert sorted(row["scale_value"] or 0 for row in kept) == [0, 0, 4]
    assert all(row["free_text_token"] is None for row in kept)
    assert await runtime.keyring.decrypt(kari.subject_ref, kari_token) is ERASED
    assert not await runtime.pool.fetchval(
        "SELECT count(*) FROM enrolments WHERE subject_ref = $1", kari.subject_ref
    )
    # Ola is untouched.
    assert (
        await runtime.pool.fetchval(
            "SELECT count(*) FROM answers WHERE enrolment_id = $1 AND free_text_token IS NOT NULL",
            ola.enrolment_id,
        )
        == 1
    )
    # Replaying courses' topics (a rebuild, a late event) never re-links Kari.
    await apply_records(runtime.pool, story.records)
    assert not await runtime.pool.fetchval(
        "SELECT count(*) FROM enrolments WHERE subject_ref = $1", kari.subject_ref
    )
    assert not await runtime.pool.fetchval(
        "SELECT count(*) FROM answers WHERE enrolment_id = $1 AND free_text_token IS NOT NULL",
        kari.enrolment_id,
    )


async def test_a_hold_on_content_keeps_everything_linked(
    runtime: Runtime, kafka_bootstrap: str, new_topic: NewTopic
) -> None:
    _, kari, _ = await two_learners(runtime)
    hold = Hold(
        hold_id=uuid.uuid4(),
        basis="open_complaint",
        categories=["content"],
        keep_until=None,
    )
    [reply] = await run_commands(
        runtime, kafka_bootstrap, new_topic, erase(kari.subject_ref, [hold])
    )
    assert reply.outcome == "partially_completed"
    assert {action for action, _ in by_location(reply).values()} == {"kept"}
    assert all(str(hold.hold_id) in (item.basis or "") for item in reply.evidence)
    assert (
        await runtime.pool.fetchval(
            "SELECT subject_ref FROM enrolments WHERE enrolment_id = $1", kari.enrolment_id
        )
        == kari.subject_ref
    )


async def test_export_and_rectify(
    runtime: Runtime, kafka_bootstrap: str, new_topic: NewTopic
) -> None:
    _, kari, _ = await two_learners(runtime)
    export = ExportSubject(
        request_id=uuid.uuid4(),
        participant="reporting",
        subject_ref=kari.subject_ref,
        organisation_id=ORG,
        issued_at=datetime.now(UTC),
    )
    rectify = RectifySubject(
        request_id=uuid.uuid4(),
        participant="reporting",
        subject_ref=kari.subject_ref,
        organisation_id=ORG,
        issued_at=datetime.now(UTC),
        corrections={"name": await runtime.keyring.encrypt(kari.subject_ref, "Kari N.")},
    )
    exported, rectified = await run_commands(runtime, kafka_bootstrap, new_topic, export, rectify)

    assert exported.export is not None
    part = json.loads(str(await runtime.keyring.decrypt(kari.subject_ref, exported.export)))
    [enrolment] = part["enrolments"]
    assert enrolment["enrolment_id"] == str(kari.enrolment_id)
    assert enrolment["completed_at"] is not None
    assert len(enrolment["answers"]) == 3
    assert {a["free_text_given"] for a in enrolment["answers"]} == {True, False}
    assert "Vondt" not in json.dumps(part)
    assert by_location(exported)["column enrolments.subject_ref"] == ("exported", 1)

    assert rectified.outcome == "completed"
    assert rectified.evidence == []
