"""Learners take courses: their enrolments, the enrolled version's content, answers, completion
(R3); administrators enrol a learner by hand and follow progress (never answers, R4).

A learner reaches only their own enrolments: another person's enrolment answers 404, exactly
like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from byggrygg_shared.auth import Role
from byggrygg_shared.eventstore import ConcurrentAppend
from courses.adapters.event_codec import content_from_document
from courses.adapters.projections import project_enrolment
from courses.adapters.queries import (
    CourseVersionView,
    EnrolmentView,
    answers_of_enrolment,
    fetch_enrolment,
    fetch_learner,
    fetch_version,
    list_enrolments,
)
from courses.domain.content import AnswerValue, CourseContent
from courses.domain.enrolment import Enrolment, EnrolmentOrigin
from courses.service_layer.access import own_user_id, require_organisation_role
from courses.service_layer.answers import AnswerView, reveal
from courses.service_layer.context import Actor, Dependencies
from courses.service_layer.enrolling import start_enrolment
from courses.service_layer.errors import (
    CourseNotFound,
    EnrolmentNotFound,
    LearnerNotFound,
    VersionMismatch,
)


@dataclass(frozen=True)
class EnrolmentWithContent:
    enrolment: EnrolmentView
    version: CourseVersionView


async def get_my_enrolments(*, deps: Dependencies, actor: Actor) -> list[EnrolmentView]:
    user_id = own_user_id(actor)
    async with deps.pool.acquire() as conn:
        return await list_enrolments(conn, user_id=user_id)


async def get_my_enrolment(
    *, deps: Dependencies, actor: Actor, enrolment_id: UUID
) -> EnrolmentWithContent:
    async with deps.pool.acquire() as conn:
        enrolment = await _own_enrolment(conn, actor, enrolment_id)
        version = await fetch_version(conn, enrolment.course_id, enrolment.course_version)
    assert version is not None  # enrolments reference a published version (foreign key)
    return EnrolmentWithContent(enrolment, version)


async def get_my_answers(
    *, deps: Dependencies, actor: Actor, enrolment_id: UUID
) -> list[AnswerView]:
    """The caller's own answers in one enrolment (R14, R17), free text decrypted."""
    async with deps.pool.acquire() as conn:
        await _own_enrolment(conn, actor, enrolment_id)
        stored = await answers_of_enrolment(conn, enrolment_id)
    return [await reveal(deps, answer) for answer in stored]


async def handle_submit_answer(
    *,
    deps: Dependencies,
    actor: Actor,
    enrolment_id: UUID,
    question_id: UUID,
    answer: AnswerValue,
) -> AnswerView:
    """Record the caller's answer (the last submission wins until completion)."""
    try:
        async with deps.unit_of_work() as conn:
            view = await _own_enrolment(conn, actor, enrolment_id)
            enrolment = await _load(conn, deps, enrolment_id)
            content = await _content(conn, view)
            enrolment.submit_answer(content=content, question_id=question_id, answer=answer)
            await _save(conn, deps, enrolment)
            stored = next(
                a
                for a in await answers_of_enrolment(conn, enrolment_id)
                if a.question_id == question_id
            )
    except ConcurrentAppend as error:
        raise VersionMismatch(
            expected=error.expected_version, actual=error.actual_version
        ) from None
    return await reveal(deps, stored)


async def handle_complete(*, deps: Dependencies, actor: Actor, enrolment_id: UUID) -> None:
    try:
        async with deps.unit_of_work() as conn:
            view = await _own_enrolment(conn, actor, enrolment_id)
            enrolment = await _load(conn, deps, enrolment_id)
            enrolment.complete(content=await _content(conn, view), completed_at=deps.clock())
            await _save(conn, deps, enrolment)
    except ConcurrentAppend as error:
        raise VersionMismatch(
            expected=error.expected_version, actual=error.actual_version
        ) from None


async def get_enrolment_for_learner(
    *, deps: Dependencies, actor: Actor, enrolment_id: UUID
) -> EnrolmentView:
    async with deps.pool.acquire() as conn:
        return await _own_enrolment(conn, actor, enrolment_id)


async def handle_enrol_by_admin(
    *,
    deps: Dependencies,
    actor: Actor,
    organisation_id: UUID,
    user_id: UUID,
    course_id: UUID,
) -> UUID:
    """An administrator of the organisation (or staff) enrols one of its licensed learners in
    an assigned or any published course's latest version."""
    require_organisation_role(actor, organisation_id, Role.ORG_ADMIN)
    async with deps.unit_of_work() as conn:
        learner = await fetch_learner(conn, user_id)
        if (
            learner is None
            or learner.organisation_id != organisation_id
            or learner.status != "licensed"
        ):
            raise LearnerNotFound(str(user_id))
        latest = await conn.fetchval(
            "SELECT latest_version FROM courses WHERE course_id = $1", course_id
        )
        if latest is None:
            raise CourseNotFound(str(course_id))
        return await start_enrolment(
            conn,
            deps,
            learner=learner,
            course_id=course_id,
            course_version=latest,
            origin=EnrolmentOrigin.ADMIN,
            started_by=actor.user_id,
            metadata=lambda: deps.metadata(organisation_id=organisation_id),
        )


async def get_organisation_enrolments(
    *, deps: Dependencies, actor: Actor, organisation_id: UUID
) -> list[EnrolmentView]:
    """Progress of the organisation's learners (status and counts, never answers: R4)."""
    require_organisation_role(actor, organisation_id, Role.ORG_ADMIN)
    async with deps.pool.acquire() as conn:
        return await list_enrolments(conn, organisation_id=organisation_id)


async def get_enrolment(*, deps: Dependencies, enrolment_id: UUID) -> EnrolmentView:
    async with deps.pool.acquire() as conn:
        view = await fetch_enrolment(conn, enrolment_id)
    if view is None:
        raise EnrolmentNotFound(str(enrolment_id))
    return view


async def _own_enrolment(
    conn: asyncpg.Connection, actor: Actor, enrolment_id: UUID
) -> EnrolmentView:
    user_id = own_user_id(actor)
    view = await fetch_enrolment(conn, enrolment_id)
    if view is None or view.user_id != user_id:
        raise EnrolmentNotFound(str(enrolment_id))
    return view


async def _content(conn: asyncpg.Connection, view: EnrolmentView) -> CourseContent:
    version = await fetch_version(conn, view.course_id, view.course_version)
    assert version is not None  # enrolments reference a published version (foreign key)
    return content_from_document(version.content)


async def _load(conn: asyncpg.Connection, deps: Dependencies, enrolment_id: UUID) -> Enrolment:
    enrolment = await deps.enrolments.get(conn, enrolment_id)
    if enrolment is None:
        raise EnrolmentNotFound(str(enrolment_id))
    return enrolment


async def _save(conn: asyncpg.Connection, deps: Dependencies, enrolment: Enrolment) -> None:
    recorded = await deps.enrolments.save(
        conn,
        enrolment,
        aggregate_id=enrolment.id,
        metadata=deps.metadata(organisation_id=enrolment.organisation_id),
    )
    await project_enrolment(conn, recorded)
