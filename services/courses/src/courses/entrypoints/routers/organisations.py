"""/organisations/{id}/...: which courses an organisation's learners get, enrolling a learner
by hand, and the learners' progress (administrators of the organisation and staff; never
answers, R4)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from byggrygg_shared.problems import problem_responses
from courses.entrypoints.dependencies import CurrentActor, Deps
from courses.schemas import (
    AssignmentCreate,
    AssignmentCreated,
    AssignmentRead,
    EnrolmentCreate,
    EnrolmentRead,
)
from courses.service_layer import catalogue, learning

router = APIRouter(prefix="/organisations/{organisation_id}", tags=["organisations"])


@router.post(
    "/courses",
    status_code=status.HTTP_201_CREATED,
    summary="Assign a published course to the organisation; its licensed learners are enrolled",
    description="Platform staff, or an administrator of the organisation. Learners licensed "
    "later are enrolled when their licence is granted.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def assign_course(
    organisation_id: UUID, body: AssignmentCreate, deps: Deps, actor: CurrentActor
) -> AssignmentCreated:
    enrolled = await catalogue.handle_assign(
        deps=deps, actor=actor, course_id=body.course_id, organisation_id=organisation_id
    )
    return AssignmentCreated(
        course_id=body.course_id, organisation_id=organisation_id, enrolled=enrolled
    )


@router.get(
    "/courses",
    summary="The courses assigned to the organisation",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_assigned_courses(
    organisation_id: UUID, deps: Deps, actor: CurrentActor
) -> list[AssignmentRead]:
    views = await catalogue.get_assignments(deps=deps, actor=actor, organisation_id=organisation_id)
    return [AssignmentRead.model_validate(view) for view in views]


@router.post(
    "/enrolments",
    status_code=status.HTTP_201_CREATED,
    summary="Enrol a licensed learner of the organisation in a published course",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def enrol_learner(
    organisation_id: UUID, body: EnrolmentCreate, deps: Deps, actor: CurrentActor
) -> EnrolmentRead:
    enrolment_id = await learning.handle_enrol_by_admin(
        deps=deps,
        actor=actor,
        organisation_id=organisation_id,
        user_id=body.user_id,
        course_id=body.course_id,
    )
    return EnrolmentRead.of(await learning.get_enrolment(deps=deps, enrolment_id=enrolment_id))


@router.get(
    "/enrolments",
    summary="Enrolments and progress of the organisation's learners (no answers: R4)",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_enrolments(
    organisation_id: UUID, deps: Deps, actor: CurrentActor
) -> list[EnrolmentRead]:
    views = await learning.get_organisation_enrolments(
        deps=deps, actor=actor, organisation_id=organisation_id
    )
    return [EnrolmentRead.of(view) for view in views]
