"""/me/enrolments: the caller takes their courses (R3) and reads their own answers (R14, R17)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from byggrygg_shared.problems import problem_responses
from courses.domain.content import AnswerValue
from courses.entrypoints.dependencies import CurrentActor, Deps
from courses.schemas import (
    AnswerCreate,
    AnswerRead,
    CourseContentRead,
    EnrolmentRead,
    EnrolmentWithContentRead,
)
from courses.service_layer import learning

router = APIRouter(prefix="/me/enrolments", tags=["me"])


@router.get(
    "",
    summary="Your enrolments, with progress",
    responses=problem_responses(401, 403),
)
async def my_enrolments(deps: Deps, actor: CurrentActor) -> list[EnrolmentRead]:
    views = await learning.get_my_enrolments(deps=deps, actor=actor)
    return [EnrolmentRead.of(view) for view in views]


@router.get(
    "/{enrolment_id}",
    summary="One of your enrolments with the content of the course version you take",
    responses=problem_responses(401, 403, 404, 422),
)
async def my_enrolment(
    enrolment_id: UUID, deps: Deps, actor: CurrentActor
) -> EnrolmentWithContentRead:
    found = await learning.get_my_enrolment(deps=deps, actor=actor, enrolment_id=enrolment_id)
    return EnrolmentWithContentRead(
        **EnrolmentRead.of(found.enrolment).model_dump(),
        content=CourseContentRead.model_validate(found.version.content),
    )


@router.get(
    "/{enrolment_id}/answers",
    summary="Your own answers in one enrolment",
    responses=problem_responses(401, 403, 404, 422),
)
async def my_answers(enrolment_id: UUID, deps: Deps, actor: CurrentActor) -> list[AnswerRead]:
    views = await learning.get_my_answers(deps=deps, actor=actor, enrolment_id=enrolment_id)
    return [AnswerRead.of(view) for view in views]


@router.put(
    "/{enrolment_id}/answers/{question_id}",
    summary="Answer a question (again: the last answer counts until you complete the course)",
    description="Send `selected_option_ids` for a choice question (one id for single choice), "
    "`scale_value` for a scale question, `text` for a free-text question.",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def submit_answer(
    enrolment_id: UUID, question_id: UUID, body: AnswerCreate, deps: Deps, actor: CurrentActor
) -> AnswerRead:
    view = await learning.handle_submit_answer(
        deps=deps,
        actor=actor,
        enrolment_id=enrolment_id,
        question_id=question_id,
        answer=AnswerValue(
            selected_option_ids=None
            if body.selected_option_ids is None
            else tuple(body.selected_option_ids),
            scale_value=body.scale_value,
            free_text=body.text,
        ),
    )
    return AnswerRead.of(view)


@router.post(
    "/{enrolment_id}/complete",
    status_code=status.HTTP_200_OK,
    summary="Complete the course (every required question answered); answers become final",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def complete(enrolment_id: UUID, deps: Deps, actor: CurrentActor) -> EnrolmentRead:
    await learning.handle_complete(deps=deps, actor=actor, enrolment_id=enrolment_id)
    return EnrolmentRead.of(
        await learning.get_enrolment_for_learner(deps=deps, actor=actor, enrolment_id=enrolment_id)
    )
