"""The read models' projection of courses' events: one function applies one event.

``apply_event`` is what the live subscribers and the rebuild both call, so a rebuild from
offset zero produces the same rows as the live projection. Every write is an idempotent
upsert keyed by the read model's primary key (a redelivered or replayed event leaves the rows
as they were), so the projection needs no inbox; events of one enrolment share a Kafka key
and arrive in order, and the last ``AnswerSubmitted`` of a question is its answer.

Privacy: an enrolment of a pseudonym in ``erased_subjects`` is stored unlinked (no
``subject_ref``) and its answers without free text, so neither a replay nor a late event
re-links an erased person (R16). Free text is stored only as the key-ring token it travels as.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Final

import asyncpg

from byggrygg_shared.contracts import courses as contracts
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.registry import UnknownEventType
from byggrygg_shared.envelope import ReceivedEvent


def period_of(moment: datetime) -> date:
    """The statistics period of a moment: the first day of its month (UTC)."""
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def _event_time(event: ReceivedEvent) -> datetime:
    # Every platform event carries its time (CloudEvents ``time``); the epoch stands in for a
    # foreign one without it, so a replay still gives the same rows.
    return event.time or datetime(1970, 1, 1, tzinfo=UTC)


async def _course_title(
    conn: asyncpg.Connection, event: ReceivedEvent, course: contracts.CourseCreated
) -> None:
    await conn.execute(
        "INSERT INTO courses (course_id, title, published_version, updated_at) "
        "VALUES ($1, $2, NULL, $3) "
        "ON CONFLICT (course_id) DO UPDATE SET title = EXCLUDED.title, "
        "updated_at = EXCLUDED.updated_at",
        course.course_id,
        course.title,
        _event_time(event),
    )


async def _draft_revised(
    conn: asyncpg.Connection, event: ReceivedEvent, course: contracts.CourseDraftRevised
) -> None:
    # Only the title matters before publication: answers come for published versions only.
    await conn.execute(
        "INSERT INTO courses (course_id, title, published_version, updated_at) "
        "VALUES ($1, $2, NULL, $3) "
        "ON CONFLICT (course_id) DO UPDATE SET title = EXCLUDED.title, "
        "updated_at = EXCLUDED.updated_at",
        course.course_id,
        course.title,
        _event_time(event),
    )


async def _published(
    conn: asyncpg.Connection, event: ReceivedEvent, course: contracts.CoursePublished
) -> None:
    await conn.execute(
        "INSERT INTO courses (course_id, title, published_version, updated_at) "
        "VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (course_id) DO UPDATE SET title = EXCLUDED.title, "
        "published_version = GREATEST(courses.published_version, EXCLUDED.published_version), "
        "updated_at = EXCLUDED.updated_at",
        course.course_id,
        course.title,
        course.version,
        _event_time(event),
    )
    position = 0
    for module in course.modules:
        for question in module.questions:
            position += 1
            await conn.execute(
                "INSERT INTO course_questions (course_id, course_version, question_id, "
                "module_id, position, kind, prompt, required, scale_low, scale_high) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                "ON CONFLICT (course_id, course_version, question_id) DO NOTHING",
                course.course_id,
                course.version,
                question.question_id,
                module.module_id,
                position,
                str(question.kind),
                question.prompt,
                question.required,
                None if question.scale is None else question.scale.low,
                None if question.scale is None else question.scale.high,
            )
            await conn.executemany(
                "INSERT INTO question_options (course_id, course_version, question_id, "
                "option_id, position, label) VALUES ($1, $2, $3, $4, $5, $6) "
                "ON CONFLICT DO NOTHING",
                [
                    (
                        course.course_id,
                        course.version,
                        question.question_id,
                        option.option_id,
                        index,
                        option.label,
                    )
                    for index, option in enumerate(question.options, start=1)
                ],
            )


async def _assigned(
    conn: asyncpg.Connection, event: ReceivedEvent, course: contracts.CourseAssigned
) -> None:
    await conn.execute(
        "INSERT INTO course_assignments (course_id, organisation_id, assigned_at) "
        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        course.course_id,
        course.organisation_id,
        _event_time(event),
    )


async def lock_subject(conn: asyncpg.Connection, subject_ref: str) -> None:
    """Serialise the projection of a person's events with their erasure (transaction lock):
    an event projected concurrently with the erasure either is unlinked by it or sees it."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('reporting-subject:' || $1, 0))",
        subject_ref,
    )


async def _is_erased(conn: asyncpg.Connection, subject_ref: str) -> bool:
    await lock_subject(conn, subject_ref)
    return bool(
        await conn.fetchval("SELECT 1 FROM erased_subjects WHERE subject_ref = $1", subject_ref)
    )


