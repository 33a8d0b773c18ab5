"""Read-side queries on the projection tables, returning plain views for the API.

Answer views carry free text as stored (a key-ring token); the service layer decrypts it for
the callers allowed to read it (R4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class CourseView:
    course_id: UUID
    draft: dict[str, Any]
    latest_version: int | None
    draft_is_published: bool
    version: int
    created_at: datetime
    updated_at: datetime
    published_title: str | None


@dataclass(frozen=True)
class CourseVersionView:
    course_id: UUID
    version: int
    content: dict[str, Any]
    question_count: int
    required_count: int
    published_at: datetime


@dataclass(frozen=True)
class AssignmentView:
    course_id: UUID
    organisation_id: UUID
    assigned_at: datetime
    title: str
    latest_version: int


@dataclass(frozen=True)
class LearnerView:
    user_id: UUID
    subject_ref: str
    organisation_id: UUID
    status: str


@dataclass(frozen=True)
class EnrolmentView:
    enrolment_id: UUID
    course_id: UUID
    course_version: int
    user_id: UUID
    subject_ref: str
    organisation_id: UUID
    origin: str
    status: str
    answered_count: int
    question_count: int
    required_count: int
    started_at: datetime
    completed_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    version: int
    title: str


@dataclass(frozen=True)
class StoredAnswer:
    enrolment_id: UUID
    question_id: UUID
    course_id: UUID
    course_version: int
    organisation_id: UUID
    subject_ref: str
    kind: str
    selected_option_ids: list[UUID] | None
    scale_value: int | None
    free_text_token: str | None
    submissions: int
    answered_at: datetime


def _course(row: asyncpg.Record) -> CourseView:
    return CourseView(**dict(row))


_COURSE_SELECT = """
    SELECT c.course_id, c.draft, c.latest_version, c.draft_is_published, c.version,
           c.created_at, c.updated_at, v.content->>'title' AS published_title
    FROM courses c
    LEFT JOIN course_versions v ON v.course_id = c.course_id AND v.version = c.latest_version
"""


async def fetch_course(conn: asyncpg.Connection, course_id: UUID) -> CourseView | None:
    row = await conn.fetchrow(f"{_COURSE_SELECT} WHERE c.course_id = $1", course_id)
    return None if row is None else _course(row)


async def list_courses(conn: asyncpg.Connection, *, published_only: bool) -> list[CourseView]:
    rows = await conn.fetch(
        f"{_COURSE_SELECT} WHERE NOT $1 OR c.latest_version IS NOT NULL "
        "ORDER BY c.created_at, c.course_id",
        published_only,
    )
    return [_course(row) for row in rows]


async def fetch_version(
    conn: asyncpg.Connection, course_id: UUID, version: int
) -> CourseVersionView | None:
    row = await conn.fetchrow(
        "SELECT course_id, version, content, question_count, required_count, published_at "
        "FROM course_versions WHERE course_id = $1 AND version = $2",
        course_id,
        version,
    )
    return None if row is None else CourseVersionView(**dict(row))


async def list_assignments(conn: asyncpg.Connection, organisation_id: UUID) -> list[AssignmentView]:
    rows = await conn.fetch(
        """
        SELECT a.course_id, a.organisation_id, a.assigned_at,
               v.content->>'title' AS title, c.latest_version
        FROM course_assignments a
        JOIN courses c ON c.course_id = a.course_id
        JOIN course_versions v ON v.course_id = c.course_id AND v.version = c.latest_version
        WHERE a.organisation_id = $1 ORDER BY a.assigned_at, a.course_id
        """,
        organisation_id,
    )
    return [AssignmentView(**dict(row)) for row in rows]


async def assigned_courses(
    conn: asyncpg.Connection, organisation_id: UUID
) -> list[tuple[UUID, int]]:
    """(course id, latest published version) of every course assigned to the organisation."""
    rows = await conn.fetch(
        "SELECT a.course_id, c.latest_version FROM course_assignments a "
        "JOIN courses c ON c.course_id = a.course_id "
        "WHERE a.organisation_id = $1 ORDER BY a.assigned_at, a.course_id",
        organisation_id,
    )
    return [(row["course_id"], row["latest_version"]) for row in rows]


async def fetch_learner(conn: asyncpg.Connection, user_id: UUID) -> LearnerView | None:
    row = await conn.fetchrow(
        "SELECT user_id, subject_ref, organisation_id, status FROM learners WHERE user_id = $1",
        user_id,
    )
    return None if row is None else LearnerView(**dict(row))


async def licensed_learners(conn: asyncpg.Connection, organisation_id: UUID) -> list[LearnerView]:
    rows = await conn.fetch(
        "SELECT user_id, subject_ref, organisation_id, status FROM learners "
        "WHERE organisation_id = $1 AND status = 'licensed' ORDER BY user_id",
        organisation_id,
    )
    return [LearnerView(**dict(row)) for row in rows]


async def open_enrolment_ids(conn: asyncpg.Connection, user_id: UUID) -> list[UUID]:
    """The learner's enrolments whose access has not ended (active or completed)."""
    rows = await conn.fetch(
        "SELECT enrolment_id FROM enrolments WHERE user_id = $1 AND status <> 'ended' "
        "ORDER BY started_at, enrolment_id",
        user_id,
    )
    return [row["enrolment_id"] for row in rows]


