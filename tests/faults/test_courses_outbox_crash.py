"""courses killed (SIGKILL) right after answering with 200, before its outbox relay published
the answers: after the restart every `AnswerSubmitted` is on courses.enrolment.v1, none lost,
each enrolment's answers in the order they were given.

The crash is made deterministic: the relay publishes only while it holds its advisory lock
(`byggrygg_shared.outbox.RELAY_LOCK_KEY`, one active relay per database), so the test holds
that lock while a restarted courses process takes the answers. Its relay stands by; the events
are committed, unpublished (checked in the event store), when courses is SIGKILLed. The test
lets go of the lock, courses starts again, and its relay must publish them all.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import asyncpg
import httpx
import pytest

from byggrygg_shared.contracts.courses import ENROLMENT_TOPIC, AnswerSubmitted
from byggrygg_shared.outbox import RELAY_LOCK_KEY

from ..identity_client import IdentityApi, Member
from ..platform_processes import Platform, kill_service, restarted_service
from .crash_tools import connected, end_offsets, eventually, header, payload, records_since, scalar
from .learning import PublishedCourse, add_learners, grant_licences, publish_and_assign

pytestmark = pytest.mark.slow

LEARNERS = 3
ROUNDS = 5

# What one submission was: (enrolment, question, scale value or chosen options).
Submission = tuple[str, str, Any]


async def _enrolment_of(courses: httpx.AsyncClient, learner: Member) -> str | None:
    response = await courses.get("/me/enrolments", headers=learner.headers)
    assert response.status_code == 200, response.text
    enrolments = response.json()
    return str(enrolments[0]["enrolment_id"]) if enrolments else None


async def _holds_relay_lock(conn: asyncpg.Connection) -> bool | None:
    """Take the relay's lock for this test's session; None while a relay still holds it."""
    taken = await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY)
    return True if taken else None


async def _outbox_empty(dsn: str) -> bool | None:
    unpublished = await scalar(dsn, "SELECT count(*) FROM events WHERE published_at IS NULL")
    return True if unpublished == 0 else None


async def _answer_rounds(
    courses: httpx.AsyncClient, course: PublishedCourse, answering: list[tuple[Member, str]]
) -> list[Submission]:
    """Each learner in turn answers both questions, ROUNDS times (the last answer wins; each
    submission is its own event): interleaved enrolments, a known order within each."""
    given: list[Submission] = []
    for round_ in range(1, ROUNDS + 1):
        for learner, enrolment_id in answering:
            option = course.choice_option_ids[round_ % 2]
            for question_id, body, value in (
                (course.scale_question_id, {"scale_value": round_}, round_),
                (course.choice_question_id, {"selected_option_ids": [option]}, [option]),
            ):
                answered = await courses.put(
                    f"/me/enrolments/{enrolment_id}/answers/{question_id}",
                    json=body,
                    headers=learner.headers,
                )
                assert answered.status_code == 200, answered.text
                given.append((enrolment_id, question_id, value))
    return given


async def test_answers_committed_before_a_kill_all_reach_kafka_in_order(
    courses_platform: Platform, courses_identity: IdentityApi, kafka_bootstrap: str
) -> None:
    platform, identity = courses_platform, courses_identity
    dsn = platform["courses"].database_url
    async with httpx.AsyncClient(base_url=platform.url("courses"), timeout=30.0) as courses:
        org_id = str((await identity.register_organisation())["organisation_id"])
        admin = await identity.add_admin(org_id)
        course = await publish_and_assign(courses, identity.staff, org_id)
        learners = await add_learners(identity, org_id, admin, LEARNERS)
        await grant_licences(identity, admin, learners)
        answering: list[tuple[Member, str]] = []
        for learner in learners:
            enrolled = partial(_enrolment_of, courses, learner)
            answering.append((learner, await eventually(enrolled, what="courses enrols them")))
        before_answers = await end_offsets(kafka_bootstrap, platform.topic(ENROLMENT_TOPIC))

        # A courses process whose relay cannot publish takes the answers; then it is killed.
        await kill_service(platform["courses"])
        async with connected(dsn) as holder:
            await eventually(lambda: _holds_relay_lock(holder), what="the relay's lock is free")
            async with restarted_service(platform, "courses") as second:
                given = await _answer_rounds(courses, course, answering)
                unpublished = await scalar(
                    dsn,
                    "SELECT count(*) FROM events WHERE event_type = $1 AND published_at IS NULL "
                    "AND payload->>'organisation_id' = $2",
                    AnswerSubmitted.event_type,
                    org_id,
                )
                assert unpublished == len(given) == LEARNERS * ROUNDS * 2
                await kill_service(second)
            await holder.execute("SELECT pg_advisory_unlock($1)", RELAY_LOCK_KEY)

        async with restarted_service(platform, "courses"):
            await eventually(lambda: _outbox_empty(dsn), what="the restarted relay publishes")
            records = await records_since(kafka_bootstrap, before_answers)

    # Each event once (a re-sent copy has the same id), in the order read per partition: one
    # enrolment's events share a key, so a partition, so Kafka's order is theirs.
    published: list[Submission] = []
    seen: set[str] = set()
    for record in records:
        if header(record, "ce_type") != AnswerSubmitted.ce_type():
            continue
        body = payload(record)
        if body["organisation_id"] != org_id or header(record, "ce_id") in seen:
            continue
        seen.add(header(record, "ce_id"))
        value = body["scale_value"] if body["kind"] == "scale" else body["selected_option_ids"]
        published.append((body["enrolment_id"], body["question_id"], value))
    for _, enrolment_id in answering:
        mine = [submission for submission in given if submission[0] == enrolment_id]
        on_kafka = [submission for submission in published if submission[0] == enrolment_id]
        assert on_kafka == mine, f"enrolment {enrolment_id}: answers lost or out of order"
    assert len(published) == len(given)
