"""The catalogue's read models (``courses``, ``course_questions``, ``question_options``,
``course_assignments``) from ``courses.catalogue.v1``: one handler per event type, applied one
event at a time in the order read (a handful per course; none of them touches a table the
enrolment events write, so they need no ordering against those).

Every write is an idempotent upsert: a redelivered or replayed event leaves the rows as they
were. Called by ``service_layer.projection`` only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

import asyncpg

from byggrygg_shared.contracts import courses as contracts
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.envelope import ReceivedContract
from reporting.service_layer.event_time import event_time


async def _course_title(
    conn: asyncpg.Connection,
    event: ReceivedContract,
    course: contracts.CourseCreated | contracts.CourseDraftRevised,
) -> None:
    # A new course or a revised draft: only the title matters before publication (answers
    # come for published versions only).
    await conn.execute(
        "INSERT INTO courses (course_id, title, published_version, updated_at) "
        "VALUES ($1, $2, NULL, $3) "
        "ON CONFLICT (course_id) DO UPDATE SET title = EXCLUDED.title, "
        "updated_at = EXCLUDED.updated_at",
        course.course_id,
        course.title,
        event_time(event),
    )


async def _published(
    conn: asyncpg.Connection, event: ReceivedContract, course: contracts.CoursePublished
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
        event_time(event),
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
    conn: asyncpg.Connection, event: ReceivedContract, course: contracts.CourseAssigned
) -> None:
    await conn.execute(
        "INSERT INTO course_assignments (course_id, organisation_id, assigned_at) "
        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        course.course_id,
        course.organisation_id,
        event_time(event),
    )


Handler = Callable[[asyncpg.Connection, ReceivedContract, IntegrationEvent], Awaitable[None]]

# event type -> the handler of its contract.
HANDLERS: Final[dict[str, Handler]] = {
    contracts.CourseCreated.event_type: _course_title,  # type: ignore[dict-item]
    contracts.CourseDraftRevised.event_type: _course_title,  # type: ignore[dict-item]
    contracts.CoursePublished.event_type: _published,  # type: ignore[dict-item]
    contracts.CourseAssigned.event_type: _assigned,  # type: ignore[dict-item]
}