async def has_open_enrolment(conn: asyncpg.Connection, user_id: UUID, course_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM enrolments WHERE user_id = $1 AND course_id = $2 "
            "AND status <> 'ended')",
            user_id,
            course_id,
        )
    )


_ENROLMENT_COLUMNS = """
    e.enrolment_id, e.course_id, e.course_version, e.user_id, e.subject_ref, e.organisation_id,
    e.origin, e.status, e.answered_count, e.question_count, e.required_count, e.started_at,
    e.completed_at, e.ended_at, e.end_reason, e.version, v.content->>'title' AS title
"""
_ENROLMENT_FROM = """
    FROM enrolments e
    JOIN course_versions v ON v.course_id = e.course_id AND v.version = e.course_version
"""


async def fetch_enrolment(conn: asyncpg.Connection, enrolment_id: UUID) -> EnrolmentView | None:
    row = await conn.fetchrow(
        f"SELECT {_ENROLMENT_COLUMNS} {_ENROLMENT_FROM} WHERE e.enrolment_id = $1",
        enrolment_id,
    )
    return None if row is None else EnrolmentView(**dict(row))


async def list_enrolments(
    conn: asyncpg.Connection,
    *,
    user_id: UUID | None = None,
    organisation_id: UUID | None = None,
) -> list[EnrolmentView]:
    rows = await conn.fetch(
        f"SELECT {_ENROLMENT_COLUMNS} {_ENROLMENT_FROM} "
        "WHERE ($1::uuid IS NULL OR e.user_id = $1) "
        "AND ($2::uuid IS NULL OR e.organisation_id = $2) "
        "ORDER BY e.started_at, e.enrolment_id",
        user_id,
        organisation_id,
    )
    return [EnrolmentView(**dict(row)) for row in rows]


_ANSWER_COLUMNS = """
    enrolment_id, question_id, course_id, course_version, organisation_id, subject_ref, kind,
    selected_option_ids, scale_value, free_text AS free_text_token, submissions, answered_at
"""


async def answers_of_enrolment(conn: asyncpg.Connection, enrolment_id: UUID) -> list[StoredAnswer]:
    rows = await conn.fetch(
        f"SELECT {_ANSWER_COLUMNS} FROM answers WHERE enrolment_id = $1 "  # noqa: S608
        "ORDER BY answered_at, question_id",
        enrolment_id,
    )
    return [StoredAnswer(**dict(row)) for row in rows]


async def answers_of_course(
    conn: asyncpg.Connection,
    course_id: UUID,
    *,
    organisation_id: UUID | None,
    course_version: int | None,
    question_id: UUID | None,
    limit: int,
    offset: int,
) -> list[StoredAnswer]:
    rows = await conn.fetch(
        f"SELECT {_ANSWER_COLUMNS} FROM answers WHERE course_id = $1 "  # noqa: S608
        "AND ($2::uuid IS NULL OR organisation_id = $2) "
        "AND ($3::int IS NULL OR course_version = $3) "
        "AND ($4::uuid IS NULL OR question_id = $4) "
        "ORDER BY answered_at, enrolment_id, question_id LIMIT $5 OFFSET $6",
        course_id,
        organisation_id,
        course_version,
        question_id,
        limit,
        offset,
    )
    return [StoredAnswer(**dict(row)) for row in rows]