async def _enrolment_started(
    conn: asyncpg.Connection, event: ReceivedEvent, started: contracts.EnrolmentStarted
) -> None:
    erased = await _is_erased(conn, started.subject_ref)
    at = _event_time(event)
    await conn.execute(
        "INSERT INTO enrolments (enrolment_id, course_id, course_version, organisation_id, "
        "subject_ref, started_at, started_period, unlinked) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (enrolment_id) DO NOTHING",
        started.enrolment_id,
        started.course_id,
        started.course_version,
        started.organisation_id,
        None if erased else started.subject_ref,
        at,
        period_of(at),
        erased,
    )


async def _answer_submitted(
    conn: asyncpg.Connection, event: ReceivedEvent, answer: contracts.AnswerSubmitted
) -> None:
    at = _event_time(event)
    # After an erasure the token is unreadable anyway (the key is shredded): not stored at all.
    token = None if await _is_erased(conn, answer.subject_ref) else answer.free_text
    await conn.execute(
        "INSERT INTO answers (enrolment_id, question_id, course_id, course_version, "
        "organisation_id, kind, selected_option_ids, scale_value, free_text_token, "
        "answered_at, period) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        "ON CONFLICT (enrolment_id, question_id) DO UPDATE SET "
        "kind = EXCLUDED.kind, selected_option_ids = EXCLUDED.selected_option_ids, "
        "scale_value = EXCLUDED.scale_value, free_text_token = EXCLUDED.free_text_token, "
        "answered_at = EXCLUDED.answered_at, period = EXCLUDED.period",
        answer.enrolment_id,
        answer.question_id,
        answer.course_id,
        answer.course_version,
        answer.organisation_id,
        str(answer.kind),
        answer.selected_option_ids,
        answer.scale_value,
        token,
        at,
        period_of(at),
    )


async def _completed(
    conn: asyncpg.Connection, _event: ReceivedEvent, done: contracts.CourseCompleted
) -> None:
    await conn.execute(
        "UPDATE enrolments SET completed_at = $2, completed_period = $3 WHERE enrolment_id = $1",
        done.enrolment_id,
        done.completed_at,
        period_of(done.completed_at),
    )


async def _ended(
    conn: asyncpg.Connection, event: ReceivedEvent, ended: contracts.EnrolmentEnded
) -> None:
    await conn.execute(
        "UPDATE enrolments SET ended_at = $2, end_reason = $3 WHERE enrolment_id = $1",
        ended.enrolment_id,
        _event_time(event),
        str(ended.reason),
    )


async def _erased(
    conn: asyncpg.Connection, _event: ReceivedEvent, erased: contracts.EnrolmentErased
) -> None:
    # courses erased the learner (R16): cut the link here too; the answers stay, anonymous.
    await unlink_enrolments(conn, "enrolment_id = $1", erased.enrolment_id)


async def unlink_enrolments(conn: asyncpg.Connection, where: str, value: object) -> int:
    """Cut the person's link of the enrolments matching ``where`` (one ``$1`` parameter) and
    drop their answers' free-text tokens; how many answers lost a token."""
    enrolments = await conn.fetch(
        f"UPDATE enrolments SET subject_ref = NULL, unlinked = true WHERE {where} "  # noqa: S608 - fixed clauses of this module
        "RETURNING enrolment_id",
        value,
    )
    if not enrolments:
        return 0
    status = await conn.execute(
        "UPDATE answers SET free_text_token = NULL "
        "WHERE enrolment_id = ANY($1::uuid[]) AND free_text_token IS NOT NULL",
        [row["enrolment_id"] for row in enrolments],
    )
    return int(status.split()[-1])


Handler = Callable[[asyncpg.Connection, ReceivedEvent, IntegrationEvent], Awaitable[None]]

# event type -> the handler of its contract; other events of the topics are passed over.
_HANDLERS: Final[dict[str, Handler]] = {
    contracts.CourseCreated.event_type: _course_title,  # type: ignore[dict-item]
    contracts.CourseDraftRevised.event_type: _draft_revised,  # type: ignore[dict-item]
    contracts.CoursePublished.event_type: _published,  # type: ignore[dict-item]
    contracts.CourseAssigned.event_type: _assigned,  # type: ignore[dict-item]
    contracts.EnrolmentStarted.event_type: _enrolment_started,  # type: ignore[dict-item]
    contracts.AnswerSubmitted.event_type: _answer_submitted,  # type: ignore[dict-item]
    contracts.CourseCompleted.event_type: _completed,  # type: ignore[dict-item]
    contracts.EnrolmentEnded.event_type: _ended,  # type: ignore[dict-item]
    contracts.EnrolmentErased.event_type: _erased,  # type: ignore[dict-item]
}


async def apply_event(conn: asyncpg.Connection, event: ReceivedEvent) -> bool:
    """Apply one event of courses' topics to the read models; False if it is not one of
    reporting's (passed over). Raises on a malformed event of a known type (dead letter)."""
    try:
        handler = _HANDLERS.get(event.event_type)
    except UnknownEventType:
        return False
    if handler is None:
        return False
    await handler(conn, event, event.contract())
    return True
