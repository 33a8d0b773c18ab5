"""Projection tables kept in step with the events, in the transaction that appends them.

One function per aggregate, with an explicit branch per event type. A free-text answer is
projected as the key-ring token of the stored event (``stored.payload``), never as the
plaintext of the domain event: nothing readable rests in the database (R4, DESIGN §4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

import asyncpg

from courses.adapters.event_codec import content_document
from courses.adapters.repositories import Recorded
from courses.domain.course import Course, CourseEvent
from courses.domain.enrolment import Enrolment, EnrolmentEvent, EnrolmentStatus


async def project_course(
    conn: asyncpg.Connection, course: Course, recorded: Sequence[Recorded[CourseEvent]]
) -> None:
    """Apply new course events to `courses`, `course_versions` and `course_assignments`."""
    if not recorded:
        return
    for item in recorded:
        event, stored = item.event, item.stored
        match event:
            case Course.Created():
                await conn.execute(
                    "INSERT INTO courses (course_id, draft, latest_version, draft_is_published, "
                    "version, created_at, updated_at) VALUES ($1, $2, NULL, false, $3, $4, $4)",
                    event.course_id,
                    content_document(event.content),
                    stored.version,
                    stored.recorded_at,
                )
            case Course.DraftRevised():
                await conn.execute(
                    "UPDATE courses SET draft = $2 WHERE course_id = $1",
                    event.course_id,
                    content_document(event.content),
                )
            case Course.Published():
                content = event.content
                await conn.execute(
                    "INSERT INTO course_versions (course_id, version, content, question_count, "
                    "required_count, published_at, published_by) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    event.course_id,
                    event.version,
                    content_document(content),
                    len(content.questions),
                    len(content.required_question_ids),
                    stored.recorded_at,
                    event.published_by,
                )
            case Course.Assigned():
                await conn.execute(
                    "INSERT INTO course_assignments (course_id, organisation_id, assigned_at, "
                    "assigned_by) VALUES ($1, $2, $3, $4)",
                    event.course_id,
                    event.organisation_id,
                    stored.recorded_at,
                    event.assigned_by,
                )
            case _:
                assert_never(event)
    last = recorded[-1].stored
    await conn.execute(
        "UPDATE courses SET latest_version = $2, draft_is_published = $3, version = $4, "
        "updated_at = $5 WHERE course_id = $1",
        course.id,
        course.latest_version,
        course.draft_is_published,
        last.version,
        last.recorded_at,
    )


async def project_enrolment(
    conn: asyncpg.Connection, recorded: Sequence[Recorded[EnrolmentEvent]]
) -> None:
    """Apply new enrolment events to `enrolments` and `answers`."""
    for item in recorded:
        event, stored = item.event, item.stored
        match event:
            case Enrolment.Started():
                await conn.execute(
                    """
                    INSERT INTO enrolments (
                        enrolment_id, course_id, course_version, user_id, subject_ref,
                        organisation_id, origin, status, answered_count, question_count,
                        required_count, started_at, version)
                    SELECT $1, $2, $3, $4, $5, $6, $7, $8, 0, v.question_count,
                           v.required_count, $9, $10
                    FROM course_versions v WHERE v.course_id = $2 AND v.version = $3
                    """,
                    event.enrolment_id,
                    event.course_id,
                    event.course_version,
                    event.user_id,
                    event.subject_ref,
                    event.organisation_id,
                    event.origin.value,
                    EnrolmentStatus.ACTIVE.value,
                    stored.recorded_at,
                    stored.version,
                )
            case Enrolment.AnswerSubmitted():
                answer = event.answer
                await conn.execute(
                    """
                    INSERT INTO answers (
                        enrolment_id, question_id, course_id, course_version, organisation_id,
                        subject_ref, kind, selected_option_ids, scale_value, free_text,
                        submissions, answered_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11)
                    ON CONFLICT (enrolment_id, question_id) DO UPDATE SET
                        selected_option_ids = EXCLUDED.selected_option_ids,
                        scale_value = EXCLUDED.scale_value,
                        free_text = EXCLUDED.free_text,
                        submissions = answers.submissions + 1,
                        answered_at = EXCLUDED.answered_at
                    """,
                    event.enrolment_id,
                    event.question_id,
                    event.course_id,
                    event.course_version,
                    event.organisation_id,
                    event.subject_ref,
                    event.kind.value,
                    None
                    if answer.selected_option_ids is None
                    else list(answer.selected_option_ids),
                    answer.scale_value,
                    stored.payload.get("free_text"),  # the token, as stored in the event
                    stored.recorded_at,
                )
                await conn.execute(
                    "UPDATE enrolments SET answered_count = "
                    "(SELECT count(*) FROM answers WHERE enrolment_id = $1), version = $2 "
                    "WHERE enrolment_id = $1",
                    event.enrolment_id,
                    stored.version,
                )
            case Enrolment.Completed():
                await conn.execute(
                    "UPDATE enrolments SET status = $2, completed_at = $3, version = $4 "
                    "WHERE enrolment_id = $1",
                    event.enrolment_id,
                    EnrolmentStatus.COMPLETED.value,
                    event.completed_at,
                    stored.version,
                )
            case Enrolment.Ended():
                await conn.execute(
                    "UPDATE enrolments SET status = $2, ended_at = $3, end_reason = $4, "
                    "version = $5 WHERE enrolment_id = $1",
                    event.enrolment_id,
                    EnrolmentStatus.ENDED.value,
                    stored.recorded_at,
                    event.reason.value,
                    stored.version,
                )
            case Enrolment.Erased():
                # The enrolment's row goes; its answers were anonymised (random ids, no free
                # text) by the privacy participant in the same transaction (R16).
                await conn.execute(
                    "DELETE FROM enrolments WHERE enrolment_id = $1", event.enrolment_id
                )
            case _:
                assert_never(event)
