"""Command handlers and queries of the catalogue: create, revise and publish courses (staff),
assign them to organisations (staff or the organisation's administrators), read them.

Who sees what: platform staff see every course with its draft; anyone else who is
authenticated sees published versions only (a course without one answers 404).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg

from byggrygg_shared.auth import Role
from byggrygg_shared.eventstore import ConcurrentAppend
from courses.adapters.projections import project_course
from courses.adapters.queries import (
    AssignmentView,
    CourseVersionView,
    CourseView,
    fetch_course,
    fetch_version,
    list_assignments,
    list_courses,
)
from courses.domain.content import CourseContent
from courses.domain.course import Course
from courses.domain.enrolment import EnrolmentOrigin
from courses.service_layer.access import require_organisation_role, require_staff
from courses.service_layer.context import Actor, Dependencies
from courses.service_layer.enrolling import enrol_organisation
from courses.service_layer.errors import CourseNotFound, CourseVersionNotFound, VersionMismatch


async def handle_create_course(*, deps: Dependencies, actor: Actor, content: CourseContent) -> UUID:
    require_staff(actor)
    course_id = deps.ids.new_id()
    course = Course.create(course_id=course_id, content=content, created_by=actor.user_id)
    async with deps.unit_of_work() as conn:
        await _save(conn, deps, course)
    return course_id


async def handle_revise_draft(
    *,
    deps: Dependencies,
    actor: Actor,
    course_id: UUID,
    content: CourseContent,
    expected_version: int,
) -> None:
    """Replace the draft, only if nobody changed the course since `expected_version`."""
    require_staff(actor)
    async with _conflicts_as_version_mismatch(), deps.unit_of_work() as conn:
        course = await _load(conn, deps, course_id)
        _check_version(course, expected_version)
        if course.revise(content, revised_by=actor.user_id):
            await _save(conn, deps, course)


async def handle_publish(
    *, deps: Dependencies, actor: Actor, course_id: UUID, expected_version: int | None
) -> int:
    """Freeze the draft as the next published version; returns its number."""
    require_staff(actor)
    async with _conflicts_as_version_mismatch(), deps.unit_of_work() as conn:
        course = await _load(conn, deps, course_id)
        if expected_version is not None:
            _check_version(course, expected_version)
        version = course.publish(published_by=actor.user_id)
        await _save(conn, deps, course)
    return version


async def handle_assign(
    *, deps: Dependencies, actor: Actor, course_id: UUID, organisation_id: UUID
) -> int:
    """Assign a published course to an organisation and enrol its licensed learners in the
    latest published version, in one transaction. Returns how many were enrolled."""
    require_organisation_role(actor, organisation_id, Role.ORG_ADMIN)
    async with _conflicts_as_version_mismatch(), deps.unit_of_work() as conn:
        course = await _load(conn, deps, course_id, published_only=not actor.is_staff)
        course.assign(organisation_id=organisation_id, assigned_by=actor.user_id)
        await _save(conn, deps, course)
        return await enrol_organisation(
            conn,
            deps,
            organisation_id=organisation_id,
            course_id=course_id,
            course_version=course.latest_version or 0,
            origin=EnrolmentOrigin.ASSIGNMENT,
            started_by=actor.user_id,
            metadata=lambda: deps.metadata(organisation_id=organisation_id),
        )


async def get_course(*, deps: Dependencies, actor: Actor, course_id: UUID) -> CourseView:
    async with deps.pool.acquire() as conn:
        view = await fetch_course(conn, course_id)
    if view is None or (not actor.is_staff and view.latest_version is None):
        raise CourseNotFound(str(course_id))
    return view


async def get_courses(*, deps: Dependencies, actor: Actor) -> list[CourseView]:
    async with deps.pool.acquire() as conn:
        return await list_courses(conn, published_only=not actor.is_staff)


async def get_version(
    *, deps: Dependencies, actor: Actor, course_id: UUID, version: int
) -> CourseVersionView:
    """A published version: readable by anyone authenticated (the catalogue is no secret)."""
    async with deps.pool.acquire() as conn:
        view = await fetch_version(conn, course_id, version)
    if view is None:
        raise CourseVersionNotFound(f"{course_id} v{version}")
    return view


async def get_assignments(
    *, deps: Dependencies, actor: Actor, organisation_id: UUID
) -> list[AssignmentView]:
    require_organisation_role(actor, organisation_id, Role.ORG_ADMIN, Role.CONTACT_PERSON)
    async with deps.pool.acquire() as conn:
        return await list_assignments(conn, organisation_id)


def _check_version(course: Course, expected_version: int) -> None:
    if course.version != expected_version:
        raise VersionMismatch(expected=expected_version, actual=course.version)


@asynccontextmanager
async def _conflicts_as_version_mismatch() -> AsyncIterator[None]:
    """A concurrent append on the course stream is an edit conflict for the loser (409)."""
    try:
        yield
    except ConcurrentAppend as error:
        raise VersionMismatch(
            expected=error.expected_version, actual=error.actual_version
        ) from None


async def _load(
    conn: asyncpg.Connection, deps: Dependencies, course_id: UUID, *, published_only: bool = False
) -> Course:
    course = await deps.courses.get(conn, course_id)
    if course is None or (published_only and course.latest_version is None):
        raise CourseNotFound(str(course_id))
    return course


async def _save(conn: asyncpg.Connection, deps: Dependencies, course: Course) -> None:
    recorded = await deps.courses.save(
        conn, course, aggregate_id=course.id, metadata=deps.metadata(organisation_id=None)
    )
    await project_course(conn, course, recorded)
