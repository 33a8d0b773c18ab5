"""Statistics routes: k-anonymous ones for an organisation's contact person (R5) and full ones
for platform staff under /internal (R4). No route returns a single answer or any free text.

Another organisation's statistics answer 403 (issue 6), not the platform's usual 404: the
organisation id is the caller's own question, and the answer does not depend on whether the
other organisation exists.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from byggrygg_shared.problems import problem_responses
from reporting.domain.statistics import Dimension, Granularity, Kind, declared_dimensions
from reporting.entrypoints.dependencies import CurrentActor, Deps, StaffActor
from reporting.entrypoints.statistics_schemas import (
    DimensionRead,
    DimensionsRead,
    StatisticDimensionsRead,
    StatisticsRead,
)
from reporting.service_layer import statistics

router = APIRouter(tags=["statistics"])

_DESCRIPTIONS = {
    Dimension.PERIOD: "The period of the answer (or of the enrolment's start), month or quarter "
    "as the deployment sets it; every period since the course was assigned is a row.",
    Dimension.OPTION: "The answer: an option id, a set of option ids joined by '+' "
    "(multiple choice) or a scale value.",
    Dimension.STATUS: "Whether the enrolment was completed: 'completed' or 'not_completed'.",
}

DimensionQuery = Annotated[
    list[str],
    Query(
        alias="dimension",
        max_length=4,
        description="Dimensions to break the counts down by (repeat the parameter); none: the "
        "total only. See GET /statistics/dimensions.",
    ),
]
KQuery = Annotated[
    int | None,
    Query(
        ge=1,
        le=10_000,
        description="Minimum number of people behind every published figure; at least the "
        "deployment's minimum (the default).",
    ),
]


@router.get(
    "/statistics/dimensions",
    summary="The dimensions statistics queries may use, and the deployment's minimum k",
    responses=problem_responses(401),
)
async def list_dimensions(deps: Deps, actor: CurrentActor) -> DimensionsRead:
    return DimensionsRead(
        k_minimum=deps.k_minimum,
        period_granularity=Granularity(deps.statistics_period),
        statistics=[
            StatisticDimensionsRead(
                statistic=kind,
                dimensions=[
                    DimensionRead(name=dimension.value, description=_DESCRIPTIONS[dimension])
                    for dimension in declared_dimensions(kind)
                ],
            )
            for kind in Kind
        ],
    )


@router.get(
    "/organisations/{organisation_id}/statistics/courses/{course_id}/questions/{question_id}",
    summary="k-anonymous answer distribution of one question (contact person, R5)",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def answer_statistics(
    organisation_id: UUID,
    course_id: UUID,
    question_id: UUID,
    deps: Deps,
    actor: CurrentActor,
    dimension: DimensionQuery = [],  # noqa: B006 - FastAPI copies query defaults
    k: KQuery = None,
) -> StatisticsRead:
    result = await statistics.answer_statistics(
        deps,
        actor,
        organisation_id=organisation_id,
        course_id=course_id,
        question_id=question_id,
        dimensions=dimension,
        k=k,
    )
    return StatisticsRead.of(result)


@router.get(
    "/organisations/{organisation_id}/statistics/courses/{course_id}/completion",
    summary="k-anonymous completion counts and rates of one course (contact person, R5)",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def completion_statistics(
    organisation_id: UUID,
    course_id: UUID,
    deps: Deps,
    actor: CurrentActor,
    dimension: DimensionQuery = [],  # noqa: B006 - FastAPI copies query defaults
    k: KQuery = None,
) -> StatisticsRead:
    result = await statistics.completion_statistics(
        deps,
        actor,
        organisation_id=organisation_id,
        course_id=course_id,
        dimensions=dimension,
        k=k,
    )
    return StatisticsRead.of(result)


@router.get(
    "/internal/statistics/organisations/{organisation_id}/courses/{course_id}"
    "/questions/{question_id}",
    summary="Full answer counts of one question, erased people's answers included (staff, R4)",
    tags=["internal"],
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def internal_answer_statistics(
    organisation_id: UUID,
    course_id: UUID,
    question_id: UUID,
    deps: Deps,
    actor: StaffActor,
    dimension: DimensionQuery = [],  # noqa: B006 - FastAPI copies query defaults
) -> StatisticsRead:
    result = await statistics.internal_answer_statistics(
        deps,
        actor,
        organisation_id=organisation_id,
        course_id=course_id,
        question_id=question_id,
        dimensions=dimension,
    )
    return StatisticsRead.of(result)


@router.get(
    "/internal/statistics/organisations/{organisation_id}/courses/{course_id}/completion",
    summary="Full completion counts and rates of one course (staff, R4)",
    tags=["internal"],
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def internal_completion_statistics(
    organisation_id: UUID,
    course_id: UUID,
    deps: Deps,
    actor: StaffActor,
    dimension: DimensionQuery = [],  # noqa: B006 - FastAPI copies query defaults
) -> StatisticsRead:
    result = await statistics.internal_completion_statistics(
        deps, actor, organisation_id=organisation_id, course_id=course_id, dimensions=dimension
    )
    return StatisticsRead.of(result)
