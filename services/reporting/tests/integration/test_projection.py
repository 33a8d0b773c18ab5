"""The read models project courses' events (on real PostgreSQL): course structure, enrolments,
the last answer per question with its period, completions; free text only as the token; a
redelivery changes nothing; courses' EnrolmentErased cuts the link and keeps the answers; an
event arriving after reporting's erasure of the person is stored unlinked."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from byggrygg_shared.contracts.privacy import EraseSubject
from byggrygg_shared.db import transaction
from reporting.bootstrap import Runtime
from reporting.service_layer.privacy_commands import ReportingPrivacy

from .support import START, CourseStory, apply_records

ORG = uuid.uuid4()
TOKEN = "enc:v1:key:bm9uY2UrY2lwaGVydGV4dA=="


async def rows(runtime: Runtime, sql: str) -> list[dict[str, object]]:
    return [dict(row) for row in await runtime.pool.fetch(sql)]


async def test_a_course_and_its_answers_are_projected(runtime: Runtime) -> None:
    story = CourseStory()
    course = story.course(organisations=(ORG,))
    kari = story.enrol(course, ORG)
    story.answer(kari, course.choice, selected_option_ids=[course.options[0]])
    # The last submission is the answer; its period is the month of the event time.
    later = START + timedelta(days=30)
    story.answer(kari, course.choice, selected_option_ids=[course.options[2]], at=later)
    story.answer(kari, course.scale, scale_value=4)
    story.answer(kari, course.text, free_text=TOKEN)
    story.complete(kari, at=later)
    await apply_records(runtime.pool, story.records)

    assert await rows(runtime, "SELECT course_id, title, published_version FROM courses") == [
        {"course_id": course.course_id, "title": "Trygt løft", "published_version": 1}
    ]
    questions = await rows(
        runtime, "SELECT question_id, kind, position FROM course_questions ORDER BY position"
    )
    assert [(q["question_id"], q["kind"]) for q in questions] == [
        (course.choice, "single_choice"),
        (course.scale, "scale"),
        (course.text, "free_text"),
    ]
    options = await rows(runtime, "SELECT option_id FROM question_options ORDER BY position")
    assert [o["option_id"] for o in options] == list(course.options)
    assert await rows(runtime, "SELECT course_id, organisation_id FROM course_assignments") == [
        {"course_id": course.course_id, "organisation_id": ORG}
    ]
    enrolment = await runtime.pool.fetchrow("SELECT * FROM enrolments")
    assert enrolment is not None
    assert enrolment["subject_ref"] == kari.subject_ref
    assert enrolment["started_period"] == date(2026, 3, 1)
    assert enrolment["completed_period"] == date(2026, 4, 1)
    answers = {
        row["question_id"]: row
        for row in await runtime.pool.fetch(
            "SELECT * FROM answers WHERE enrolment_id = $1", kari.enrolment_id
        )
    }
    assert answers[course.choice]["selected_option_ids"] == [course.options[2]]
    assert answers[course.choice]["period"] == date(2026, 4, 1)
    assert answers[course.scale]["scale_value"] == 4
    assert answers[course.scale]["period"] == date(2026, 3, 1)
    assert answers[course.text]["free_text_token"] == TOKEN


async def test_a_redelivery_changes_nothing(runtime: Runtime) -> None:
    story = CourseStory()
    course = story.course(organisations=(ORG,))
    kari = story.enrol(course, ORG)
    story.answer(kari, course.scale, scale_value=2)
    story.complete(kari)
    await apply_records(runtime.pool, story.records)
    before = [
        await rows(runtime, f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in ("courses", "course_questions", "enrolments", "answers")
    ]
    await apply_records(runtime.pool, story.records)
    after = [
        await rows(runtime, f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in ("courses", "course_questions", "enrolments", "answers")
    ]
    assert after == before


async def test_courses_erasure_cuts_the_link_and_keeps_the_answers(runtime: Runtime) -> None:
    story = CourseStory()
    course = story.course(organisations=(ORG,))
    kari = story.enrol(course, ORG)
    story.answer(kari, course.scale, scale_value=5)
    story.answer(kari, course.text, free_text=TOKEN)
    story.erased_by_courses(kari)
    await apply_records(runtime.pool, story.records)

    enrolment = await runtime.pool.fetchrow("SELECT subject_ref, unlinked FROM enrolments")
    assert dict(enrolment or {}) == {"subject_ref": None, "unlinked": True}
    answers = await rows(
        runtime, "SELECT scale_value, free_text_token FROM answers ORDER BY scale_value"
    )
    assert answers == [
        {"scale_value": 5, "free_text_token": None},
        {"scale_value": None, "free_text_token": None},
    ]


async def test_events_of_other_kinds_are_passed_over(runtime: Runtime) -> None:
    story = CourseStory()
    story.course()
    await apply_records(runtime.pool, story.records)
    assert await runtime.pool.fetchval("SELECT count(*) FROM enrolments") == 0
    assert await runtime.pool.fetchval("SELECT count(*) FROM course_assignments") == 0


async def test_events_arriving_after_the_erasure_are_stored_unlinked(runtime: Runtime) -> None:
    story = CourseStory()
    course = story.course(organisations=(ORG,))
    kari = story.enrol(course, ORG)
    story.answer(kari, course.scale, scale_value=1)
    story.answer(kari, course.text, free_text=TOKEN)
    erase = EraseSubject(
        request_id=uuid.uuid4(),
        participant="reporting",
        subject_ref=kari.subject_ref,
        organisation_id=ORG,
        issued_at=datetime.now(UTC),
        holds=[],
    )
    # The erasure comes first (Kari's events were still on their way): nothing to unlink yet.
    async with transaction(runtime.pool) as conn:
        effects = await ReportingPrivacy(runtime.deps).erase(conn, erase)
    assert effects.evidence == ()
    assert effects.final_outcome() == "completed"

    await apply_records(runtime.pool, story.records)

    enrolment = await runtime.pool.fetchrow("SELECT subject_ref, unlinked FROM enrolments")
    assert dict(enrolment or {}) == {"subject_ref": None, "unlinked": True}
    assert await rows(runtime, "SELECT count(free_text_token) AS tokens FROM answers") == [
        {"tokens": 0}
    ]
    assert await runtime.pool.fetchval("SELECT count(*) FROM answers") == 2
