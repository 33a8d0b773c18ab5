"""Answer-returning routes for platform staff (R4). Every route here is tagged "answers":
a test reads the OpenAPI document and proves 403 for org_admin and contact_person on each."""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from byggrygg_shared.problems import problem_responses
from courses.entrypoints.dependencies import CurrentActor, Deps, require_answers_reader
from courses.schemas import AnswerRead
from courses.service_layer import answers

ANSWERS_TAG: Final = "answers"

router = APIRouter(tags=[ANSWERS_TAG], dependencies=[Depends(require_answers_reader)])

R4 = "Platform staff only (R4): every other role gets 403, whatever the parameters."


@router.get(
    "/enrolments/{enrolment_id}/answers",
    summary="The answers of one enrolment (platform staff only)",
    description=R4,
    responses=problem_responses(401, 403, 404, 422),
)
async def enrolment_answers(
    enrolment_id: UUID, deps: Deps, actor: CurrentActor
) -> list[AnswerRead]:
    views = await answers.get_enrolment_answers(deps=deps, actor=actor, enrolment_id=enrolment_id)
    return [AnswerRead.of(view) for view in views]


@router.get(
    "/courses/{course_id}/answers",
    summary="The answers given in a course, filtered (platform staff only)",
    description=R4,
    responses=problem_responses(401, 403, 404, 422),
)
async def course_answers(
    course_id: UUID,
    deps: Deps,
    actor: CurrentActor,
    organisation_id: UUID | None = None,
    # Upper bounds keep the values within PostgreSQL's integer and bigint (else a 500).
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    question_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[AnswerRead]:
    views = await answers.get_course_answers(
        deps=deps,
        actor=actor,
        course_id=course_id,
        organisation_id=organisation_id,
        course_version=version,
        question_id=question_id,
        limit=limit,
        offset=offset,
    )
    return [AnswerRead.of(view) for view in views]
