"""/analytics: the intake that honours cookie choices (R11), and its counts for staff."""

from __future__ import annotations

from fastapi import APIRouter, status

from byggrygg_shared.problems import problem_responses
from consent.entrypoints.dependencies import Deps, StaffActor
from consent.entrypoints.routers.cookies import VisitorCookie, valid_cookie
from consent.schemas.cookies import (
    AnalyticsEventCreate,
    DropCountRead,
    EventCountRead,
    IntakeRead,
)
from consent.service_layer import cookies

router = APIRouter(prefix="/analytics", tags=["analytics"])


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Report an analytics event (public): stored only with the visitor's consent",
    description="Events of visitors whose current choice does not include analytics are "
    "dropped: counted, never stored. A query string in page_path is cut off.",
    responses=problem_responses(422),
)
async def intake(
    body: AnalyticsEventCreate, deps: Deps, visitor_cookie: VisitorCookie = None
) -> IntakeRead:
    outcome = await cookies.handle_analytics_event(
        deps=deps,
        visitor_id=body.visitor_id or valid_cookie(visitor_cookie),
        event_name=body.event_name,
        page_path=body.page_path,
    )
    return IntakeRead(stored=outcome.stored)


@router.get(
    "/drops",
    summary="Analytics events dropped for want of consent, per day and reason (staff)",
    responses=problem_responses(401, 403),
)
async def drops(deps: Deps, actor: StaffActor) -> list[DropCountRead]:
    counts = await cookies.list_drop_counts(deps=deps, actor=actor)
    return [DropCountRead.model_validate(count) for count in counts]


@router.get(
    "/summary",
    summary="Stored analytics events per day, kind and page (staff; no visitor ids)",
    responses=problem_responses(401, 403),
)
async def summary(deps: Deps, actor: StaffActor) -> list[EventCountRead]:
    counts = await cookies.list_event_counts(deps=deps, actor=actor)
    return [EventCountRead.model_validate(count) for count in counts]
