"""The enrolment rule, in one place (docs/services/courses.md):

- a licensed learner of an organisation is enrolled in every course assigned to it, in the
  course's latest published version: when the licence is granted (``LicenceGranted``) for the
  courses assigned by then, and when a course is assigned later for the learners licensed by
  then;
- an administrator of the organisation (or staff) may enrol a licensed learner by hand;
- one enrolment per learner and course while access lasts (the partial unique index
  ``enrolments_one_open_per_course`` is the last word); an enrolment ended by a revoked licence
  does not block a new one after a new licence.

These functions run inside the caller's unit of work; ``metadata`` makes the envelope facts of
each new stream (a fresh event id each time).
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import asyncpg

from byggrygg_shared.envelope import EventMetadata
from courses.adapters.projections import project_enrolment
from courses.adapters.queries import LearnerView, has_open_enrolment, licensed_learners
from courses.domain.enrolment import Enrolment, EnrolmentOrigin
from courses.service_layer.context import Dependencies
from courses.service_layer.errors import AlreadyEnrolled

OPEN_ENROLMENT_INDEX = "enrolments_one_open_per_course"

# Fresh envelope facts per append: every event needs its own CloudEvents id.
MetadataFactory = Callable[[], EventMetadata]


async def start_enrolment(
    conn: asyncpg.Connection,
    deps: Dependencies,
    *,
    learner: LearnerView,
    course_id: UUID,
    course_version: int,
    origin: EnrolmentOrigin,
    started_by: str,
    metadata: MetadataFactory,
) -> UUID:
    """Enrol `learner`; raises ``AlreadyEnrolled`` if an open enrolment exists."""
    if await has_open_enrolment(conn, learner.user_id, course_id):
        raise AlreadyEnrolled(str(course_id))
    enrolment = Enrolment.start(
        enrolment_id=deps.ids.new_id(),
        course_id=course_id,
        course_version=course_version,
        user_id=learner.user_id,
        subject_ref=learner.subject_ref,
        organisation_id=learner.organisation_id,
        origin=origin,
        started_by=started_by,
    )
    recorded = await deps.enrolments.save(
        conn, enrolment, aggregate_id=enrolment.id, metadata=metadata()
    )
    try:
        await project_enrolment(conn, recorded)
    except asyncpg.UniqueViolationError as error:
        # A concurrent enrolment won the race; this whole unit of work rolls back.
        if getattr(error, "constraint_name", None) == OPEN_ENROLMENT_INDEX:
            raise AlreadyEnrolled(str(course_id)) from None
        raise
    return enrolment.id


async def enrol_learner_in_assigned(
    conn: asyncpg.Connection,
    deps: Dependencies,
    *,
    learner: LearnerView,
    courses: list[tuple[UUID, int]],
    started_by: str,
    metadata: MetadataFactory,
) -> int:
    """Enrol a newly licensed learner in the assigned courses not already open; a count."""
    started = 0
    for course_id, version in courses:
        if await has_open_enrolment(conn, learner.user_id, course_id):
            continue
        await start_enrolment(
            conn,
            deps,
            learner=learner,
            course_id=course_id,
            course_version=version,
            origin=EnrolmentOrigin.LICENCE,
            started_by=started_by,
            metadata=metadata,
        )
        started += 1
    return started


async def enrol_organisation(
    conn: asyncpg.Connection,
    deps: Dependencies,
    *,
    organisation_id: UUID,
    course_id: UUID,
    course_version: int,
    origin: EnrolmentOrigin,
    started_by: str,
    metadata: MetadataFactory,
) -> int:
    """Enrol every licensed learner of the organisation not already enrolled; a count."""
    started = 0
    for learner in await licensed_learners(conn, organisation_id):
        if await has_open_enrolment(conn, learner.user_id, course_id):
            continue
        await start_enrolment(
            conn,
            deps,
            learner=learner,
            course_id=course_id,
            course_version=course_version,
            origin=origin,
            started_by=started_by,
            metadata=metadata,
        )
        started += 1
    return started
